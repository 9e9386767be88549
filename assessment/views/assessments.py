"""The questionnaire, answers, evidence and results of one assessment."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for

from reports.charts import domain_chart_svg

from ..app import on_failure
from ..domain import explain
from ..downloads import evidence_store, send_evidence
from ..forms import (
    ActionForm,
    EvidenceForm,
    note_field_id,
    note_field_name,
    questionnaire_form_class,
    revision_field_name,
    value_field_id,
    value_field_name,
)
from ..services import access, metric_answers
from ..services import assessments as svc
from ..services import evidence as evidence_svc
from ..services import suggestions as suggestion_svc
from ..services.errors import InvalidInput
from ..views.common import assessment_for, current_user, parse_date, parse_id, parse_int, user
from ..views.confirm import confirmation, confirmed
from ..views.cycles import cycle_panel
from ..views.formerrors import UNPROCESSABLE, FormErrors, abandon_changes
from ..views.markdown import render_markdown
from ..views.messages import Undo, notify
from ..views.presenters import questionnaire_page, results_page
from ..views.review import review_panel

bp = Blueprint("assessments", __name__)
bp.add_app_template_filter(render_markdown, "markdown")  # framework texts are Markdown (views/markdown.py)


def _domain_of(assessment_id: int, index: int, action: str = "read"):
    """The assessment (if the signed-in person may do `action`), its framework and domain `index`, or 404."""
    assessment = assessment_for(assessment_id, action)
    framework = svc.framework_of(assessment.framework_version)
    if not 0 <= index < len(framework.domains):
        abort(404)
    return assessment, framework, framework.domains[index]


@bp.get("/assessments/<int:assessment_id>")
def show(assessment_id: int):
    """An assessment opens on its first domain."""
    assessment_for(assessment_id)
    return redirect(url_for("assessments.domain", assessment_id=assessment_id, index=0))


@bp.get("/assessments/<int:assessment_id>/domains/<int:index>")
def domain(assessment_id: int, index: int):
    """One domain's page of the questionnaire."""
    assessment, framework, domain = _domain_of(assessment_id, index)
    state = svc.load_state(assessment, domain_id=domain.id)
    form = questionnaire_form_class(domain)(formdata=None)
    may_answer = _may_answer(assessment)
    page = questionnaire_page(state, framework, index, form, svc.answered_ids(assessment), may_answer=may_answer)
    # answers of the scope's other assessments to mapped requirements, for those who may answer here
    suggestions = suggestion_svc.suggestions_for(assessment, framework) if may_answer and assessment.editable else {}
    return render_template("assessments/questionnaire.html", page=page, form=form, suggestions=suggestions)


def _may_answer(assessment) -> bool:
    return access.allowed(user(), assessment, "answer")


@bp.post("/assessments/<int:assessment_id>/domains/<int:index>")
def save_domain(assessment_id: int, index: int):
    """Save every answer of a domain page (the no-JavaScript path), then go where the button said."""
    assessment, framework, domain = _domain_of(assessment_id, index, "answer")
    form = questionnaire_form_class(domain)()
    form.validate()  # the CSRF token was checked before the view; a field's own error keeps that answer back
    results = []
    rejected: dict[str, str] = {}
    errors = FormErrors(values=request.form)
    for requirement in domain.requirements:
        if value_field_name(requirement) not in request.form and note_field_name(requirement) not in request.form:
            continue
        try:
            for name in (value_field_name(requirement), note_field_name(requirement)):
                if form[name].errors:
                    raise InvalidInput(
                        f"{requirement.id}: {'; '.join(form[name].errors)}", field="note" if "/" in name else None
                    )
            seen = parse_int(request.form.get(revision_field_name(requirement)), f"{requirement.id} revision") or 0
            results.append(
                svc.save_answer(
                    assessment,
                    framework,
                    requirement.id,
                    request.form.get(value_field_name(requirement)),
                    request.form.get(note_field_name(requirement)),
                    seen,
                    current_user(),
                )
            )
        except InvalidInput as error:  # nothing of this answer was written: keep it back, save the others
            field_id = note_field_id(requirement) if error.field == "note" else value_field_id(requirement)
            errors.add(field_id, error.message)
            rejected[requirement.id] = field_id
    conflicts = {r.requirement_id: r for r in results if r.outcome == "conflict"}
    if conflicts or errors:
        state = svc.load_state(assessment, domain_id=domain.id)
        fresh = questionnaire_form_class(domain)(formdata=None)
        page = questionnaire_page(
            state,
            framework,
            index,
            fresh,
            svc.answered_ids(assessment),
            conflicts=conflicts,
            may_answer=True,
            errors=errors,
            rejected=rejected,
        )
        saved = sum(1 for r in results if r.outcome == "saved")
        if errors and saved:
            notify(f"{saved} answer{'s' if saved != 1 else ''} saved; the ones marked below were not.")
        status = 409 if conflicts and not errors else UNPROCESSABLE
        return render_template("assessments/questionnaire.html", page=page, form=fresh, errors=errors), status
    saved = sum(1 for r in results if r.outcome == "saved")
    notify(f"{saved} answer{'s' if saved != 1 else ''} saved." if saved else "No changes to save.")
    target = request.form.get("go", "")
    if target.startswith("evidence:") and target[len("evidence:") :] in {r.id for r in domain.requirements}:
        return redirect(
            url_for("assessments.evidence_page", assessment_id=assessment_id, requirement_id=target[len("evidence:") :])
        )
    if target == "results":
        return redirect(url_for("assessments.results", assessment_id=assessment_id))
    goto = parse_int(target, "destination") if target.isdigit() else index
    goto = min(max(goto, 0), len(framework.domains) - 1)
    return redirect(url_for("assessments.domain", assessment_id=assessment_id, index=goto, saved=len(results)))


