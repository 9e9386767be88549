"""The framework library as imported into this instance: frameworks, levels, domains, guidance."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from ..extensions import db
from ..models import FrameworkVersion
from ..services.library import framework_of, latest_versions, versions_of
from .common import parse_id

bp = Blueprint("library", __name__)


@bp.get("/library")
def index():
    """Every framework's newest version."""
    return render_template("library/index.html", versions=latest_versions())


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
