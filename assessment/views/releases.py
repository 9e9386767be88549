"""A production deployment's release review (delivery-events.md, section 4) and a service's gates."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, redirect, render_template, request, url_for

from ..domain.delivery import Window
from ..extensions import db
from ..forms import ActionForm
from ..readmodels.delivery_metrics import scope_index
from ..readmodels.release_reviews import gates_page, release_facts
from ..services import access
from ..services import releases as releases_svc
from ..services.errors import InvalidInput
from .common import current_user, parse_int, scope_for, user
from .formerrors import UNPROCESSABLE
from .messages import notify

bp = Blueprint("releases", __name__)

MAX_ID_LENGTH = 200  # an event id's column: anything longer names no deployment
GATE_DAYS = 90
MAX_GATE_DAYS = 3660


def _facts(scope_id: int, service: str, deployment_id: str):
    if len(service) > MAX_ID_LENGTH or len(deployment_id) > MAX_ID_LENGTH:
        abort(404)
    facts = release_facts(scope_index(scope_id), service, deployment_id)
    if facts is None:
        abort(404)  # not a live production deployment of that service
    return facts


def _render(scope, facts, *, values=None, errors=None, status: int = 200):
    review = releases_svc.review_of(scope.id, facts.deployment)
    if values is None:
        values = {name: (getattr(review, name) if review else "") for name, _label in releases_svc.QUESTIONS}
    item_url = None
    if review is not None and review.backlog_item_id is not None:
        item_url = url_for("backlog.index", assessment_id=_item_assessment(review.backlog_item_id)) + (
            f"#item-{review.backlog_item_id}"
        )
    return render_template(
        "releases/review.html",
        scope=scope,
        facts=facts,
        review=review,
        questions=[(name, label, values.get(name, "")) for name, label in releases_svc.QUESTIONS],
        errors=errors or {},
        item_url=item_url,
        may_write=user().role in access.SCOPE_ACTIONS["delivery"],
        max_answer=releases_svc.MAX_ANSWER,
        form=ActionForm(),
    ), status


def _item_assessment(item_id: int) -> int | None:
    from ..models import BacklogItem

    item = db.session.get(BacklogItem, item_id)
    return None if item is None else item.assessment_id


@bp.get("/scopes/<int:scope_id>/delivery/<service>/releases/<path:deployment_id>")
def review(scope_id: int, service: str, deployment_id: str):
    """The release review, prefilled from the delivery events, and the team's checklist below."""
    scope = scope_for(scope_id)
    return _render(scope, _facts(scope_id, service, deployment_id))


@bp.post("/scopes/<int:scope_id>/delivery/<service>/releases/<path:deployment_id>")
def save(scope_id: int, service: str, deployment_id: str):
    """Keep the checklist answers; with "Add to the backlog", also turn the one change into a backlog item."""
    scope = scope_for(scope_id, "delivery")
    facts = _facts(scope_id, service, deployment_id)
    values = {name: request.form.get(name, "") for name, _label in releases_svc.QUESTIONS}
    item = None
    try:
        saved = releases_svc.save_review(scope, service, facts.deployment, values, current_user())
        if request.form.get("to_backlog"):
            item = releases_svc.add_to_backlog(scope, saved, current_user())
    except InvalidInput as error:
        db.session.rollback()
        return _render(scope, facts, values=values, errors={error.field or "form": error.message}, status=UNPROCESSABLE)
    if item is not None:
        notify(f"Review saved; its one change is backlog item {item.id}.")
    else:
        notify("Review saved.")
    return redirect(url_for("releases.review", scope_id=scope_id, service=service, deployment_id=deployment_id))


@bp.get("/scopes/<int:scope_id>/delivery/<service>/gates")
def gates(scope_id: int, service: str):
    """Each gate of the service's production deployments over the last `days` (90 by default)."""
    scope = scope_for(scope_id)
    if len(service) > MAX_ID_LENGTH:
        abort(404)
    try:
        days = parse_int(request.args.get("days"), "Days") or GATE_DAYS
    except InvalidInput:
        days = GATE_DAYS
    days = min(max(days, 1), MAX_GATE_DAYS)
    events = scope_index(scope_id)
    as_of = _as_of(request.args.get("as_of")) or dt.date.today()
    page = gates_page(events, service, Window.ending(as_of, days))
    return render_template("releases/gates.html", scope=scope, page=page, days=days)


def _as_of(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "")[:10]) if raw else None
    except ValueError:
        return None
