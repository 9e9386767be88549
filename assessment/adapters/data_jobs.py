"""Running the jobs that change data rather than render a file (services/job_requests.py queues them): an import
of an upload as a new assessment, and a refresh of score snapshots. report_jobs.run_job claims the job,
keeps its lease alive and hands it here by its kind; this module does the work and settles the job.

An import is checked again here, in the transaction that writes it: the person who asked must still be
allowed to import into the scope (they may have left its team while the job waited). A refused or
malformed upload fails the job at once with the reason written for people; anything else is retried
while attempts remain. The upload is removed from the store once the job is settled for good.
"""

from __future__ import annotations

import shutil
import tempfile
import time

from flask import Flask
from sqlalchemy import select

from .. import observability
from ..domain import jobs
from ..domain.errors import InvalidFile
from ..extensions import db
from ..models import Assessment, ReportJob, Scope, User, utcnow
from ..readmodels.snapshots import snapshots_of
from ..services import access, audit, delivery, transfer
from ..services.errors import ServiceError
from ..services.job_requests import EVENTS, IMPORT, upload_key
from ..services.reports import ReportStore
from . import job_state
from .blobs import BlobMissing

SNAPSHOT_BATCH = 50  # assessments scored, stored and committed at a time
UPLOAD_IN_MEMORY = 256 * 1024  # an upload read back from the store larger than this waits on disk
COPY_CHUNK = 256 * 1024


def attempt(app: Flask, job_id: int, store: ReportStore, worker: str, policy: jobs.Policy) -> None:
    """One attempt at a claimed import or snapshot job, settled here: done, retried or failed."""
    job = db.session.get(ReportJob, job_id)
    deadline = time.monotonic() + policy.timeout_seconds
    started, kind, outcome = time.perf_counter(), job.kind, "failed"
    try:
        if kind == IMPORT:
            _import(app, job, store, worker, deadline)
        elif kind == EVENTS:
            _events(job, store, worker, deadline)
        else:
            _snapshots(job, worker, deadline)
        outcome = "done"
    except job_state.LostClaim:
        db.session.rollback()
        app.logger.warning("Job %s is no longer this worker's; left to its new holder", job_id)
    except Exception as exc:  # the job records the failure; the worker keeps going
        db.session.rollback()
        permanent = isinstance(exc, ServiceError)
        if not permanent:
            app.logger.exception("Job %s (%s) failed", job_id, kind)
        settled = job_state.record_failure(job_id, worker, policy, _failure_message(exc, kind, policy), permanent)
        if settled is not None and settled.retry_in is not None:
            from . import background

            background.enqueue_report(app, job_id, settled.retry_in)
        elif settled is not None and kind in (IMPORT, EVENTS):
            store.blobs.delete(upload_key(job))  # failed for good: nobody will read it again
    finally:
        observability.job_finished(kind, outcome, time.perf_counter() - started)


def _failure_message(exc: Exception, kind: str, policy: jobs.Policy) -> str:
    what = {IMPORT: "The import", EVENTS: "Reading the events"}.get(kind, "The score snapshots")
    if isinstance(exc, ServiceError):
        return exc.message
    if isinstance(exc, job_state.JobTimedOut):
        return f"{what} took longer than its time limit of {policy.timeout_seconds:g} s."
    return f"{what} failed because of an unexpected error; it has been logged."


def _progress(job: ReportJob, worker: str, value: int, message: str, deadline: float) -> None:
    job_state.check_time(deadline)
    job_state.report_progress(job.id, worker, value, message)


def _import(app: Flask, job: ReportJob, store: ReportStore, worker: str, deadline: float) -> None:
    job_id, requested_by, name, scope_id = job.id, job.requested_by, job.upload_name or "upload", job.scope_id
    _progress(job, worker, 10, f"Reading {name}", deadline)
    with tempfile.SpooledTemporaryFile(max_size=UPLOAD_IN_MEMORY) as upload:
        try:
            reader = store.blobs.open(upload_key(job))
        except BlobMissing:
            raise ServiceError("The uploaded file is no longer stored; upload it again.") from None
        try:
            shutil.copyfileobj(reader, upload, COPY_CHUNK)
        finally:
            reader.close()
        upload.seek(0)
        _progress(job, worker, 30, f"Importing {name}", deadline)
        with audit.acting_as(requested_by):
            scope = _scope_for(requested_by, scope_id)
            result, stored = transfer.import_upload(
                scope, name, upload, store.evidence, requested_by, app.config["EVIDENCE_MAX_BYTES"]
            )
    try:
        snapshots_of([result.assessment])  # the new assessment's figures, ready for the dashboard
        message = f"Imported {result.answers} answer(s) and {result.files} evidence file(s)."
        _done(job_id, worker, message, deadline, result.assessment.id)
    except Exception:
        db.session.rollback()
        for item in stored:  # no assessment names them: they go with it
            store.evidence.discard(item)
        raise
    store.blobs.delete(upload_key(job))


