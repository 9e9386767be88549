"""/api/v1 review, backlog, reports (as jobs) and the audit trail.

Declared on resources.bp; each operation asks services/access.py, then calls the service the web page calls
(views/review.py, views/backlog.py, views/reports.py, views/audit.py), with the token's owner as the actor.
The application commits once when an operation returns (AssessmentApp); one that raises commits nothing.
A value the service refuses for a field of the request is a 422 problem whose pointer names that field.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, g, url_for
from marshmallow import Schema, fields, validate

from ..adapters import report_jobs
from ..app import after_commit
from ..domain.trail_diff import changed_fields
from ..downloads import send_stored
from ..extensions import db, report_store
from ..models import MAX_ID, PDCA_STATUSES, REPORT_KINDS, SEVERITIES, VERDICTS, AuditEntry
from ..services import access, audit, backlog, review, tokens
from ..services import reports as report_service
from ..services.errors import InvalidInput, NotFound
from .resources import AssessmentSchema, PageArgs, UtcDateTime, bp, invalid_field, next_page, page, position_of

STRING = {"type": "string"}
BINARY = {"type": "string", "format": "binary"}
REPORT_MEDIA = ("application/pdf", "application/zip")
DOWNLOADED = "The PDF (application/pdf) or the bundle (application/zip), as an attachment."


def _actor() -> str:
    """The user name recorded on what the token's owner changes."""
    return g.api_user.username


# --- review: submit, return, approve, share, findings --------------------------------------------------


class ReturnRequest(Schema):
    comment = fields.String(required=True, metadata={"description": "What must change; required, as on the web."})


class ShareRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))


class SharedAuditorSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String(attribute="display_name")
    role = fields.String()


class FindingRequest(Schema):
    requirement_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    verdict = fields.String(required=True, validate=validate.OneOf(VERDICTS))
    severity = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SEVERITIES))
    comment = fields.String(load_default=None, allow_none=True)


class FindingSchema(Schema):
    requirement_id = fields.String()
    auditor = fields.String()
    verdict = fields.String()
    severity = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    recorded_at = UtcDateTime()


@bp.route("/assessments/<int:assessment_id>/submit", methods=["POST"])
@bp.response(200, AssessmentSchema)
@bp.alt_response(403, description="Not one of the scope's team, or a read-only token.")
@bp.alt_response(404, description="No such assessment, or not yours to see.")
@bp.alt_response(409, description="Not a draft or a returned assessment, or answers still carried over.")
def submit_assessment(assessment_id: int):
    """Send the assessment for review; its answers and evidence freeze until a program lead returns it.

    Unlike the web page, no confirmation is asked for unanswered questions: the call is deliberate."""
    assessment = access.assessment_for(g.api_user, assessment_id, "submit")
    tokens.may_write(g.api_token)
    review.submit(assessment, _actor())
    return assessment


@bp.route("/assessments/<int:assessment_id>/return", methods=["POST"])
@bp.arguments(ReturnRequest)
@bp.response(200, AssessmentSchema)
@bp.alt_response(403, description="Not a program lead, or a read-only token.")
@bp.alt_response(404, description="No such assessment, or not yours to see.")
@bp.alt_response(409, description="The assessment is not submitted.")
def return_assessment(args, assessment_id: int):
    """Return a submitted assessment to its team with the reviewer's comment (checked first, as the web does)."""
    assessment = access.assessment_for(g.api_user, assessment_id, "review")
    tokens.may_write(g.api_token)
    try:
        comment = review.return_comment(args["comment"])
    except InvalidInput as error:
        invalid_field("comment", error.message)
    review.return_for_changes(assessment, _actor(), comment)
    return assessment


@bp.route("/assessments/<int:assessment_id>/approve", methods=["POST"])
@bp.response(200, AssessmentSchema)
@bp.alt_response(403, description="Not a program lead, one who submitted it (separation of duties), or read-only.")
@bp.alt_response(404, description="No such assessment, or not yours to see.")
@bp.alt_response(409, description="The assessment is not submitted.")
def approve_assessment(assessment_id: int):
    """Approve a submitted assessment: it is locked for good, and its backlog answers to it."""
    assessment = access.assessment_for(g.api_user, assessment_id, "review")
    tokens.may_write(g.api_token)
    review.approve(assessment, _actor())
    return assessment


@bp.route("/assessments/<int:assessment_id>/shares", methods=["POST"])
@bp.arguments(ShareRequest)
@bp.response(200, SharedAuditorSchema)
@bp.alt_response(403, description="Not a program lead, or a read-only token.")
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def share_assessment(args, assessment_id: int):
    """Let an auditor read, download and review the assessment (sharing twice is harmless)."""
    assessment = access.assessment_for(g.api_user, assessment_id, "share")
    tokens.may_write(g.api_token)
    try:
        return review.share(assessment, args["username"], _actor())
    except (NotFound, InvalidInput) as error:  # the body names nobody to share with: that field is wrong
        invalid_field("username", error.message)


