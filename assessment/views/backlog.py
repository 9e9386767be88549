"""The improvement backlog of an assessment's scope and framework."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from ..extensions import db
from ..forms import ActionForm
from ..models import PDCA_STATUSES
from ..services import access
from ..services import assessments as svc
from ..services import backlog as backlog_svc
from ..services import delivery as delivery_svc
from ..services import reports as report_svc
from ..services.errors import InvalidInput
from .backlog_page import build_page
from .common import assessment_for, parse_date, parse_id, user

bp = Blueprint("backlog", __name__)


FILTERS = ("status", "owner", "q", "sort", "unanswered")


def _filters() -> dict[str, str]:
    return {key: (request.args.get(key) or "").strip()[:200] for key in FILTERS}


def _render(assessment, *, editing=None, submitted=None, errors=None, check_values=None, status: int = 200):
    """The backlog page, grouped by PDCA status, with at most one item open for editing."""
    args = _filters()
    everything = backlog_svc.items_for(assessment)
    may_manage = access.allowed(user(), assessment, "backlog")
    page = build_page(
        assessment,
        svc.load_state(assessment),
        everything,
        args,
        backlog_svc.history(everything),
        editing=editing if may_manage else None,
        submitted=submitted,
        errors=errors,
    )
    members = {u.username: u.display_name for u in backlog_svc.owner_choices(assessment.scope_id)}
    owners = sorted({i.owner for i in everything if i.owner})
    return render_template(
        "backlog/index.html",
        assessment=assessment,
        page=page,
        args=args,
        statuses=PDCA_STATUSES,
        owners=[(o, members.get(o, o)) for o in owners],
        sorts=list(backlog_svc.SORTS),
        action_form=ActionForm(),
        may_manage=may_manage,
        services=delivery_svc.services_of(assessment.scope_id) if may_manage else [],
        check_errors=(errors or {}).get("check"),
        check_values=check_values or {},
    ), status


@bp.get("/assessments/<int:assessment_id>/backlog")
def index(assessment_id: int):
    """The backlog, filtered and sorted; `?edit=ID` opens that item's form (the no-JavaScript way)."""
    assessment = assessment_for(assessment_id)
    editing = parse_id(request.args.get("edit"), "Item")
    if editing is not None:
        backlog_svc.get_item(assessment, editing)  # another backlog's item is not found
    return _render(assessment, editing=editing)


@bp.post("/assessments/<int:assessment_id>/backlog/generate")
def generate(assessment_id: int):
    """Add an item for every gap that has none (never duplicating)."""
    assessment = assessment_for(assessment_id, "backlog")
    report = backlog_svc.generate(svc.load_state(assessment))
    flash(f"Backlog generated: {report.added} item(s) added, {report.refreshed} priority(ies) refreshed.")
    return redirect(url_for("backlog.index", assessment_id=assessment_id))


@bp.post("/assessments/<int:assessment_id>/backlog/<int:item_id>")
def update(assessment_id: int, item_id: int):
    """Change an item's owner, due date, PDCA status, hypothesis or outcome."""
    assessment = assessment_for(assessment_id, "backlog")
    item = backlog_svc.get_item(assessment, item_id)
    submitted = {k: request.form.get(k, "") for k in ("owner", "due_date", "status", "hypothesis", "outcome")}
    try:
        due_date = parse_date(request.form.get("due_date"), "Due date")
    except InvalidInput as error:
        return _render(assessment, editing=item.id, submitted=submitted, errors={"due_date": error.message}, status=422)
    try:
        backlog_svc.update_item(
            item,
            owner=request.form.get("owner"),
            due_date=due_date,
            status=request.form.get("status", item.status),
            hypothesis=request.form.get("hypothesis"),
            outcome=request.form.get("outcome"),
        )
    except backlog_svc.FieldRefused as refused:
        return _render(
            assessment, editing=item.id, submitted=submitted, errors={refused.field: refused.message}, status=422
        )
    flash(f"{item.requirement_id} saved.")
    return redirect(
        url_for("backlog.index", assessment_id=assessment_id, **{k: v for k, v in _filters().items() if v})
        + f"#item-{item.id}"
    )


@bp.get("/assessments/<int:assessment_id>/backlog.csv")
def export_csv(assessment_id: int):
    """The backlog (with the current filters) as CSV."""
    from reports import exports  # openpyxl loads only when an export is asked for

    assessment = assessment_for(assessment_id)
    args = _filters()
    items = backlog_svc.filtered(
        backlog_svc.items_for(assessment), args["status"], args["owner"], args["q"], args["sort"] or "priority"
    )
    name = f"backlog-{assessment.scope.name}-{assessment.framework_version.framework_id}.csv"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)
    data = exports.backlog_entries_csv(backlog_svc.as_entries(items))
    report_svc.record_export(assessment, "backlog.csv", {k: v for k, v in args.items() if v})
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


# checked by the numbers (d-check)
@bp.post("/assessments/<int:assessment_id>/backlog/<int:item_id>/check")
def check(assessment_id: int, item_id: int):
    """Check the item's hypothesis against a service's delivery metrics before and after its change went live."""
    from ..services import improvement_checks

    assessment = assessment_for(assessment_id, "backlog")
    item = backlog_svc.get_item(assessment, item_id)
    given = {key: (request.form.get(key) or "").strip()[:200] for key in ("live_on", "service", "days")}
    try:
        live_on = parse_date(given["live_on"], "Went live on")
        if live_on is None:
            raise InvalidInput("Went live on: give the date the change went live.")
        days_text = given["days"][:10] or str(improvement_checks.DEFAULT_DAYS)
        if not days_text.isdigit():
            raise InvalidInput(f"Days per window must be a whole number, not {days_text!r}.")
        checked = improvement_checks.check_item(item, live_on=live_on, service=given["service"], days=int(days_text))
    except InvalidInput as error:  # the item's forms again, what was given kept, the reason beside the check
        db.session.rollback()
        return _render(assessment, editing=item.id, errors={"check": error.message}, check_values=given, status=422)
    flash(f"{item.requirement_id} checked: {checked.outcome.summary}")
    return redirect(url_for("backlog.index", assessment_id=assessment_id) + f"#item-{item.id}")
