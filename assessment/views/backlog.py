"""The improvement backlog of an assessment's scope and framework."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from ..forms import ActionForm
from ..models import PDCA_STATUSES
from ..services import access
from ..services import assessments as svc
from ..services import backlog as backlog_svc
from ..services import reports as report_svc
from .common import assessment_for, parse_date, user

bp = Blueprint("backlog", __name__)


def _filters() -> dict[str, str]:
    return {key: (request.args.get(key) or "").strip() for key in ("status", "owner", "q", "sort")}


@bp.get("/assessments/<int:assessment_id>/backlog")
def index(assessment_id: int):
    """The backlog, filtered and sorted."""
    assessment = assessment_for(assessment_id)
    args = _filters()
    everything = backlog_svc.items_for(assessment)
    items = backlog_svc.filtered(everything, args["status"], args["owner"], args["q"], args["sort"] or "priority")
    owners = sorted({i.owner for i in everything if i.owner})
    return render_template(
        "backlog/index.html",
        assessment=assessment,
        items=items,
        history=backlog_svc.history(items),
        total=len(everything),
        args=args,
        statuses=PDCA_STATUSES,
        owners=owners,
        sorts=list(backlog_svc.SORTS),
        action_form=ActionForm(),
        may_manage=access.allowed(user(), assessment, "backlog"),
    )


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
    backlog_svc.update_item(
        item,
        owner=request.form.get("owner"),
        due_date=parse_date(request.form.get("due_date"), "Due date"),
        status=request.form.get("status", item.status),
        hypothesis=request.form.get("hypothesis"),
        outcome=request.form.get("outcome"),
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
