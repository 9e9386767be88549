"""The audit trail, filterable, newest or oldest first; each person sees the entries about what they
may read. Its CSV export is itself an entry; admins may verify the chain from the page."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, render_template, request
from sqlalchemy import func, select

from ..domain.trail import FIELDS
from ..domain.trail_diff import FieldChange, changed_fields
from ..extensions import db
from ..models import Assessment, AuditEntry, FrameworkVersion, Scope
from ..services import access, audit
from ..services.errors import InvalidInput
from .common import parse_date, parse_id, parse_int, user

bp = Blueprint("audit", __name__)

PAGE = 100
ORDERS = {"newest": "Newest first", "oldest": "Oldest first"}
# The fields each entry's hash covers, the changed fields in words before the raw before/after, and the hash.
CSV_COLUMNS = (*FIELDS[:-2], "changes", *FIELDS[-2:], "hash")


@dataclass(frozen=True)
class EntryView:
    """One entry as the page lists it: the row and its changed fields."""

    entry: AuditEntry
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class VerifyResult:
    """What "Verify the chain" found, in words."""

    ok: bool
    headline: str
    details: tuple[str, ...]


def _where() -> tuple[audit.TrailFilter, str]:
    args = request.args
    order = args.get("order") if args.get("order") in ORDERS else "newest"
    where = audit.TrailFilter(
        actor=(args.get("actor") or "").strip()[:200],
        action=(args.get("action") or "").strip()[:64],
        object_type=(args.get("object_type") or "").strip()[:32],
        assessment_id=parse_id(args.get("assessment"), "Assessment"),
        scope_id=parse_id(args.get("scope"), "Scope"),
        since=parse_date(args.get("since"), "From"),
        until=parse_date(args.get("until"), "To"),
    )
    return where, order


def _filter_args() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k != "page" and v}


def _places(me) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The scopes and assessments the filters offer: those the reader may see, by name."""
    scope_ids, assessment_ids = access.visible_scope_ids(me), access.visible_assessment_ids(me)
    scopes_stmt = select(Scope.id, Scope.name).order_by(Scope.name)
    assessments_stmt = (  # plain columns, one query, however many assessments
        select(Assessment.id, Scope.name, FrameworkVersion.framework_id, Assessment.as_of)
        .join(Scope, Scope.id == Assessment.scope_id)
        .join(FrameworkVersion, FrameworkVersion.id == Assessment.framework_version_id)
        .order_by(Scope.name, Assessment.id)
    )
    if scope_ids is not None:
        scopes_stmt = scopes_stmt.where(Scope.id.in_(scope_ids))
        assessments_stmt = assessments_stmt.where(
            Assessment.scope_id.in_(scope_ids) | Assessment.id.in_(assessment_ids or [])
        )
    scopes = [(row.id, row.name) for row in db.session.execute(scopes_stmt)]
    assessments = [
        (row.id, f"{row.name} · {row.framework_id} · as of {row.as_of}") for row in db.session.execute(assessments_stmt)
    ]
    return scopes, assessments


def _render(verify: VerifyResult | None = None, status: int = 200):
    me = user()
    where, order = _where()
    scopes, assessments = access.visible_scope_ids(me), access.visible_assessment_ids(me)
    stmt = audit.query(where, scopes, assessments, oldest_first=order == "oldest")
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    pages = max((total + PAGE - 1) // PAGE, 1)
    page = min(max(parse_int(request.args.get("page"), "Page") or 1, 1), pages)
    entries = [
        EntryView(e, changed_fields(e.before, e.after))
        for e in db.session.scalars(stmt.offset((page - 1) * PAGE).limit(PAGE))
    ]
    scope_choices, assessment_choices = _places(me)
    return render_template(
        "audit/index.html",
        entries=entries,
        where=where,
        order=order,
        orders=ORDERS,
        choices=audit.choices(scopes, assessments),
        scope_choices=scope_choices,
        assessment_choices=assessment_choices,
        page=page,
        pages=pages,
        total=total,
        args=_filter_args(),
        may_verify=access.may(me, "audit-verify"),
        verify=verify,
    ), status


@bp.get("/audit")
def index():
    """Entries matching the filters in the query string, a page at a time."""
    return _render()


@bp.get("/audit.csv")
def export_csv():
    """The filtered trail as CSV, every matching entry; the export is recorded in the trail."""
    from reports.exports import to_csv  # openpyxl loads only when an export is asked for

    me = user()
    where, order = _where()
    stmt = audit.query(
        where, access.visible_scope_ids(me), access.visible_assessment_ids(me), oldest_first=order == "oldest"
    )
    records = [
        (
            e.seq,
            e.at,
            e.actor,
            e.action,
            e.object_type,
            e.object_id,
            e.scope_id,
            e.assessment_id,
            "; ".join(c.as_text() for c in changed_fields(e.before, e.after, limit=10_000)),
            e.before,
            e.after,
            e.hash,
        )
        for e in db.session.scalars(stmt.execution_options(yield_per=1000))
    ]
    audit.record(
        "audit.exported",
        "audit_trail",
        "csv",
        after={"entries": len(records), "filters": _filter_args()},
        actor=me.username,
    )
    return Response(
        to_csv(CSV_COLUMNS, records),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'},
    )


@bp.post("/audit/verify")
def verify():
    """Run the check `assessment audit verify` runs (hash chain, keyed MACs, checkpoints) and show it."""
    from ..adapters.trail_anchor import TrailKeyError

    access.require(user(), "audit-verify")
    try:
        result = audit.check()
    except TrailKeyError as error:
        raise InvalidInput(f"The audit trail cannot be checked: {error}") from None
    verdict = result.verdict
    details = [f"Checkpoint problem: {problem}" for problem in result.problems]
    if result.ok:
        last = result.last_checkpoint
        details.append(
            f"Checked against {result.checkpoints} signed checkpoint(s)"
            + (f"; the last at entry {last.seq} ({last.at})." if last else ".")
        )
        return _render(
            VerifyResult(True, f"Chain intact: {verdict.count} entries, head {verdict.head}.", tuple(details))
        )
    broken = verdict.broken
    if broken is not None:
        headline = (
            f"Chain BROKEN at entry {broken.seq}, {broken.check} check: {broken.reason}. "
            f"{verdict.count} entries before it verify."
        )
    else:
        headline = f"The chain of {verdict.count} entries verifies, but its checkpoints do not."
    return _render(VerifyResult(False, headline, tuple(details)))