@bp.post("/assessments/<int:assessment_id>/answers/<path:requirement_id>")
def save_answer(assessment_id: int, requirement_id: str):
    """Save one answer as it is given (the questionnaire's script calls this); JSON in, JSON out."""
    assessment = assessment_for(assessment_id, "answer")
    framework = svc.framework_of(assessment.framework_version)
    seen = parse_int(request.form.get("revision"), "revision") or 0
    result = svc.save_answer(
        assessment, framework, requirement_id, request.form.get("value"), request.form.get("note"), seen, current_user()
    )
    status = 409 if result.outcome == "conflict" else 200
    payload = {"outcome": result.outcome, "revision": result.revision}
    if result.outcome == "conflict":
        payload.update(
            theirs={"value": result.theirs_value, "note": result.theirs_note, "by": result.theirs_by},
            yours={"value": result.yours_value, "note": result.yours_note},
        )
    else:
        domain_id = framework.requirement_index[requirement_id].domain_id
        state = svc.load_state(assessment, domain_id=domain_id)
        r = state.result(requirement_id)
        progress = state.card.domains[0]
        payload.update(
            status=r.status,
            unsupported=r.unsupported,
            unsupported_reason=explain.claim_reason(r, assessment.as_of),
            answered=progress.counts.total - progress.counts.unanswered,
            total=progress.counts.total,
            # the whole assessment, for the sidebar's completion (the page is not reloaded)
            overall_answered=len(svc.answered_ids(assessment)),
            overall_total=len(framework.requirements),
        )
    return jsonify(payload), status


@bp.get("/assessments/<int:assessment_id>/requirements/<path:requirement_id>/evidence")
def evidence_page(assessment_id: int, requirement_id: str):
    """Add a file or a link to one requirement, or reuse evidence the scope already has."""
    return _evidence_page(assessment_for(assessment_id), requirement_id)


def _evidence_page(assessment, requirement_id: str, errors: FormErrors | None = None, status: int = 200):
    framework = svc.framework_of(assessment.framework_version)
    requirement = framework.requirement_index.get(requirement_id)
    if requirement is None:
        abort(404)
    state = svc.load_state(assessment, domain_id=requirement.domain_id)
    linked = state.evidence.get(requirement_id, [])
    linked_ids = {e.id for e in linked}
    reusable = [e for e in evidence_svc.scope_evidence_choices(assessment.scope_id) if e.id not in linked_ids]
    index = next(i for i, d in enumerate(framework.domains) if d.id == requirement.domain_id)
    page = render_template(
        "assessments/evidence.html",
        assessment=assessment,
        requirement=requirement,
        result=state.result(requirement_id),
        linked=linked,
        reusable=reusable,
        domain_index=index,
        editable=assessment.editable and _may_answer(assessment),
        locked=not assessment.editable,
        max_mb=current_app.config["EVIDENCE_MAX_BYTES"] / 1024 / 1024,
        errors=errors,
        file_again=bool(errors and request.files.get("file") and request.files["file"].filename),
    )
    return page, status


