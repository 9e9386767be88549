"""The program dashboard, for program leads and admins."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, render_template, request

from ..readmodels import dashboard
from ..services import access
from ..services import assessments as svc
from .common import parse_id, user

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard")
def index():
    """Heatmap of scopes × domains, levels against targets, stale assessments, expiring evidence, backlog health;
    with framework=all, the heatmap of every framework in use."""
    access.require(user(), "all-scopes")
    framework_id = (request.args.get("framework") or "").strip() or None
    scope_id = parse_id(request.args.get("scope"), "Scope")
    config = current_app.config
    windows = {
        "today": dt.date.today(),
        "stale_days": int(config["STALE_AFTER_DAYS"]),
        "expiring_days": int(config["EXPIRING_WITHIN_DAYS"]),
    }
    if framework_id == dashboard.ALL:
        boards = dashboard.build_all(scope_id, **windows)
        return render_template(
            "dashboard/all.html",
            boards=boards,
            frameworks=dashboard.frameworks_in_use(None),
            scope_id=scope_id,
            all_scopes=svc.list_scopes(),
        )
    board = dashboard.build(framework_id, scope_id, **windows)
    return render_template("dashboard/index.html", board=board, scope_id=scope_id, all_scopes=svc.list_scopes())


bp.add_app_template_filter(dashboard.heat, "heat")