EVENT_PROBLEMS_SHOWN = 50  # a job's message lists this many problems of a refused file, then counts the rest


def _events(job: ReportJob, store: ReportStore, worker: str, deadline: float) -> None:
    """Read an uploaded events file into the scope: every line checked, all stored or none."""
    job_id, requested_by, name, scope_id = job.id, job.requested_by, job.upload_name or "events.jsonl", job.scope_id
    _progress(job, worker, 10, f"Reading {name}", deadline)
    try:
        reader = store.blobs.open(upload_key(job))
    except BlobMissing:
        raise ServiceError("The uploaded file is no longer stored; upload it again.") from None
    try:
        data = reader.read(delivery.MAX_FILE_BYTES + 1)
    finally:
        reader.close()
    _progress(job, worker, 40, f"Checking the events of {name}", deadline)
    with audit.acting_as(requested_by):
        scope = _scope_for(requested_by, scope_id, "delivery", "add delivery data to")
        try:
            added = delivery.add_file(scope, name, data, source="upload", actor=requested_by)
        except InvalidFile as exc:
            shown = [str(p) for p in exc.problems[:EVENT_PROBLEMS_SHOWN]]
            more = len(exc.problems) - len(shown)
            tail = [f"… and {more:,} more problem(s)."] if more > 0 else []
            raise ServiceError(
                f"Nothing was stored: {len(exc.problems):,} problem(s) in {name}.\n" + "\n".join(shown + tail)
            ) from None
    _done(job_id, worker, f"{name}: {added.sentence()}", deadline)
    store.blobs.delete(upload_key(job))


def _scope_for(user_name: str, scope_id: int | None, action: str = "import", doing: str = "import into") -> Scope:
    """The scope the import goes into, if the person who asked may still import into it."""
    user = db.session.scalars(select(User).where(User.username == user_name)).first()
    if user is None or not user.is_active or scope_id is None:
        raise ServiceError(f"{user_name} can no longer {doing} this scope: the account is gone or disabled.")
    try:
        return access.scope_for(user, scope_id, action)
    except ServiceError:
        raise ServiceError(f"{user_name} may no longer {doing} this scope, so nothing was stored.") from None


def _snapshots(job: ReportJob, worker: str, deadline: float) -> None:
    job_id, scope_id = job.id, job.scope_id
    query = select(Assessment.id).order_by(Assessment.id)
    if scope_id is not None:
        query = query.where(Assessment.scope_id == scope_id)
    ids = list(db.session.scalars(query))
    for start in range(0, len(ids), SNAPSHOT_BATCH):
        _progress(job, worker, 5 + 90 * start // max(len(ids), 1), f"Scoring assessments {start + 1:,}…", deadline)
        batch = list(
            db.session.scalars(select(Assessment).where(Assessment.id.in_(ids[start : start + SNAPSHOT_BATCH])))
        )
        snapshots_of(batch)
        db.session.commit()
    _done(job_id, worker, f"The score snapshots of {len(ids):,} assessment(s) are up to date.", None)


def _done(job_id: int, worker: str, message: str, deadline: float | None, assessment_id: int | None = None) -> None:
    """Settle the job as done with what it did, committed with the work, if this worker still holds it and its
    time limit has not run out meanwhile (then nothing of it is committed: JobTimedOut). A snapshot refresh
    passes None: each batch is committed as it is scored, so what is done stays done."""
    job_state.check_time(deadline)
    job = db.session.get(ReportJob, job_id)
    db.session.refresh(job)
    if not job_state.holds(job, worker):
        raise job_state.LostClaim(job_id)
    if assessment_id is not None:
        job.assessment_id = assessment_id
    job.status, job.progress, job.message = jobs.DONE, 100, message
    job.finished_at, job.worker, job.lease_until, job.last_error = utcnow(), None, None, None
    db.session.commit()
