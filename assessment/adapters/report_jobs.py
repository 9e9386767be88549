"""Running report jobs: a request queues a job (services/reports.py), and one rendering thread per process
turns it into a PDF or an evidence bundle in the report store, recording its progress on the job.

The runner is the one part of the reports that works outside a request, so it is given the application
(for its own application context and database session) and the report store explicitly.
"""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from reports import pool
from reports.model import Report

from ..extensions import db
from ..models import ReportJob, utcnow
from ..services.assessments import get_assessment
from ..services.reports import ReportStore, report_for

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """One rendering thread per process: WeasyPrint is CPU-bound and memory-hungry."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report")
        return _executor


def start(app: Flask, job: ReportJob, store: ReportStore) -> None:
    """Render the job after the request's transaction commits (synchronously when the app's REPORTS_SYNC is set)."""
    if job.status != "queued":
        return
    if app.config.get("REPORTS_SYNC"):
        run_job(app, job.id, store)
    else:
        _pool().submit(run_job, app, job.id, store)


def _progress(job: ReportJob, value: int, message: str) -> None:
    job.progress, job.message = value, message
    db.session.commit()


def run_job(app: Flask, job_id: int, store: ReportStore) -> None:
    """Render one report job into the store, in its own application context and session."""
    with app.app_context():
        job = db.session.get(ReportJob, job_id)
        if job is None or job.status != "queued":
            return
        job.status = "running"
        _progress(job, 5, "Reading the assessment")
        try:
            from reports.render import render_pdf

            pool.warm()  # ready workers are reused; new ones load WeasyPrint while the assessment is read

            report = report_for(
                get_assessment(job.assessment_id),
                store.evidence,
                organisation=app.config.get("ORGANISATION"),
                confidentiality=app.config.get("CONFIDENTIALITY"),
            )
            _progress(job, 20, f"Rendering {len(report.card.requirements):,} requirements to PDF")
            pdf = render_pdf(report)
            if job.kind == "bundle":
                _progress(job, 80, "Packing the evidence bundle")
                data = _bundle_bytes(report, pdf)
                name = f"{job.id}-{report.id}.zip"
            else:
                data, name = pdf, f"{job.id}-{report.id}.pdf"
            job.file_name = name
            store.write(job, data)
            job.status, job.progress, job.message = "done", 100, "Ready"
            job.report_id, job.size, job.finished_at = report.id, len(data), utcnow()
            db.session.commit()
        except Exception as exc:  # the job records the failure; the worker keeps going
            db.session.rollback()
            worker_said = f"\n{exc.detail}" if isinstance(exc, pool.WorkerFailed) else ""
            app.logger.exception("Report job %s failed%s", job_id, worker_said)
            job = db.session.get(ReportJob, job_id)
            job.status, job.message, job.finished_at = "failed", _failure_message(exc), utcnow()
            db.session.commit()
        finally:
            db.session.remove()


def _failure_message(exc: Exception) -> str:
    """What the job page says about a failure: a ValueError's message is written for people; anything
    else (a worker's stderr, an OSError) may hold a stack trace or an internal path, so it is only logged."""
    if isinstance(exc, ValueError):
        return f"The report could not be rendered: {exc}"
    return "The report could not be rendered because of an unexpected error; it has been logged."


def _bundle_bytes(report: Report, pdf: bytes) -> bytes:
    from reports.bundle import write_bundle

    buffer = io.BytesIO()
    write_bundle(report, pdf, buffer)
    return buffer.getvalue()
