"""Scopes (teams, systems, services) and starting their assessments."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ..extensions import db
from ..forms import ScopeForm, StartAssessmentForm
from ..models import FrameworkVersion
from ..services import assessments as svc
from ..services.errors import InvalidInput, NotFound
from ..services.evidence import scope_evidence
from ..services.library import latest_versions
from .common import parse_date, parse_int

bp = Blueprint("scopes", __name__)


@bp.get("/")
def home():
    """Scopes and their assessments."""
    return render_template("scopes/index.html", scopes=svc.list_scopes(), form=ScopeForm())


@bp.post("/scopes")
def create():
    """Add a scope."""
    form = ScopeForm()
    if not form.validate_on_submit():
        raise InvalidInput(
            "The scope form could not be read: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items())
        )
    scope = svc.create_scope(form.name.data, form.kind.data, form.description.data)
    db.session.commit()
    flash(f"Scope {scope.name} added.")
    return redirect(url_for("scopes.detail", scope_id=scope.id))


def _start_form() -> StartAssessmentForm:
    form = StartAssessmentForm()
    form.framework_version.choices = [(v.id, f"{v.title} ({v.label})") for v in latest_versions()]
    return form


@bp.get("/scopes/<int:scope_id>")
def detail(scope_id: int):
    """A scope: its assessments, its evidence, and starting a new assessment."""
    scope = svc.get_scope(scope_id)
    return render_template("scopes/detail.html", scope=scope, form=_start_form(), evidence=scope_evidence(scope))


@bp.post("/scopes/<int:scope_id>/assessments")
def start(scope_id: int):
    """Start an assessment of the scope."""
    scope = svc.get_scope(scope_id)
    form = _start_form()
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        raise InvalidInput("The form's security token is missing or expired; reload the page and try again.")
    version_id = parse_int(request.form.get("framework_version"), "Framework")
    version = db.session.get(FrameworkVersion, version_id) if version_id is not None else None
    if version is None:
        raise NotFound("Choose a framework from the library.")
    assessment = svc.start_assessment(
        scope,
        version,
        parse_int(request.form.get("target_level"), "Target level"),
        parse_date(request.form.get("as_of"), "As of"),
    )
    db.session.commit()
    return redirect(url_for("assessments.domain", assessment_id=assessment.id, index=0))


@bp.post("/me")
def set_name():
    """Remember the name to record on answers (accounts come later)."""
    from flask import session

    name = (request.form.get("name") or "").strip()[:200]
    if name:
        session["user_name"] = name
    back = request.referrer or ""
    return redirect(back if back.startswith(request.host_url) else url_for("scopes.home"))
