"""The improvement loop across cycles: the next cycle, confirming carried-over answers, comparing
two assessments, trends per scope and per framework, and a scope's state on a past date."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..app import on_failure
from ..downloads import evidence_store
from ..extensions import db
from ..models import Assessment
from ..services import access, cycles
from ..services import assessments as svc
from ..services.errors import NotFound
from .common import assessment_for, current_user, parse_date, parse_id, parse_int, scope_for, user

bp = Blueprint("cycles", __name__)


@bp.post("/assessments/<int:assessment_id>/next-cycle")
def next_cycle(assessment_id: int):
    """Start the scope's next assessment from this one: answers and evidence carried over."""
    previous = assessment_for(assessment_id)
    scope_for(previous.scope_id, "start")
    report = cycles.start_next_cycle(
        previous,
        cycles.chosen_version(parse_id(request.form.get("framework_version"), "Framework version")),
        parse_int(request.form.get("target_level"), "Target level"),
        parse_date(request.form.get("as_of"), "As of"),
        store=evidence_store(),
        actor=current_user(),
        on_stored=lambda stored: on_failure(lambda: evidence_store().discard(stored)),
    )
    parts = [f"Next cycle started: {report.carried} answer(s) and {report.links} evidence link(s) carried over"]
    if report.added or report.removed:
        parts.append(f"{len(report.added)} requirement(s) new in this version, {len(report.removed)} removed")
    if report.dropped:
        parts.append(f"{len(report.dropped)} answer(s) no longer valid and left blank")
    flash("; ".join(parts) + ". Confirm or change each carried-over answer.")
    return redirect(url_for("assessments.domain", assessment_id=report.assessment.id, index=0))


@bp.post("/assessments/<int:assessment_id>/domains/<int:index>/confirm")
def confirm_domain(assessment_id: int, index: int):
    """Confirm every carried-over answer of one domain page as it stands."""
    assessment = assessment_for(assessment_id, "answer")
    framework = svc.framework_of(assessment.framework_version)
    if not 0 <= index < len(framework.domains):
        raise NotFound(f"This framework has no domain {index}.")
    ids = [r.id for r in framework.domains[index].requirements]
    count = cycles.confirm(assessment, ids, current_user())
    flash(f"{count} carried-over answer(s) confirmed.")
    return redirect(url_for("assessments.domain", assessment_id=assessment_id, index=index))


def today() -> dt.date:
    return dt.date.today()


def cycle_panel(assessment: Assessment) -> dict:
    """The results page's view of the loop: where this cycle came from, what follows, what to start."""
    previous = db.session.get(Assessment, assessment.previous_id) if assessment.previous_id else None
    following = db.session.scalars(select(Assessment).where(Assessment.previous_id == assessment.id)).all()
    carried = len(cycles.carried_over_ids(assessment)) if previous else 0  # only a next cycle carries answers
    may_start = cycles.may_start_next(user(), assessment)
    started = cycles.carry_report_of(assessment) if previous else None
    return {
        "started": started,
        "previous": previous,
        "following": following,
        "carried": carried,
        "may_start": may_start,
        "versions": cycles.version_choices(assessment) if may_start else [],
        "today": today(),
    }


# --- comparison and trends -----------------------------------------------------------------------


@bp.get("/assessments/<int:assessment_id>/compare")
def compare(assessment_id: int):
    """This assessment against another of the same scope (by default the cycle it started from)."""
    from ..domain.compare import compare as compare_cards

    assessment = assessment_for(assessment_id)
    other_id = parse_id(request.args.get("other"), "Other assessment") or assessment.previous_id
    if other_id is None:
        raise NotFound("This assessment has no earlier cycle to compare with; choose one.")
    before, after = cycles.comparable(assessment, assessment_for(other_id))
    comparison = compare_cards(svc.load_state(before).card, svc.load_state(after).card)
    choices = cycles.comparison_choices(assessment)
    return render_template(
        "cycles/compare.html",
        before=before,
        after=after,
        assessment=assessment,
        comparison=comparison,
        choices=choices,
        show=request.args.get("show", "changed"),
    )


@bp.get("/scopes/<int:scope_id>/trends")
def scope_trends(scope_id: int):
    """A scope's overall and per-domain scores and levels over its cycles of one framework."""
    from ..readmodels import trends

    scope = scope_for(scope_id)
    frameworks = trends.frameworks_of_scope(scope.id)
    if not frameworks:
        return render_template("cycles/scope_trends.html", scope=scope, trend=None, frameworks=[])
    framework_id = request.args.get("framework") or frameworks[0][0]
    trend = trends.scope_trend(scope, framework_id)
    return render_template("cycles/scope_trends.html", scope=scope, trend=trend, frameworks=frameworks)


@bp.get("/library/<framework_id>/trends")
def framework_trends(framework_id: str):
    """One framework across every scope the person may see: averages per quarter, and each scope's line."""
    from ..readmodels import trends

    me = user()
    trend = trends.framework_trend(framework_id, access.visible_scope_ids(me) if me.role != "auditor" else [])
    return render_template("cycles/framework_trends.html", trend=trend)


@bp.get("/scopes/<int:scope_id>/as-of")
def as_of(scope_id: int):
    """The scope's assessments as they stood at the end of a past day, replayed from the audit trail."""
    from ..readmodels import history

    scope = scope_for(scope_id)
    day = parse_date(request.args.get("date"), "Date") or today()
    states = history.scope_as_of(scope, day)
    return render_template("cycles/as_of.html", scope=scope, day=day, states=states)