@bp.route("/assessments/<int:assessment_id>/shares/<int:user_id>", methods=["DELETE"])
@bp.response(204)
@bp.alt_response(403, description="Not a program lead, or a read-only token.")
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def unshare_assessment(assessment_id: int, user_id: int):
    """Withdraw an auditor's access (also when it was not shared with them: nothing then changes)."""
    assessment = access.assessment_for(g.api_user, assessment_id, "share")
    tokens.may_write(g.api_token)
    review.unshare(assessment, user_id)


@bp.route("/assessments/<int:assessment_id>/findings")
@bp.arguments(PageArgs, location="query")
@bp.response(200, FindingSchema(many=True))
@bp.alt_response(400, description="A cursor the API did not give.")
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def assessment_findings(args, assessment_id: int):
    """Every auditor's verdict on the assessment, by requirement then auditor."""
    assessment = access.assessment_for(g.api_user, assessment_id)
    return page(review.findings_of(assessment.id), args)


@bp.route("/assessments/<int:assessment_id>/findings", methods=["POST"])
@bp.arguments(FindingRequest)
@bp.response(200, FindingSchema)
@bp.alt_response(403, description="Not an auditor, or a read-only token.")
@bp.alt_response(404, description="No such assessment, or not yours to see.")
@bp.alt_response(409, description="The assessment is not submitted or approved.")
def record_finding(args, assessment_id: int):
    """Record (or replace) this auditor's verdict on one requirement: verified, or a finding with a severity."""
    assessment = access.assessment_for(g.api_user, assessment_id, "findings")
    tokens.may_write(g.api_token)
    try:
        return review.record_finding(
            assessment, args["requirement_id"], _actor(), args["verdict"], args["severity"], args["comment"]
        )
    except NotFound as error:  # the framework has no such requirement: the body's field is wrong
        invalid_field("requirement_id", error.message)
    except InvalidInput as error:
        invalid_field(error.field or "verdict", error.message)


# --- backlog: list, update one item ---------------------------------------------------------------------


class BacklogArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(PDCA_STATUSES))
    owner = fields.String(validate=validate.Length(max=200))
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "In the title or requirement id."})
    sort = fields.String(load_default="priority", validate=validate.OneOf(tuple(backlog.SORTS)))


class BacklogItemSchema(Schema):
    id = fields.Integer()
    requirement_id = fields.String()
    title = fields.String()
    recommendation = fields.String(allow_none=True)
    priority = fields.Integer()
    priority_reasons = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    due_date = fields.Date(allow_none=True)
    status = fields.String()
    hypothesis = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    achieved_on = fields.Date(allow_none=True)
    assessment_id = fields.Integer(metadata={"description": "The assessment whose gap made the item."})
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class BacklogChange(Schema):
    """The fields people manage on an item; a field left out keeps its value, null clears it."""

    status = fields.String(validate=validate.OneOf(PDCA_STATUSES))
    owner = fields.String(allow_none=True, validate=validate.Length(max=200))
    due_date = fields.Date(allow_none=True)
    hypothesis = fields.String(allow_none=True, validate=validate.Length(max=10_000))
    outcome = fields.String(allow_none=True, validate=validate.Length(max=10_000))


@bp.route("/assessments/<int:assessment_id>/backlog")
@bp.arguments(BacklogArgs, location="query")
@bp.response(200, BacklogItemSchema(many=True))
@bp.alt_response(400, description="A cursor the API did not give.")
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def assessment_backlog(args, assessment_id: int):
    """The backlog of the assessment's scope and framework, filtered and sorted as the backlog page does."""
    assessment = access.assessment_for(g.api_user, assessment_id)
    items = backlog.filtered(
        backlog.items_for(assessment), args.get("status"), args.get("owner"), args.get("q"), args["sort"]
    )
    return page(items, args)


@bp.route("/assessments/<int:assessment_id>/backlog/<int:item_id>", methods=["PATCH"])
@bp.arguments(BacklogChange)
@bp.response(200, BacklogItemSchema)
@bp.alt_response(403, description="Not the scope's team nor a program lead, or a read-only token.")
@bp.alt_response(404, description="No such assessment or item in its backlog, or not yours to see.")
def update_backlog_item(args, assessment_id: int, item_id: int):
    """Change an item's owner (one of the scope's team, or nobody), due date, PDCA status, hypothesis or outcome."""
    assessment = access.assessment_for(g.api_user, assessment_id, "backlog")
    tokens.may_write(g.api_token)
    item = backlog.get_item(assessment, item_id)
    kept = {name: getattr(item, name) for name in ("owner", "due_date", "status", "hypothesis", "outcome")}
    try:
        backlog.update_item(item, **{**kept, **args})
    except backlog.FieldRefused as refused:
        invalid_field(refused.field, refused.message)
    return item


# --- reports: request (a job), poll, download -----------------------------------------------------------


class ReportRequest(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(REPORT_KINDS))


class ReportJobSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "pdf or bundle"})
    assessment_id = fields.Integer()
    status = fields.String(metadata={"description": "queued, running, done or failed"})
    progress = fields.Integer(metadata={"description": "Per cent."})
    message = fields.String(allow_none=True)
    report_id = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True, metadata={"description": "Bytes of the file, once done."})
    created_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)
    download = fields.Function(
        lambda job: url_for("api_v1.report_download", job_id=job.id) if job.status == "done" else None,
        allow_none=True,
        metadata={"description": "The file's address once the job is done, else null."},
    )


