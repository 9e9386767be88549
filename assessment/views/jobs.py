"""The admin's background jobs page: what is queued, running, failed (with the reason) and done."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..adapters import background
from ..readmodels import jobs as job_board
from ..services import access
from .common import user

bp = Blueprint("jobs", __name__)


@bp.get("/admin/jobs")
def index():
    """Every recent report job with its state, attempts and failure reason; ?status= shows one state."""
    access.require(user(), "jobs")
    status = request.args.get("status") or None
    try:
        waiting = background.depth(current_app)
    except Exception:  # noqa: BLE001 (the page still lists the jobs; /readyz says what is wrong with the queue)
        current_app.logger.warning("/admin/jobs: the queue could not be read")
        waiting = None
    return render_template(
        "jobs/index.html",
        board=job_board.board(status),
        status=status,
        queue_kind=background.kind(current_app),
        waiting=waiting,
        max_attempts=current_app.config["JOB_MAX_ATTEMPTS"],
    )
