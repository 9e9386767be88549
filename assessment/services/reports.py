"""Reports of assessments in the database: built from the same model as file reports, rendered in
the background (a request never waits for WeasyPrint), and reused while the assessment is unchanged.

"Unchanged" includes its review: a new finding, a status change or any other entry in the
assessment's trail makes a new rendering, except entries that only record someone reading it
(downloads of reports, bundles and evidence, exports). Those would otherwise make every
download invalidate the report just downloaded, and a report would never be reused.

It also includes the scope's other cycles that the report shows: the previous cycle it is
compared with, and every cycle up to its as-of date in the trend chart.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import func, or_, select

from reports import pool
from reports.model import CycleComparison, FindingEntry, Report, ReportMeta, build_report
from reports.review import trail_entry

from ..domain.compare import compare
from ..domain.scoring import Scorecard
from ..extensions import db
from ..models import (
    REPORT_KINDS,
    Assessment,
    AuditEntry,
    BacklogItem,
    FrameworkVersion,
    ReportJob,
    ReviewFinding,
    utcnow,
)
from . import audit, review, trends
from .assessments import domain_answers, get_assessment, load_state
from .backlog import as_entries, items_for
from .errors import InvalidInput, NotFound
from .evidence import EvidenceStore

READ_ACTIONS = (".downloaded", ".exported")  # trail entries that record a read, not a change

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """One rendering thread per process: WeasyPrint is CPU-bound and memory-hungry."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report")
        return _executor


def store_of(app: Flask) -> EvidenceStore:
    """The evidence store of an application."""
    return EvidenceStore(app.config["EVIDENCE_DIR"], app.config["EVIDENCE_MAX_BYTES"])


def store_of_current() -> EvidenceStore:
    """The evidence store of the current application."""
    return store_of(current_app)


def report_for(assessment: Assessment, prepared_by: str | None, store: EvidenceStore) -> Report:
    """The report model of an assessment, from the database, with the comparison with the cycle it
    was started from and the scope's trend up to its as-of date when there are such cycles."""
    state = load_state(assessment)
    answers = domain_answers(state.framework, state.rows, state.evidence)
    files = {
        item.sha256: store.path_for(item.sha256) for items in state.evidence.values() for item in items if item.sha256
    }
    backlog = as_entries(sorted(items_for(assessment), key=lambda i: (-i.priority, i.id)))
    meta = ReportMeta(
        scope=assessment.scope.name,
        status=assessment.status,
        prepared_by=prepared_by,
        framework_label=assessment.framework_version.label,
        submitted_by=assessment.submitted_by,
        submitted_at=assessment.submitted_at,
        approved_by=assessment.approved_by,
        approved_at=assessment.approved_at,
        review_comment=assessment.review_comment,
    )
    findings = tuple(
        FindingEntry(f.requirement_id, f.auditor, f.verdict, f.severity, f.comment, f.recorded_at)
        for f in review.findings_of(assessment.id)
    )
    trail = tuple(
        trail_entry(e.seq, e.at, e.actor, e.action, e.object_type, e.object_id, e.before, e.after)
        for e in audit.for_assessment(assessment.id)
    )
    trend = trends.scope_trend(assessment.scope, state.framework.id, until=assessment.as_of)
    return build_report(
        state.framework,
        answers,
        meta,
        as_of=assessment.as_of,
        target_level=assessment.target_level,
        backlog=backlog,
        evidence_files=files,
        findings=findings,
        trail=trail,
        comparison=_with_previous(assessment, state.card),
        trend_svg=trend.svg if len(trend.assessments) >= 2 else None,
        trend_caption=_trend_caption(trend, state.framework.is_maturity),
        trail_anchor=audit.head(),
    )


def _with_previous(assessment: Assessment, card: Scorecard) -> CycleComparison | None:
    """The cycle this assessment was started from (before) against this one (after), or None."""
    previous = db.session.get(Assessment, assessment.previous_id) if assessment.previous_id else None
    if previous is None or previous.framework_version.framework_id != card.framework.id:
        return None
    comparison = compare(load_state(previous).card, card)
    return CycleComparison(previous.as_of, previous.framework_version.label, comparison)


def _trend_caption(trend: trends.ScopeTrend, maturity: bool) -> str | None:
    """What the trend chart of a report shows, in a sentence."""
    cycles = trend.assessments
    if len(cycles) < 2:
        return None
    labelled = ", labelled with its level" if maturity else ""
    return (
        f"{trend.title}: the overall score (the bold line{labelled}) and each domain's score over the scope's "
        f"{len(cycles)} cycles up to this one, {cycles[0].as_of.isoformat()} to {cycles[-1].as_of.isoformat()}. "
        "The application's trend page draws the same chart."
    )


