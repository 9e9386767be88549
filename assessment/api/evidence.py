"""/api/v1 evidence: an assessment's evidence listed, a file uploaded or a link added to a requirement, a file
downloaded.

Each operation asks services/access.py, then calls what the web's evidence form and download call
(services/evidence.py: the same size limit, the same type sniffing from the content, the same file-name
cleaning, the same trail entries), on the same evidence store with the same response headers. A file stored
by a request that then fails is removed again, as the web view does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g
from flask_smorest.fields import Upload
from marshmallow import Schema, fields
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from ..adapters.evidence_store import TooLarge
from ..adapters.filetypes import ACCEPTED
from ..app import on_failure
from ..downloads import evidence_store, send_evidence
from ..extensions import db
from ..models import Evidence as EvidenceRow
from ..models import EvidenceLink
from ..services import access, tokens
from ..services import assessments as assessment_service
from ..services import evidence as evidence_service
from ..services.errors import InvalidInput
from . import problems
from .resources import BAD_CURSOR, PageArgs, UtcDateTime, bp, invalid_field, page


class EvidenceSchema(Schema):
    id = fields.Integer()
    requirement_id = fields.String()
    kind = fields.String(metadata={"enum": ["file", "link"]})
    title = fields.String()
    file_name = fields.String(allow_none=True)
    sha256 = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True)
    media_type = fields.String(allow_none=True)
    url = fields.String(allow_none=True)
    effective = fields.Date(allow_none=True)
    expires = fields.Date(allow_none=True)
    added_by = fields.String()
    added_at = UtcDateTime()


def _item(row, requirement_id: str) -> dict:
    """One evidence item as the API shows it (`row`: an Evidence row, or a row of EVIDENCE_COLUMNS)."""
    return {
        "id": row.id,
        "requirement_id": requirement_id,
        "kind": "link" if row.url is not None else "file",
        "title": row.title,
        "file_name": row.original_name,
        "sha256": row.sha256,
        "size": row.size,
        "media_type": row.media_type,
        "url": row.url,
        "effective": row.effective,
        "expires": row.expires,
        "added_by": row.created_by,
        "added_at": row.created_at,
    }


@bp.errorhandler(RequestEntityTooLarge)
def request_too_large(error: RequestEntityTooLarge):
    """A body over the server's limit (MAX_CONTENT_LENGTH) is a 413 problem, not the web's error page."""
    detail = error.description
    if detail == RequestEntityTooLarge.description:  # werkzeug's, for a body over MAX_CONTENT_LENGTH
        limit = current_app.config["EVIDENCE_MAX_BYTES"] / 1024 / 1024
        detail = f"The request is larger than the limit ({limit:.0f} MB per evidence file); nothing was stored."
    return problems.problem(413, "Content Too Large", detail)


@bp.route("/assessments/<int:assessment_id>/evidence")
@bp.arguments(PageArgs, location="query")
@bp.response(200, EvidenceSchema(many=True))
@bp.alt_response(400, description=BAD_CURSOR)
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def assessment_evidence(args, assessment_id: int):
    """The evidence supporting the assessment's requirements, in the order it was attached; an item that
    supports several requirements is listed once for each."""
    assessment = access.assessment_for(g.api_user, assessment_id)
    rows = db.session.execute(
        select(EvidenceLink.requirement_id.label("linked_to"), *assessment_service.EVIDENCE_COLUMNS)
        .join(EvidenceRow, EvidenceLink.evidence_id == EvidenceRow.id)
        .where(EvidenceLink.assessment_id == assessment.id)
        .order_by(EvidenceLink.id)
    )
    return page([_item(row, row.linked_to) for row in rows], args)


class EvidenceFileSchema(Schema):
    file = Upload(required=True, metadata={"description": f"The evidence file. Accepted: {ACCEPTED}."})


class EvidenceFieldsSchema(Schema):
    title = fields.String(load_default=None, metadata={"description": "Default: the file's name."})
    effective = fields.Date(load_default=None, allow_none=True)
    expires = fields.Date(load_default=None, allow_none=True)


class EvidenceUploadSchema(EvidenceFileSchema, EvidenceFieldsSchema):
    """The whole multipart body, as the OpenAPI document shows it (the file and the form fields beside it)."""


FORM_FIELDS = ("title", "effective", "expires")


@contextmanager
def _upload_checked() -> Iterator[None]:
    """What the evidence service refuses in an upload, as problems: too large is a 413, a field it names (title,
    dates) a 422 pointing at it in the form, anything else about the file (its type, its name) at the file."""
    try:
        yield
    except TooLarge as error:
        raise RequestEntityTooLarge(description=error.message) from None
    except InvalidInput as error:
        if error.field in FORM_FIELDS:
            invalid_field(error.field, error.message, "form")
        invalid_field("file", error.message, "files")


@bp.route("/assessments/<int:assessment_id>/requirements/<requirement_id>/evidence", methods=["POST"])
@bp.arguments(EvidenceUploadSchema, location="files", content_type="multipart/form-data")
@bp.response(201, EvidenceSchema)
@bp.alt_response(403, description="The token's owner may read the assessment but not attach evidence to it.")
@bp.alt_response(404, description="No such assessment or requirement, or not yours to see.")
@bp.alt_response(409, description="The assessment is submitted or approved: its evidence cannot change.")
@bp.alt_response(413, description="The file is larger than the evidence limit; nothing was stored.")
def upload_evidence(files, assessment_id: int, requirement_id: str):
    """Upload a file as evidence of one requirement, as the requirement's evidence form does."""
    assessment = access.assessment_for(g.api_user, assessment_id, "answer")
    tokens.may_write(g.api_token)
    form = bp.ARGUMENTS_PARSER.parse(EvidenceFieldsSchema(), location="form")  # 422 naming /form/<field>
    upload = files["file"]
    store = evidence_store()
    with _upload_checked():
        item, stored = evidence_service.add_file(
            store,
            assessment,
            requirement_id,
            upload.stream,
            upload.filename,
            form["title"],
            form["effective"],
            form["expires"],
            g.api_user.username,
        )
    on_failure(lambda: store.discard(stored))  # no commit, no file
    return _item(item, requirement_id), 201


