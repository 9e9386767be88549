"""Export an assessment (answers file + evidence zip) and import one into a scope."""

from __future__ import annotations

import io

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for

from ..adapters import report_jobs
from ..adapters.evidence_store import safe_filename
from ..app import after_commit, on_failure
from ..downloads import evidence_store
from ..extensions import report_store
from ..services import access, transfer
from ..services import job_requests as job_svc
from ..services.errors import InvalidInput
from .common import assessment_for, current_user, scope_for, user
from .formerrors import UNPROCESSABLE, FormErrors, abandon_changes
from .messages import notify

bp = Blueprint("transfer", __name__)


@bp.get("/assessments/<int:assessment_id>/export.zip")
def export_assessment(assessment_id: int):
    """The assessment as framework.yaml + answers.yaml + evidence/ in a zip."""
    assessment = assessment_for(assessment_id)
    data = transfer.export_zip(assessment, evidence_store())
    transfer.record_export(assessment)
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{transfer.export_name(assessment)}.zip"'},
    )


@bp.post("/scopes/<int:scope_id>/import")
def import_assessment(scope_id: int):
    """Import an answers file (or a zip with its evidence) as a new assessment of the scope."""
    scope = scope_for(scope_id, "import")
    upload = request.files.get("file")
    try:
        size = _upload_size(upload)
        if size > current_app.config["IMPORT_INLINE_BYTES"]:  # large: a job imports it
            return redirect(url_for("transfer.import_job", job_id=_queue_import(scope, upload.filename, upload.stream)))
        result = _import(scope, upload)
    except InvalidInput as error:  # a bad file: the scope page again, the message beside the file field
        from .scopes import detail_response

        abandon_changes()
        errors = FormErrors(values=request.form)
        errors.add("upload-answers", error.message)
        return detail_response(scope_for(scope_id), errors, UNPROCESSABLE)
    notify(f"Imported {result.answers} answer(s) and {result.files} evidence file(s).")
    return redirect(url_for("assessments.results", assessment_id=result.assessment.id))


def _upload_size(upload) -> int:
    """The upload's size, or InvalidInput when there is none or it is over the import limit."""
    if upload is None or not upload.filename:
        raise InvalidInput("Choose an answers .yaml or .zip file to import.")
    limit = current_app.config["IMPORT_MAX_BYTES"]
    # Werkzeug has spooled the upload to a temporary file: measure it there, and let the import read it in chunks.
    upload.stream.seek(0, io.SEEK_END)
    size = upload.stream.tell()
    if size > limit:
        raise InvalidInput(f"The upload is larger than the import limit of {limit / 1024 / 1024:.0f} MB.")
    return size


def _import(scope, upload):
    stream = upload.stream
    stream.seek(0)
    store = evidence_store()
    result, stored = transfer.import_upload(
        scope, upload.filename, stream, store, current_user(), current_app.config["EVIDENCE_MAX_BYTES"]
    )
    on_failure(lambda: [store.discard(item) for item in stored])  # no commit, no files
    return result


def _queue_import(scope, filename: str, stream) -> int:
    """Keep the upload for a job that imports it, queued once this request commits; returns the job's id."""
    app = current_app._get_current_object()
    store = report_store(app)
    job = job_svc.request_import(scope, filename, stream, current_user(), store)
    on_failure(lambda: store.blobs.delete(job_svc.upload_key(job)))
    after_commit(lambda: report_jobs.start(app, job, store))
    return job.id


@bp.get("/imports/<int:job_id>")
def import_job(job_id: int):
    """A large import's progress (the page refreshes itself until it is done); once done, its results."""
    job = job_svc.get_job(job_id, job_svc.IMPORT)
    scope = access.scope_for(user(), job.scope_id, "import")
    if job.status == "done" and job.assessment_id is not None:
        notify(job.message or "Imported.")
        return redirect(url_for("assessments.results", assessment_id=job.assessment_id))
    return render_template("transfer/import_job.html", job=job, scope=scope)


@bp.get("/assessments/<int:assessment_id>/answers.<kind>")
def export_sheet(assessment_id: int, kind: str):
    """Every requirement and its answer as a spreadsheet to fill in (XLSX or CSV), for whoever reads the assessment."""
    from ..services import answer_sheets
    from ..services.reports import record_export

    assessment = assessment_for(assessment_id)
    if kind not in answer_sheets.FORMATS:
        abort(404)
    data = answer_sheets.export_sheet(assessment, kind)
    name = answer_sheets.sheet_name(assessment, kind)
    record_export(assessment, f"answers.{kind}")
    return Response(
        data, mimetype=answer_sheets.FORMATS[kind], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.post("/assessments/<int:assessment_id>/answers/sheet")
def import_sheet(assessment_id: int):
    """Save a filled-in answers sheet (XLSX or CSV) into the assessment: all of it, or nothing with every problem."""
    from ..domain.errors import InvalidFile
    from ..services import answer_sheets

    assessment = assessment_for(assessment_id, "answer")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _sheet_refused(assessment, "Choose a filled-in answers sheet (.xlsx or .csv) to import.")
    name = safe_filename(upload.filename)
    data = upload.stream.read(answer_sheets.MAX_SHEET_BYTES + 1)
    try:
        result = answer_sheets.import_sheet(assessment, name, data, current_user())
    except InvalidFile as error:
        problems = [str(problem) for problem in error.problems]
        count = len(problems)
        message = f"{name} was not imported: {count} problem{'s' if count != 1 else ''}; nothing was changed."
        return _sheet_refused(assessment, message, problems)
    except InvalidInput as error:  # not editable (submitted, approved) or a link the evidence rules refuse
        return _sheet_refused(assessment, f"{name} was not imported: {error.message} Nothing was changed.")
    notify(f"Imported {name}: {result.saved} answer(s) changed, {result.links} link(s) attached.")
    return redirect(url_for("assessments.results", assessment_id=assessment.id), 303)


def _sheet_refused(assessment, message: str, problems: list[str] | None = None):
    abandon_changes()
    page = render_template("transfer/sheet_refused.html", assessment=assessment, message=message, problems=problems)
    return page, UNPROCESSABLE
