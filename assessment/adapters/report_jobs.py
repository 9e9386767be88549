"""Running report jobs: a request queues a job (services/reports.py) and a message on the shared queue
(adapters/background.py); an `assessment worker` takes the message and turns the job into a PDF or an
evidence bundle in the report store, recording its progress, its attempts and its failures on the job.

A report id names one file: a bundle packs the stored PDF of the same state when there is one, and
otherwise keeps the PDF it renders as that state's PDF job, so the PDF downloaded and the PDF in the
bundle are the same bytes (signed ones too: a signature's time would otherwise make them differ).

The runner is the one part of the reports that works outside a request, so it is given the application
(for its own application context and database session) and the report store explicitly.
"""

from __future__ import annotations

import dataclasses
import io
import json
import time

from flask import Flask
from sqlalchemy import select

from reports import pool
from reports.memory import give_back
from reports.model import Report

from .. import observability
from ..domain import jobs
from ..domain.trail import Anchor
from ..extensions import db
from ..models import REPORT_KINDS, ReportJob, utcnow
from ..services.assessments import get_assessment
from ..services.reports import ReportStore, finished_pdf, record_pdf, report_for
from . import data_jobs, job_state

JobTimedOut = job_state.JobTimedOut


def start(app: Flask, job: ReportJob, store: ReportStore) -> None:
    """Queue the job's message (of any kind) once its row is committed (run it here and now when the app's
    REPORTS_SYNC is set: the tests, and a command that wants the result at once)."""
    if job.status != "queued":
        return
    if app.config.get("REPORTS_SYNC"):
        run_job(app, job.id, store)
    else:
        from . import background

        try:
            background.enqueue_report(app, job.id)
        except Exception:  # noqa: BLE001 (the job is committed: the next worker to start queues it again)
            app.logger.exception("Report job %s could not be put on the queue; it waits for a worker to start", job.id)


def _progress(job: ReportJob, worker: str, value: int, message: str, deadline: float | None = None) -> None:
    """Record the job's progress while this worker holds it; past the attempt's time limit, stop it."""
    job_state.check_time(deadline)
    job_state.report_progress(job.id, worker, value, message)


def run_job(app: Flask, job_id: int, store: ReportStore) -> None:
    """Claim one queued report job and render it into the store, in its own application context and session,
    renewing the claim while it works. A failure is retried (queued again after a delay) while attempts
    remain, else the job fails with the reason; a job another worker holds, or one already settled, is left."""
    policy = job_state.policy_of(app)
    if app.config.get("REPORTS_SYNC"):  # rendered in the request: no later attempt would run
        policy = dataclasses.replace(policy, max_attempts=1)
    worker = app.config.get("JOB_WORKER_NAME") or job_state.worker_name()
    with app.app_context():
        try:
            if not job_state.claim(job_id, worker, policy):
                return
            kind = db.session.scalar(select(ReportJob.kind).where(ReportJob.id == job_id))
            work = _attempt if kind in REPORT_KINDS else data_jobs.attempt  # an import, a snapshot refresh
            with job_state.heartbeat(app, job_id, worker, policy):
                work(app, job_id, store, worker, policy)
        finally:
            db.session.remove()
            give_back()  # the report's model and PDF are garbage now: return their memory


