"""The admin's background jobs page: what is queued, running, failed (with the reason) and done."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from ..adapters import background, report_jobs
from ..app import after_commit
from ..extensions import report_store
from ..readmodels import jobs as job_board
from ..services import access
from ..services import job_requests as job_svc
from .common import current_user, user
from .messages import notify

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


@bp.post("/admin/jobs/snapshots")
def refresh_snapshots():
    """Queue a job that brings every assessment's score snapshot up to date (one waiting is reused)."""
    access.require(user(), "jobs")
    job = job_svc.request_snapshots(None, current_user())
    app = current_app._get_current_object()
    after_commit(lambda: report_jobs.start(app, job, report_store(app)))
    notify(f"Job #{job.id} brings every score snapshot up to date.")
    return redirect(url_for("jobs.index"))