class EvidenceLinkSchema(Schema):
    url = fields.String(required=True, metadata={"description": "An http:// or https:// URL (at most 2,000 chars)."})
    title = fields.String(load_default=None, metadata={"description": "Default: the URL."})
    effective = fields.Date(load_default=None, allow_none=True)
    expires = fields.Date(load_default=None, allow_none=True)


@bp.route("/assessments/<int:assessment_id>/requirements/<requirement_id>/links", methods=["POST"])
@bp.arguments(EvidenceLinkSchema)
@bp.response(201, EvidenceSchema)
@bp.alt_response(403, description="The token's owner may read the assessment but not attach evidence to it.")
@bp.alt_response(404, description="No such assessment or requirement, or not yours to see.")
@bp.alt_response(409, description="The assessment is submitted or approved: its evidence cannot change.")
def add_evidence_link(args, assessment_id: int, requirement_id: str):
    """Add a link as evidence of one requirement, as the requirement's evidence form does: only http(s) URLs,
    printed where the evidence is shown and never fetched."""
    assessment = access.assessment_for(g.api_user, assessment_id, "answer")
    tokens.may_write(g.api_token)
    try:
        item = evidence_service.add_link(
            assessment,
            requirement_id,
            args["url"],
            args["title"],
            args["effective"],
            args["expires"],
            g.api_user.username,
        )
    except InvalidInput as error:
        invalid_field(error.field or "url", error.message)
    return _item(item, requirement_id), 201


@bp.route("/evidence/<int:evidence_id>/download")
@bp.response(200, description="The file's bytes, as an attachment under its original name.")
@bp.alt_response(404, description="No such evidence file (or a link), or not yours to see.")
@bp.alt_response(410, description="The stored file is missing from the evidence store.")
def download_evidence(evidence_id: int):
    """An evidence file, as the web's download sends it (attachment, its sniffed type, no sniffing by the
    browser, a sandbox policy), recorded on the trail as downloaded by the token's owner."""
    item = access.evidence_for(g.api_user, evidence_id)
    return send_evidence(item, "This evidence is a link, not a file: its URL is listed with the evidence.")