def fingerprint(assessment: Assessment, kind: str) -> str:
    """What a rendered report depends on: the assessment's last change, its review, its backlog's
    last change, the last entry of its trail that records a change rather than a read, and the
    last change of the scope's cycles it compares with or draws in its trend."""
    backlog = db.session.execute(
        select(func.count(BacklogItem.id), func.max(BacklogItem.updated_at)).where(
            BacklogItem.scope_id == assessment.scope_id,
            BacklogItem.framework_id == assessment.framework_version.framework_id,
        )
    ).one()
    findings = db.session.execute(
        select(func.count(ReviewFinding.id), func.max(ReviewFinding.recorded_at)).where(
            ReviewFinding.assessment_id == assessment.id
        )
    ).one()
    # The other cycles the report shows: its previous cycle, and the trend's cycles up to its as-of
    # date. Any change to one touches its updated_at; a removed or added one changes the count.
    shown = (
        select(Assessment.id)
        .join(FrameworkVersion, Assessment.framework_version_id == FrameworkVersion.id)
        .where(
            Assessment.scope_id == assessment.scope_id,
            FrameworkVersion.framework_id == assessment.framework_version.framework_id,
            or_(Assessment.as_of <= assessment.as_of, Assessment.id == assessment.previous_id),
        )
    )
    cycles = db.session.execute(
        select(func.count(Assessment.id), func.max(Assessment.updated_at)).where(Assessment.id.in_(shown))
    ).one()
    # The last entry recording a change (not a read) to this assessment or a cycle it shows: updated_at
    # has whole seconds, so two changes within one second would otherwise leave the fingerprint alone.
    last_change = db.session.scalar(
        select(func.max(AuditEntry.seq)).where(
            or_(AuditEntry.assessment_id == assessment.id, AuditEntry.assessment_id.in_(shown)),
            *(AuditEntry.action.not_like(f"%{suffix}") for suffix in READ_ACTIONS),
        )
    )
    raw = "|".join(
        str(part)
        for part in (
            assessment.id,
            kind,
            assessment.updated_at.isoformat(),
            assessment.status,
            backlog[0],
            backlog[1],
            assessment.approved_by,
            assessment.approved_at,
            findings[0],
            findings[1],
            last_change,
            assessment.previous_id,
            cycles[0],
            cycles[1],
        )
    )
    return hashlib.sha256(raw.encode()).hexdigest()


def request_report(assessment: Assessment, kind: str, user: str) -> ReportJob:
    """The job that renders (or rendered) this report: a finished one is reused while unchanged."""
    if kind not in REPORT_KINDS:
        raise InvalidInput(f"Unknown report kind {kind!r}; choose one of {', '.join(REPORT_KINDS)}.")
    mark = fingerprint(assessment, kind)
    existing = db.session.scalars(
        select(ReportJob)
        .where(ReportJob.fingerprint == mark, ReportJob.status.in_(("queued", "running", "done")))
        .order_by(ReportJob.id.desc())
    ).first()
    if existing is not None and (existing.status != "done" or _file(current_app, existing).is_file()):
        return existing
    job = ReportJob(assessment_id=assessment.id, kind=kind, fingerprint=mark, requested_by=user)
    db.session.add(job)
    db.session.flush()
    return job


def start(job: ReportJob) -> None:
    """Render the job after the request's transaction commits (synchronously when REPORTS_SYNC is set)."""
    app = current_app._get_current_object()
    if job.status != "queued":
        return
    if app.config.get("REPORTS_SYNC"):
        run_job(app, job.id)
    else:
        _pool().submit(run_job, app, job.id)


def _file(app: Flask, job: ReportJob) -> Path:
    return Path(app.instance_path) / "reports" / (job.file_name or f"job-{job.id}")


def _progress(job: ReportJob, value: int, message: str) -> None:
    job.progress, job.message = value, message
    db.session.commit()


def run_job(app: Flask, job_id: int) -> None:
    """Render one report job in its own application context and session."""
    with app.app_context():
        job = db.session.get(ReportJob, job_id)
        if job is None or job.status != "queued":
            return
        job.status = "running"
        _progress(job, 5, "Reading the assessment")
        try:
            from reports.render import render_pdf

            pool.warm()  # ready workers are reused; new ones load WeasyPrint while the assessment is read

            store = store_of(app)
            report = report_for(get_assessment(job.assessment_id), job.requested_by, store)
            _progress(job, 20, f"Rendering {len(report.card.requirements):,} requirements to PDF")
            pdf = render_pdf(report)
            if job.kind == "bundle":
                _progress(job, 80, "Packing the evidence bundle")
                data = _bundle_bytes(report, pdf)
                name = f"{job.id}-{report.id}.zip"
            else:
                data, name = pdf, f"{job.id}-{report.id}.pdf"
            job.file_name = name
            _write(_file(app, job), data)
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
    import io

    from reports.bundle import write_bundle

    buffer = io.BytesIO()
    write_bundle(report, pdf, buffer)
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def get_job(job_id: int) -> ReportJob:
    """A report job, or NotFound."""
    job = db.session.get(ReportJob, job_id)
    if job is None:
        raise NotFound("No such report.")
    return job


def record_download(job: ReportJob, assessment: Assessment) -> None:
    """A report or bundle (with every evidence file) was downloaded: the trail says who took it."""
    from . import audit

    audit.about(
        assessment,
        "report.downloaded",
        "report",
        job.report_id or job.id,
        after={"kind": job.kind, "report_id": job.report_id},
    )


def record_export(assessment: Assessment, name: str, filters: dict[str, str] | None = None) -> None:
    """An export (results or backlog as CSV or XLSX, the score JSON) was downloaded: the trail says who took it."""
    after: dict = {"file": name}
    if filters:
        after["filters"] = filters
    audit.about(assessment, "export.downloaded", "export", f"{assessment.id}/{name}", after=after)


def job_file(job: ReportJob) -> Path:
    """The rendered file of a finished job, or NotFound."""
    path = _file(current_app, job)
    if job.status != "done" or not path.is_file():
        raise NotFound("This report is not ready.")
    return path