def _report_job(job_id: int):
    """A report job (an import's or a snapshot refresh's id names none) of an assessment the caller may read."""
    job = report_service.get_job(job_id)
    return job, access.assessment_for(g.api_user, job.assessment_id)


@bp.route("/assessments/<int:assessment_id>/reports", methods=["POST"])
@bp.arguments(ReportRequest)
@bp.response(202, ReportJobSchema, headers={"Location": {"description": "The job's address", "schema": STRING}})
@bp.alt_response(403, description="A read-only token.")
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def request_report(args, assessment_id: int):
    """Queue the PDF report or the evidence bundle, or find the job of the same unchanged state (queued,
    running, or done with its file kept), as the web's button does; poll the job at `Location`."""
    assessment = access.assessment_for(g.api_user, assessment_id)
    tokens.may_write(g.api_token)
    store = report_store(current_app)
    job = report_service.request_report(assessment, args["kind"], _actor(), store)
    app = current_app._get_current_object()
    after_commit(lambda: report_jobs.start(app, job, report_store(app)))  # a worker must find the job committed
    return job, {"Location": url_for("api_v1.report_job", job_id=job.id)}


@bp.route("/reports/<int:job_id>")
@bp.response(200, ReportJobSchema)
@bp.alt_response(404, description="No such report job, or not yours to see.")
def report_job(job_id: int):
    """A report job's state and progress, with the file's address once it is done."""
    return _report_job(job_id)[0]


@bp.route("/reports/<int:job_id>/download")
@bp.response(200, description=DOWNLOADED)
@bp.doc(responses={"200": {"description": DOWNLOADED, "content": {kind: {"schema": BINARY} for kind in REPORT_MEDIA}}})
@bp.alt_response(206, description="The part of the file a Range header asked for.")
@bp.alt_response(304, description="Not modified: If-None-Match names the file's ETag.")
@bp.alt_response(404, description="No such report job, not yours to see, or not ready.")
@bp.alt_response(416, description="A Range header outside the file.")
def report_download(job_id: int):
    """The rendered file, with the web download's headers; the trail records who took it."""
    job, assessment = _report_job(job_id)
    store = report_store(current_app)
    stored = report_service.job_file(job, store)
    report_service.record_download(job, assessment)
    name = report_service.download_name(job, assessment)
    mimetype = "application/zip" if job.kind == "bundle" else "application/pdf"
    etag = True if isinstance(stored, Path) else store.key_of(job)  # a job's file never changes once rendered
    return send_stored(stored, mimetype=mimetype, as_attachment=True, download_name=name, etag=etag)


# --- the audit trail ------------------------------------------------------------------------------------


class TrailArgs(PageArgs):
    action = fields.String(validate=validate.Length(max=64), metadata={"description": "An action or its start."})
    actor = fields.String(validate=validate.Length(max=200))
    object_type = fields.String(validate=validate.Length(max=32))
    scope = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    assessment = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    since = fields.Date(metadata={"description": "From this UTC day on."})
    until = fields.Date(metadata={"description": "Up to this UTC day, included."})


class TrailEntrySchema(Schema):
    """An entry as the trail's CSV export has it: `before` and `after` are the canonical JSON texts its hash covers
    (chained to `prev_hash`), `changes` the fields that changed, in words."""

    seq = fields.Integer()
    at = fields.String(metadata={"description": "UTC, ISO 8601 with microseconds"})
    actor = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    scope_id = fields.Integer(allow_none=True)
    assessment_id = fields.Integer(allow_none=True)
    changes = fields.Function(
        lambda entry: [change.as_text() for change in changed_fields(entry.before, entry.after, limit=10_000)]
    )
    before = fields.String(allow_none=True)
    after = fields.String(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String()


@bp.route("/trail")
@bp.arguments(TrailArgs, location="query")
@bp.response(200, TrailEntrySchema(many=True))
@bp.alt_response(400, description="A cursor the API did not give.")
@bp.alt_response(403, description="Not a program lead or an admin.")
def trail(args):
    """The audit trail in entry order, filtered as the Audit trail page filters it; program leads and admins only.

    The cursor names the last entry of the page, so entries appended while a client pages are not skipped."""
    access.require(g.api_user, "all-scopes")  # leads and admins: they see every entry
    where = audit.TrailFilter(
        actor=args.get("actor", ""),
        action=args.get("action", ""),
        object_type=args.get("object_type", ""),
        assessment_id=args.get("assessment"),
        scope_id=args.get("scope"),
        since=args.get("since"),
        until=args.get("until"),
    )
    after, limit = position_of(args["cursor"]), args["limit"]
    stmt = audit.query(
        where, access.visible_scope_ids(g.api_user), access.visible_assessment_ids(g.api_user), oldest_first=True
    )
    entries = list(db.session.scalars(stmt.where(AuditEntry.seq > after).limit(limit + 1)))
    headers = next_page(entries[limit - 1].seq, limit) if len(entries) > limit else {}
    return entries[:limit], headers