def _attempt(app: Flask, job_id: int, store: ReportStore, worker: str, policy: jobs.Policy) -> None:
    job = db.session.get(ReportJob, job_id)
    deadline = time.monotonic() + policy.timeout_seconds
    _progress(job, worker, 5, "Reading the assessment")
    started, kind, outcome = time.perf_counter(), job.kind, "failed"
    try:
        assessment = get_assessment(job.assessment_id)
        report, pdf = _stored_pdf(assessment, store) if job.kind == "bundle" else (None, None)
        if report is None:
            pool.warm()  # ready workers are reused; new ones load WeasyPrint while the assessment is read
            report = report_for(assessment, store.evidence, **store.facts())
            _progress(job, worker, 20, f"Rendering {len(report.card.requirements):,} requirements to PDF", deadline)
            report, pdf = _render(report, store, deadline)
            if job.kind == "bundle":
                record_pdf(assessment, job.requested_by, report.id, pdf, store)
        if job.kind == "bundle":
            _progress(job, worker, 80, "Packing the evidence bundle", deadline)
            data = _bundle_bytes(report, pdf, store)
            name = f"{job.id}-{report.id}.zip"
        else:
            data, name = pdf, f"{job.id}-{report.id}.pdf"
        _progress(job, worker, 95, "Saving the file", deadline)
        db.session.refresh(job)
        if not job_state.holds(job, worker):  # it stalled and the sweep gave it to another worker
            return
        job.file_name = name
        store.write(job, data)
        job.status, job.progress, job.message = "done", 100, "Ready"
        job.report_id, job.size, job.finished_at = report.id, len(data), utcnow()
        job.worker, job.lease_until, job.last_error = None, None, None
        db.session.commit()
        outcome = "done"
    except job_state.LostClaim:  # given back (the worker is stopping) or handed on: its new holder writes
        db.session.rollback()
        app.logger.warning("Report job %s is no longer this worker's; left to its new holder", job_id)
    except Exception as exc:  # the job records the failure; the worker keeps going
        db.session.rollback()
        worker_said = f"\n{exc.detail}" if isinstance(exc, pool.WorkerFailed) else ""
        app.logger.exception("Report job %s failed%s", job_id, worker_said)
        settled = job_state.record_failure(
            job_id, worker, policy, _failure_message(exc, policy), permanent=isinstance(exc, ValueError)
        )
        if settled is not None and settled.retry_in is not None:
            from . import background

            background.enqueue_report(app, job_id, settled.retry_in)
    finally:
        observability.job_finished(kind, outcome, time.perf_counter() - started)


def _failure_message(exc: Exception, policy: jobs.Policy) -> str:
    """What the job page says about a failure: a ValueError's message is written for people; anything
    else (a worker's stderr, an OSError) may hold a stack trace or an internal path, so it is only logged."""
    if isinstance(exc, ValueError):
        return f"The report could not be rendered: {exc}"
    if isinstance(exc, JobTimedOut):
        return f"The report took longer than its time limit of {policy.timeout_seconds:g} s."
    return "The report could not be rendered because of an unexpected error; it has been logged."


def _render(report: Report, store: ReportStore, deadline: float | None = None) -> tuple[Report, bytes]:
    """The report's PDF with its attachments, signed when the instance has a signing key. Rendering stops when
    the attempt's `deadline` (time.monotonic()) passes while documents are still being laid out: JobTimedOut."""
    from reports.signing import render_report

    try:
        with pool.time_limit(None if deadline is None else deadline - time.monotonic()):
            return render_report(report, store.signing)
    except pool.TimeLimitReached:
        raise JobTimedOut from None


def _stored_pdf(assessment, store: ReportStore) -> tuple[Report | None, bytes | None]:
    """The report and PDF bytes of the finished PDF job of the assessment's state, or (None, None).

    The report is built again as that job built it (with the trail's anchor the PDF carries), so the
    bundle's manifest names the PDF's report id and anchor; a PDF whose id is not the one built again
    (it was rendered before a change) is not reused."""
    from reports.attachments import AUDIT_TRAIL, UnreadableAttachments, read_attachments

    pdf_job = finished_pdf(assessment, store)
    if pdf_job is None:
        return None, None
    report = report_for(assessment, store.evidence, **store.facts())
    if report.id != pdf_job.report_id:
        return None, None
    pdf = store.read(pdf_job)
    try:
        trail = json.loads(read_attachments(pdf).get(AUDIT_TRAIL, b"null"))
    except (UnreadableAttachments, ValueError):
        return None, None
    chain = trail.get("chain") if isinstance(trail, dict) else None
    anchor = None if chain is None else Anchor(seq=chain["seq"], head=chain["head"], count=chain["count"])
    return dataclasses.replace(report, trail_anchor=anchor), pdf


def _bundle_bytes(report: Report, pdf: bytes, store: ReportStore) -> bytes:
    from reports.bundle import write_bundle

    buffer = io.BytesIO()
    write_bundle(report, pdf, buffer, store.signing)
    return buffer.getvalue()
