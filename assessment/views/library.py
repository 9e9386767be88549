"""The framework library: the frameworks this instance ships and their contents."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template

from ..services.library import library_summaries, read_library

bp = Blueprint("library", __name__)


@bp.get("/")
def index():
    """List the library's frameworks, and any file that fails validation."""
    summaries, problems = library_summaries(Path(current_app.config["LIBRARY_DIR"]))
    return render_template("library/index.html", frameworks=summaries, problems=problems)


@bp.get("/frameworks/<framework_id>")
def detail(framework_id: str):
    """One framework: levels, domains, requirements and guidance."""
    frameworks, _ = read_library(Path(current_app.config["LIBRARY_DIR"]))
    framework = next((f for f in frameworks if f.id == framework_id), None)
    if framework is None:
        abort(404)
    return render_template("library/detail.html", framework=framework)
