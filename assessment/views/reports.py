"""Report downloads: PDF and evidence bundle rendered in the background, and quick exports."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, url_for

from ..adapters import report_jobs
from ..downloads import send_stored
from ..extensions import db, report_store
from ..services import reports as report_svc
from .common import assessment_for, current_user

bp = Blueprint("reports", __name__)

EXPORTS = {
    "requirements.csv": ("text/csv", "requirements_csv"),
    "backlog.csv": ("text/csv", "backlog_csv"),
    "results.xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "workbook_xlsx"),
    "score.json": ("application/json", "score_json"),
    "oscal-assessment-results.json": ("application/json", "oscal_assessment_results_json"),
    "oscal-poam.json": ("application/json", "oscal_poam_json"),
}


@bp.post("/assessments/<int:assessment_id>/reports/<kind>")
def request_report(assessment_id: int, kind: str):
    """Queue (or reuse) the PDF report or the evidence bundle, then show its progress."""
    assessment = assessment_for(assessment_id)
    job = report_svc.request_report(assessment, kind, current_user(), report_store(current_app))
    db.session.commit()  # named exception to one commit per request: the worker must find the job committed
    report_jobs.start(current_app._get_current_object(), job, report_store(current_app))
    return redirect(url_for("reports.job", job_id=job.id))


@bp.get("/reports/<int:job_id>")
def job(job_id: int):
    """A report's progress; the page refreshes itself (without JavaScript) until it is ready."""
    job = report_svc.get_job(job_id)
    assessment = assessment_for(job.assessment_id)
    return render_template("reports/job.html", job=job, assessment=assessment)


@bp.get("/reports/<int:job_id>/status")
def job_status(job_id: int):
    """A report's progress as JSON, for the page's script."""
    job = report_svc.get_job(job_id)
    assessment_for(job.assessment_id)
    return jsonify(
        status=job.status,
        progress=job.progress,
        message=job.message,
        download=url_for("reports.download", job_id=job.id) if job.status == "done" else None,
    )


@bp.get("/reports/<int:job_id>/download")
def download(job_id: int):
    """The rendered PDF or bundle, as an attachment."""
    job = report_svc.get_job(job_id)
    assessment = assessment_for(job.assessment_id)
    store = report_store(current_app)
    stored = report_svc.job_file(job, store)
    report_svc.record_download(job, assessment)
    name = report_svc.download_name(job, assessment)
    mimetype = "application/zip" if job.kind == "bundle" else "application/pdf"
    # a job's file never changes once rendered: its key is the ETag of a streamed one
    etag = True if isinstance(stored, Path) else store.key_of(job)
    return send_stored(stored, mimetype=mimetype, as_attachment=True, download_name=name, etag=etag)


@bp.get("/assessments/<int:assessment_id>/export/<name>")
def export(assessment_id: int, name: str):
    """Requirement results and backlog as CSV or XLSX, the score JSON of the spec, and OSCAL results and POA&M."""
    from reports import exports

    if name not in EXPORTS:
        return redirect(url_for("assessments.results", assessment_id=assessment_id))
    assessment = assessment_for(assessment_id)
    store = report_store(current_app)
    report = report_svc.report_for(assessment, store.evidence, for_export=True, **store.facts())
    mimetype, function = EXPORTS[name]
    data = getattr(exports, function)(report)
    report_svc.record_export(assessment, name)
    filename = f"{assessment.framework_version.framework_id}-{assessment.as_of.isoformat()}-{name}"
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