# The fields of the evidence form by name, and the ids their errors point at.
EVIDENCE_FIELDS = {
    "title": "ev-title",
    "file": "ev-file",
    "url": "ev-url",
    "effective": "ev-effective",
    "expires": "ev-expires",
}


@bp.post("/assessments/<int:assessment_id>/requirements/<path:requirement_id>/evidence")
def add_evidence(assessment_id: int, requirement_id: str):
    """Add a file or a link as evidence of a requirement; a bad field brings the form back as it was (422)."""
    assessment = assessment_for(assessment_id, "answer")
    form = EvidenceForm()
    errors = FormErrors(values=request.form)
    form.validate_on_submit()
    for name, messages in form.errors.items():
        if name in EVIDENCE_FIELDS and name not in ("effective", "expires"):  # parse_date says more, below
            errors.add(EVIDENCE_FIELDS[name], f"{form[name].label.text}: {'; '.join(messages)}")
    try:
        effective = _date_field("effective", "Effective date")
        expires = _date_field("expires", "Expiry date")
        if errors:
            raise InvalidInput(next(iter(errors.messages.values())))
        item = _add_evidence(assessment, requirement_id, effective, expires)
    except InvalidInput as error:
        abandon_changes()
        errors.add(EVIDENCE_FIELDS.get(error.field or "", "ev-file"), error.message)
        status = UNPROCESSABLE if error.status == 400 else error.status  # a file over the limit stays a 413
        return _evidence_page(svc.get_assessment(assessment_id), requirement_id, errors, status)
    shown = f": {item.original_name}" if item.original_name else f": {item.url}"
    notify(f"Evidence #{item.id} attached to {requirement_id}{shown}.")
    return _back_to_requirement(assessment_id, requirement_id)


def _date_field(name: str, label: str):
    try:
        return parse_date(request.form.get(name), label)
    except InvalidInput as error:
        raise InvalidInput(error.message, field=name) from None


def _add_evidence(assessment, requirement_id: str, effective, expires):
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        item, stored = evidence_svc.add_file(
            evidence_store(),
            assessment,
            requirement_id,
            upload.stream,
            upload.filename,
            request.form.get("title"),
            effective,
            expires,
            current_user(),
        )
        on_failure(lambda: evidence_store().discard(stored))  # no commit, no file
        return item
    if (request.form.get("url") or "").strip():
        return evidence_svc.add_link(
            assessment,
            requirement_id,
            request.form.get("url"),
            request.form.get("title"),
            effective,
            expires,
            current_user(),
        )
    raise InvalidInput("Choose a file or give a link.", field="file")


@bp.post("/assessments/<int:assessment_id>/requirements/<path:requirement_id>/evidence/reuse")
def reuse_evidence(assessment_id: int, requirement_id: str):
    """Let evidence the scope already holds support this requirement too (also the undo of a removal)."""
    assessment = assessment_for(assessment_id, "answer")
    evidence_id = parse_evidence_choice(request.form.get("evidence_id") or request.form.get("evidence"))
    item = evidence_svc.reuse(assessment, requirement_id, evidence_id)
    notify(f"Evidence #{item.id} ({item.title}) attached to {requirement_id}.")
    return _back_to_requirement(assessment_id, requirement_id)


@bp.post("/assessments/<int:assessment_id>/requirements/<path:requirement_id>/evidence/<int:evidence_id>/remove")
def remove_evidence(assessment_id: int, requirement_id: str, evidence_id: int):
    """Stop an evidence item supporting this requirement, once confirmed; the message offers to undo it."""
    assessment = assessment_for(assessment_id, "answer")
    item = evidence_svc.linked_item(assessment, requirement_id, evidence_id)
    back = _requirement_url(assessment_id, requirement_id)
    if item is None:  # removed already (a second click, another tab): nothing to confirm or do
        notify(f"Evidence #{evidence_id} no longer supports {requirement_id}.")
        return redirect(back)
    if not confirmed():
        return confirmation(
            title=f"Remove evidence #{item.id} from {requirement_id}?",
            meaning=[
                f"“{item.title}” will no longer support {requirement_id}; the requirement is scored without it.",
                "The item stays in the scope's evidence: you can attach it again "
                "(the message after removing offers an undo).",
            ],
            action=url_for(
                "assessments.remove_evidence",
                assessment_id=assessment_id,
                requirement_id=requirement_id,
                evidence_id=evidence_id,
            ),
            confirm_label="Remove the evidence",
            cancel=back,
        )
    evidence_svc.unlink(assessment, requirement_id, evidence_id)
    notify(
        f"Evidence #{item.id} ({item.title}) removed from {requirement_id}.",
        undo=Undo(
            url_for("assessments.reuse_evidence", assessment_id=assessment_id, requirement_id=requirement_id),
            "Undo",
            (("evidence_id", str(item.id)),),
        ),
    )
    return redirect(back)


