"""Scopes (teams, systems, services) and starting their assessments."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from ..app import on_failure
from ..downloads import evidence_store
from ..extensions import db
from ..forms import ScopeForm, StartAssessmentForm
from ..models import FrameworkVersion
from ..readmodels.inbox import Inbox, inbox_for
from ..services import access, accounts, delivery, review
from ..services import assessments as svc
from ..services.errors import InvalidInput, NotFound
from ..services.evidence import scope_evidence
from ..services.library import latest_versions
from .common import current_user, parse_date, parse_id, parse_int, scope_for, user
from .formerrors import UNPROCESSABLE, FormErrors, abandon_changes
from .messages import notify

bp = Blueprint("scopes", __name__)


def _inbox() -> Inbox:
    """The signed-in person's inbox, built once a request (the home page and the navigation share it)."""
    if "inbox" not in g:
        g.inbox = inbox_for(user(), dt.date.today(), int(current_app.config["EXPIRING_WITHIN_DAYS"]))
    return g.inbox


def _waiting_count() -> int | None:
    """How many things wait for the signed-in person; None if the database cannot say (an error page
    must still render when the database is what failed)."""
    try:
        return _inbox().count
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("The navigation's inbox count could not be read")
        return None


@bp.app_context_processor
def _waiting() -> dict:
    """`waiting_count()` for the navigation (computed only where a page shows it)."""
    return {"waiting_count": _waiting_count}


@bp.get("/")
def home():
    """What waits for the signed-in person, then the scopes they work on (all, for admins and leads)
    and the assessments shared with them."""
    me = user()
    return render_template(
        "scopes/index.html",
        inbox=_inbox(),
        scopes=svc.list_scopes(access.visible_scope_ids(me), with_assessments=True),
        shared=svc.shared_assessments(me.id) if me.role == "auditor" else [],
        form=ScopeForm(),
    )


@bp.post("/scopes")
def create():
    """Add a scope."""
    access.require(user(), "create-scope")
    form = ScopeForm()
    if not form.validate_on_submit():
        raise InvalidInput(
            "The scope form could not be read: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items())
        )
    scope = svc.create_scope(form.name.data, form.kind.data, form.description.data)
    notify(f"Scope {scope.name} added.")
    return redirect(url_for("scopes.detail", scope_id=scope.id))


def _start_form() -> StartAssessmentForm:
    form = StartAssessmentForm()
    form.framework_version.choices = [(v.id, f"{v.title} ({v.label})") for v in latest_versions()]
    return form


@bp.get("/scopes/<int:scope_id>")
def detail(scope_id: int):
    """A scope: its assessments, its team, its evidence, and starting a new assessment."""
    return detail_response(scope_for(scope_id))


def detail_response(scope, errors: FormErrors | None = None, status: int = 200):
    """The scope page; with `errors`, its start or import form comes back as it was posted."""
    me = user()
    page = render_template(
        "scopes/detail.html",
        scope=scope,
        form=_start_form(),
        evidence=scope_evidence(scope),
        may_manage_team=me.role in access.SCOPE_ACTIONS["members"],
        candidates=[u for u in accounts.users_with_role("member") if u not in scope.members],
        services=delivery.services_of(scope.id),
        errors=errors,
    )
    return page, status


# The start form's fields and the ids their errors point at.
START_FIELDS = {
    "framework_version": "start-framework",
    "target_level": "start-target",
    "as_of": "start-as-of",
    "period_start": "start-period",
    "delivery_service": "start-service",
}


def _field(name: str, parse, label: str):
    try:
        return parse(request.form.get(name), label)
    except InvalidInput as error:
        raise InvalidInput(error.message, field=name) from None


@bp.post("/scopes/<int:scope_id>/assessments")
def start(scope_id: int):
    """Start an assessment of the scope."""
    scope = scope_for(scope_id, "start")
    form = _start_form()
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        raise InvalidInput("The form's security token is missing or expired; reload the page and try again.")
    version_id = parse_id(request.form.get("framework_version"), "Framework")
    version = db.session.get(FrameworkVersion, version_id) if version_id is not None else None
    if version is None:
        raise NotFound("Choose a framework from the library.")
    try:
        assessment = svc.start_assessment(
            scope,
            version,
            _field("target_level", parse_int, "Target level"),
            _field("as_of", parse_date, "As of"),
            _field("period_start", parse_date, "Period start"),
            delivery_service=request.form.get("delivery_service"),
            store=evidence_store(),
            actor=current_user(),
            on_stored=lambda stored: on_failure(lambda: evidence_store().discard(stored)),
        )
    except InvalidInput as error:
        abandon_changes()
        errors = FormErrors(values=request.form)
        errors.add(START_FIELDS.get(error.field or "", "start-framework"), error.message)
        return detail_response(scope_for(scope_id), errors, UNPROCESSABLE)
    notify(f"Started an assessment of {scope.name} against {version.title} {version.label}.")
    return redirect(url_for("assessments.domain", assessment_id=assessment.id, index=0))


@bp.post("/scopes/<int:scope_id>/members")
def add_member(scope_id: int):
    """Give a team member this scope."""
    scope = scope_for(scope_id, "members")
    member = review.add_member(scope, request.form.get("username", ""))
    notify(f"{member.display_name} now works on {scope.name}.")
    return redirect(url_for("scopes.detail", scope_id=scope_id) + "#team")


@bp.post("/scopes/<int:scope_id>/members/<int:user_id>/remove")
def remove_member(scope_id: int, user_id: int):
    """Take this scope away from a team member."""
    scope = scope_for(scope_id, "members")
    review.remove_member(scope, user_id)
    notify(f"The team member no longer works on {scope.name}.")
    return redirect(url_for("scopes.detail", scope_id=scope_id) + "#team")
