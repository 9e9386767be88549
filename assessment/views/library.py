"""The framework library as imported into this instance: frameworks, levels, domains, guidance.

Admins import a framework here from any source the converters read: the upload shows a preview
(nothing stored yet), whose "Store this framework" button stores it. The preview's text stays on the
server (services/framework_import.PendingImports); the button sends only a signed key naming it, so the
stored text is the one previewed, checked again, never one the browser sends.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from ..adapters.evidence_store import safe_filename
from ..domain.errors import InvalidFile
from ..domain.loader import load_framework_text
from ..domain.yamlread import MAX_FILE_BYTES
from ..extensions import db, report_store
from ..models import FrameworkVersion
from ..services import access
from ..services import framework_import as importing
from ..services.library import framework_of, latest_versions, store_framework, versions_of
from .common import parse_id, user
from .formerrors import UNPROCESSABLE, FormErrors, abandon_changes
from .messages import notify

bp = Blueprint("library", __name__)

PREVIEW_MAX_AGE = 3600  # seconds a preview may wait for its confirmation
ACCEPT = ".yaml,.yml,.csv,.xlsx,.json,.xml,.zip"


@bp.get("/library")
def index():
    """Every framework's newest version, and the import form for admins."""
    return _index()


def _index(errors: FormErrors | None = None, problems: list[str] | None = None, status: int = 200):
    may_import = access.may(user(), "library-import")
    page = render_template(
        "library/index.html",
        versions=latest_versions(),
        may_import=may_import,
        accept=ACCEPT,
        max_mb=MAX_FILE_BYTES // 2**20,
        errors=errors,
        problems=problems or [],
    )
    return page, status


@bp.post("/library/import")
def import_preview():
    """An uploaded source's preview: what it is, what it holds and what storing it would do; nothing is stored."""
    access.require(user(), "library-import")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refused("Choose a framework file (YAML, CSV, XLSX, JSON, XML or a ZIP of a folder) to upload.")
    name = safe_filename(upload.filename)
    data = upload.stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        return _refused(f"The file is larger than {MAX_FILE_BYTES // 2**20} MB; nothing was stored.", status=413)
    try:
        preview = importing.preview_upload(name, data)
        digest = _pending().keep(preview.text)
    except InvalidFile as error:
        problems = [str(problem) for problem in error.problems]
        count = len(problems)
        message = f"{name} cannot be imported: {count} problem{'s' if count != 1 else ''}; nothing was stored."
        return _refused(message, problems)
    key = importing.confirm_key(current_app.secret_key, digest, name)
    return render_template("library/preview.html", preview=preview, key=key)


@bp.post("/library/import/confirm")
def import_confirm():
    """Store a previewed framework, checked again, then show it in the library."""
    access.require(user(), "library-import")
    named = importing.read_confirm_key(current_app.secret_key, request.form.get("key", ""), PREVIEW_MAX_AGE)
    text = _pending().take(named[0]) if named else None
    if named is None or text is None:
        return _refused("This preview is unknown or has expired; upload the file again. Nothing was stored.")
    digest, name = named
    try:
        framework = load_framework_text(text, name)
    except InvalidFile as error:
        return _refused(f"{name} cannot be imported; nothing was stored.", [str(p) for p in error.problems])
    row, created = store_framework(framework, text, name)
    _pending().forget(digest)
    if created:
        notify(f"Stored {row.title} ({row.framework_id} {row.label}) in the library.")
    else:
        notify(f"{row.title} ({row.framework_id} {row.label}) was in the library already; nothing changed.")
    return redirect(url_for("library.detail", framework_id=row.framework_id, version=row.id), 303)


def _pending() -> importing.PendingImports:
    return importing.PendingImports(report_store(current_app).blobs, PREVIEW_MAX_AGE)


def _refused(message: str, problems: list[str] | None = None, status: int = UNPROCESSABLE):
    """The library page again with the message beside the file field (and every problem); nothing stored."""
    abandon_changes()
    errors = FormErrors()
    errors.add("import-file", message)
    return _index(errors, problems, status)


@bp.get("/library/<framework_id>")
def detail(framework_id: str):
    """One framework version: levels, domains, requirements and guidance."""
    versions = versions_of(framework_id)
    if not versions:
        abort(404)
    wanted = parse_id(request.args.get("version"), "Version")
    row = versions[0] if wanted is None else db.session.get(FrameworkVersion, wanted)
    if row is None or row.framework_id != framework_id:
        abort(404)
    return render_template("library/detail.html", row=row, framework=framework_of(row), versions=versions)
