"""Accepting a suggested answer (services/suggestions.py): a plain form POST, so it works without JavaScript."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from ..services import assessments as svc
from ..services import suggestions as suggestion_svc
from .common import assessment_for, current_user, scope_for
from .messages import notify

bp = Blueprint("suggestions", __name__)


@bp.post("/assessments/<int:assessment_id>/suggestions/<path:requirement_id>/accept")
def accept(assessment_id: int, requirement_id: str):
    """Save the suggestion the server finds now for this requirement (never a value the form sent)."""
    assessment = assessment_for(assessment_id, "answer")
    framework = svc.framework_of(assessment.framework_version)
    requirement = framework.requirement_index.get(requirement_id)
    if requirement is None:
        abort(404)
    suggestion = suggestion_svc.accept(assessment, framework, requirement_id, current_user())
    notify(f"{requirement_id}: {suggestion.value} saved. {suggestion.provenance}.")
    index = next(i for i, d in enumerate(framework.domains) if d.id == requirement.domain_id)
    return redirect(
        url_for("assessments.domain", assessment_id=assessment_id, index=index) + f"#req-{requirement_id}", 303
    )


@bp.get("/scopes/<int:scope_id>/coverage")
def coverage(scope_id: int):
    """How far the scope's newest assessment of framework `from` covers framework `to`, through mappings."""
    scope = scope_for(scope_id)
    source = (request.args.get("from") or "").strip()[:63]
    target = (request.args.get("to") or "").strip()[:63]
    if not source or not target:
        abort(400, "Name two frameworks: ?from=<framework id>&to=<framework id>.")
    result = suggestion_svc.coverage(scope.id, source, target)
    return render_template("mappings/coverage.html", scope=scope, coverage=result, source=source, target=target)
