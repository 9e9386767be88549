"""Upload a delivery events file (JSON Lines, delivery-events.md section 1) into a scope's delivery data.

The request checks who asks and the file's size, keeps the file and queues a job; the job (run by a
worker, adapters/data_jobs.py) checks every line against what the scope keeps and stores all of the
events or none, failing with every problem at its line. The job's page follows it until it is done.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from ..adapters import report_jobs
from ..app import after_commit, on_failure
from ..extensions import report_store
from ..services import access
from ..services import delivery as delivery_svc
from ..services import job_requests as job_svc
from ..services.delivery_hooks import webhook_secret
from ..services.errors import InvalidInput
from .common import current_user, scope_for, user
from .formerrors import UNPROCESSABLE, FormErrors, abandon_changes
from .messages import notify

bp = Blueprint("delivery_upload", __name__)


@bp.post("/scopes/<int:scope_id>/delivery/events")
def upload(scope_id: int):
    """Queue the reading of an uploaded events file; the job's page shows its progress and its outcome."""
    scope = scope_for(scope_id, "delivery")
    upload = request.files.get("events")
    try:
        if upload is None or not upload.filename:
            raise InvalidInput("Choose a JSON Lines file of delivery events to upload.", "events")
        app = current_app._get_current_object()
        store = report_store(app)
        job = job_svc.request_events(scope, upload.filename, upload.stream, current_user(), store)
    except InvalidInput as error:
        abandon_changes()
        return _form_again(scope_id, error.message)
    on_failure(lambda: store.blobs.delete(job_svc.upload_key(job)))
    after_commit(lambda: report_jobs.start(app, job, store))
    return redirect(url_for("delivery_upload.job", job_id=job.id), 303)


def _form_again(scope_id: int, message: str):
    """The upload form again with the message beside the file field; nothing was stored."""
    errors = FormErrors(values=request.form)
    errors.add("events", message)
    scope = scope_for(scope_id)
    return render_template("delivery/upload.html", scope=scope, errors=errors, **panel(scope)), UNPROCESSABLE


@bp.get("/delivery/jobs/<int:job_id>")
def job(job_id: int):
    """An events upload's progress (the page refreshes itself until the job ends), then its outcome."""
    job = job_svc.get_job(job_id, job_svc.EVENTS)
    scope = access.scope_for(user(), job.scope_id, "delivery")
    if job.status == "done":
        notify(job.message or "The events were added.")
        return redirect(url_for("delivery.overview", scope_id=scope.id))
    problems = (job.message or "").split("\n") if job.status == "failed" else []
    return render_template("delivery/upload_job.html", job=job, scope=scope, problems=problems)


def panel(scope) -> dict:
    """What the delivery data page shows of the ways in: the upload form, and each webhook's address
    with the scope's secret, only to those who may add delivery data (the secret lets anyone add it)."""
    may = user().role in access.SCOPE_ACTIONS["delivery"]
    if not may:
        return {"may_upload": False, "webhooks": None}
    app = current_app._get_current_object()
    return {
        "may_upload": True,
        "max_mb": delivery_svc.MAX_FILE_BYTES // 2**20,
        "webhooks": {
            "github": url_for("hooks.github", scope_id=scope.id, _external=True),
            "gitlab": url_for("hooks.gitlab", scope_id=scope.id, _external=True),
            "secret": webhook_secret(app, scope.id),
        },
    }
