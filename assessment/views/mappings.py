"""The mapping sets page (/library/mappings): the imported sets, and an upload form for a new one (admins)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from ..domain.errors import InvalidFile
from ..services import access
from ..services import mappings as mapping_svc
from .common import current_user, user
from .formerrors import UNPROCESSABLE, FormErrors, abandon_changes
from .messages import notify

bp = Blueprint("mappings", __name__)


@bp.get("/library/mappings")
def index():
    """Every imported mapping set, newest first, and the upload form."""
    access.require(user(), "library-import")
    return render_template("mappings/index.html", sets=mapping_svc.list_sets(), errors=None, problems=[])


@bp.post("/library/mappings")
def upload():
    """Import an uploaded mapping file as one set; a file with any problem stores nothing and lists them all."""
    access.require(user(), "library-import")
    upload = request.files.get("file")
    errors = FormErrors(values=request.form)
    problems: list[str] = []
    if upload is None or not upload.filename:
        errors.add("file", "Choose a mapping file (CISO Assistant YAML or OSCAL JSON) to upload.")
    else:
        name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:200] or "upload"
        try:
            row = mapping_svc.import_mapping_file(upload.stream.read(), name, current_user())
        except InvalidFile as error:
            abandon_changes()
            problems = [str(p) for p in error.problems[:200]]
            errors.add("file", f"The file was not imported: {len(error.problems)} problem(s), listed below.")
        else:
            notify(f"Imported the mapping set {row.name} ({len(row.mappings)} mappings).")
            return redirect(url_for("mappings.index"), 303)
    sets = mapping_svc.list_sets()
    return render_template("mappings/index.html", sets=sets, errors=errors, problems=problems), UNPROCESSABLE