def parse_evidence_choice(raw: str | None) -> int:
    """The evidence id from the reuse field: '#12 Title' (the list's format) or a bare number."""
    match = re.match(r"\s*#?(\d+)\b", raw or "")
    if match is None:
        raise InvalidInput("Choose the evidence to reuse from the list (#number and title).")
    return parse_id(match.group(1), "Evidence")  # type: ignore[return-value]  (the match is never empty)


def _requirement_url(assessment_id: int, requirement_id: str) -> str:
    framework = svc.framework_of(svc.get_assessment(assessment_id).framework_version)
    requirement = framework.requirement_index.get(requirement_id)
    if requirement is None:
        abort(404)
    index = next(i for i, d in enumerate(framework.domains) if d.id == requirement.domain_id)
    return url_for("assessments.domain", assessment_id=assessment_id, index=index) + f"#req-{requirement_id}"


def _back_to_requirement(assessment_id: int, requirement_id: str):
    return redirect(_requirement_url(assessment_id, requirement_id))


@bp.get("/evidence/<int:evidence_id>/download")
def download_evidence(evidence_id: int):
    """An evidence file, always as an attachment under its original name."""
    item = access.evidence_for(user(), evidence_id)
    return send_evidence(item, "This evidence is a link, not a file: its URL is shown where it is used.")


@bp.get("/assessments/<int:assessment_id>/results")
def results(assessment_id: int):
    """Overall and per-domain scores and levels, blockers, counts, gaps, review and findings."""
    return results_response(assessment_for(assessment_id))


def results_response(assessment, errors: FormErrors | None = None, status: int = 200):
    """The results page; with `errors`, a form of it (review, findings, period) comes back as it was posted."""
    state = svc.load_state(assessment)
    page = render_template(
        "assessments/results.html",
        page=results_page(state, all_gaps=request.args.get("gaps") == "all"),
        chart=domain_chart_svg(state.card),
        action_form=ActionForm(),
        review=review_panel(user(), assessment),
        cycle=cycle_panel(assessment),
        may_edit_period=assessment.editable and _may_answer(assessment),
        errors=errors,
    )
    return page, status


@bp.post("/assessments/<int:assessment_id>/period")
def set_period(assessment_id: int):
    """Change the first day of the assessment period (empty: the 90 days up to the as-of date)."""
    assessment = assessment_for(assessment_id, "answer")
    try:
        start = parse_date(request.form.get("period_start"), "Period start")
        svc.set_period_start(assessment, start)
    except InvalidInput as error:
        abandon_changes()
        errors = FormErrors(values=request.form)
        errors.add("period-start", error.message)
        return results_response(svc.get_assessment(assessment_id), errors, UNPROCESSABLE)
    notify(
        f"The assessment period now starts {start}."
        if start
        else "The assessment period is the 90 days up to the as-of date."
    )
    return redirect(url_for("assessments.results", assessment_id=assessment_id))


@bp.post("/assessments/<int:assessment_id>/delivery/refresh")
def refresh_measured(assessment_id: int):
    """Measure the metric questions again from the assessment's delivery service (overridden answers stay)."""
    assessment = assessment_for(assessment_id, "answer")
    refreshed = metric_answers.refresh_measured(assessment, current_user(), evidence_store())
    if refreshed.stored is not None:
        stored = refreshed.stored
        on_failure(lambda: evidence_store().discard(stored))  # no commit, no file
    notify(refreshed.sentence())
    back = request.form.get("back", "")
    if back.isdigit() and len(back) < 6:
        last = len(svc.framework_of(assessment.framework_version).domains) - 1
        return redirect(url_for("assessments.domain", assessment_id=assessment_id, index=min(int(back), last)))
    return redirect(url_for("assessments.results", assessment_id=assessment_id))
