"""Submitting, approving and returning an assessment; sharing it with auditors; auditors' findings."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, redirect, request, url_for

from ..domain.display import one_decimal
from ..models import Assessment, User
from ..services import access, accounts, review
from ..services import assessments as svc_assessments
from ..services.errors import InvalidInput
from ..services.library import framework_of
from .common import assessment_for, current_user
from .confirm import confirmation, confirmed
from .formerrors import UNPROCESSABLE, FormErrors, abandon_changes
from .messages import notify

bp = Blueprint("review", __name__)


@dataclass
class ReviewPanel:
    """What the results page shows and offers about review, for the signed-in person."""

    assessment: Assessment
    can_submit: bool
    can_review: bool
    can_share: bool
    can_record: bool
    can_backlog: bool
    findings: list[review.FindingView]
    shared_with: list[User] = field(default_factory=list)
    auditors: list[User] = field(default_factory=list)
    requirements: list[tuple[str, str]] = field(default_factory=list)


def review_panel(user: User, assessment: Assessment) -> ReviewPanel:
    """The review section of the results page."""
    can_share = access.allowed(user, assessment, "share")
    can_record = access.allowed(user, assessment, "findings") and assessment.status in ("submitted", "approved")
    panel = ReviewPanel(
        assessment=assessment,
        can_submit=access.allowed(user, assessment, "submit") and assessment.editable,
        can_review=access.allowed(user, assessment, "review") and assessment.status == "submitted",
        can_share=can_share,
        can_record=can_record,
        can_backlog=access.allowed(user, assessment, "backlog"),
        findings=review.findings_of(assessment.id),
    )
    if can_share:
        panel.shared_with = review.shared_with(assessment)
        panel.auditors = [u for u in accounts.users_with_role("auditor") if u not in panel.shared_with]
    if can_record:
        framework = framework_of(assessment.framework_version)
        panel.requirements = [(r.id, r.title) for r in framework.requirements]
    return panel


def _to_results(assessment_id: int, anchor: str = "review"):
    return redirect(url_for("assessments.results", assessment_id=assessment_id) + f"#{anchor}")


def _results_url(assessment_id: int, anchor: str = "review") -> str:
    return url_for("assessments.results", assessment_id=assessment_id) + f"#{anchor}"


def _form_again(assessment_id: int, field_id: str, message: str):
    """The results page again (422) with the form that failed, its values and `message` beside `field_id`."""
    from .assessments import results_response  # the results page is that blueprint's; it imports this one

    abandon_changes()
    errors = FormErrors(values=request.form)
    errors.add(field_id, message)
    return results_response(svc_assessments.get_assessment(assessment_id), errors, UNPROCESSABLE)


def progress_of(assessment: Assessment) -> tuple[int, int, str]:
    """(unanswered, total, completion %) of an assessment, as its confirmations state them."""
    card = svc_assessments.load_state(assessment).card
    counts = card.counts
    total = sum(counts.as_dict().values())
    return counts.unanswered, total, one_decimal(card.completion)


@bp.post("/assessments/<int:assessment_id>/submit")
def submit(assessment_id: int):
    """Send the assessment for review; with questions unanswered, only once that is confirmed."""
    assessment = assessment_for(assessment_id, "submit")
    unanswered, total, completion = progress_of(assessment)
    if unanswered and not confirmed():
        return confirmation(
            title=f"Submit with {unanswered} of {total} questions unanswered?",
            meaning=[
                f"{completion} % complete: {unanswered} of {total} questions have no answer; they count as not met.",
                "Submitting freezes the answers and evidence until a program lead returns the assessment.",
            ],
            action=url_for("review.submit", assessment_id=assessment_id),
            confirm_label="Submit for review anyway",
            cancel=url_for("assessments.domain", assessment_id=assessment_id, index=0),
            danger=False,
        )
    try:
        review.submit(assessment, current_user())
    except review.CarriedOver as error:  # carried-over answers: say so beside the button, with the way to them
        return _form_again(assessment_id, "submit-button", error.message)
    notify("Submitted for review. Answers and evidence are read-only until a program lead returns it.")
    return _to_results(assessment_id)


@bp.post("/assessments/<int:assessment_id>/approve")
def approve(assessment_id: int):
    """Approve a submitted assessment once confirmed; it is locked from now on."""
    assessment = assessment_for(assessment_id, "review")
    if not confirmed():
        unanswered, total, completion = progress_of(assessment)
        return confirmation(
            title="Approve and lock this assessment?",
            meaning=[
                f"{completion} % complete, {unanswered} of {total} questions unanswered.",
                "Approving locks the answers and evidence for good: nobody can change them afterwards; "
                "changes need the next cycle.",
                "Its reports name you as the approver.",
            ],
            action=url_for("review.approve", assessment_id=assessment_id),
            confirm_label="Approve and lock",
            cancel=_results_url(assessment_id),
        )
    review.approve(assessment, current_user())
    notify("Approved. The assessment is locked; its reports name you as the approver.")
    return _to_results(assessment_id)


@bp.post("/assessments/<int:assessment_id>/return")
def return_for_changes(assessment_id: int):
    """Return a submitted assessment to its team with comments, once confirmed."""
    assessment = assessment_for(assessment_id, "review")
    try:
        comment = review.return_comment(request.form.get("comment"))
    except InvalidInput as error:
        return _form_again(assessment_id, "return-comment", error.message)
    if not confirmed():
        return confirmation(
            title="Return this assessment to its team?",
            meaning=[
                "The team can change answers and evidence again; it goes back to review when they submit it.",
                f"Your comments: “{comment}”",
            ],
            action=url_for("review.return_for_changes", assessment_id=assessment_id),
            confirm_label="Return for changes",
            cancel=_results_url(assessment_id),
            fields=[("comment", comment)],
        )
    review.return_for_changes(assessment, current_user(), comment)
    notify("Returned to the team with your comments.")
    return _to_results(assessment_id)


@bp.post("/assessments/<int:assessment_id>/shares")
def share(assessment_id: int):
    """Share the assessment with an auditor."""
    assessment = assessment_for(assessment_id, "share")
    auditor = review.share(assessment, request.form.get("username", ""), current_user())
    notify(f"Shared with {auditor.display_name} ({auditor.username}).")
    return _to_results(assessment_id)


@bp.post("/assessments/<int:assessment_id>/shares/<int:user_id>/remove")
def unshare(assessment_id: int, user_id: int):
    """Withdraw an auditor's access."""
    assessment = assessment_for(assessment_id, "share")
    review.unshare(assessment, user_id)
    notify("The auditor no longer sees this assessment.")
    return _to_results(assessment_id)


# The finding form's fields and the ids their errors point at.
FINDING_FIELDS = {"verdict": "finding-verdict", "severity": "finding-severity", "comment": "finding-comment"}


@bp.post("/assessments/<int:assessment_id>/findings")
def record_finding(assessment_id: int):
    """Record an auditor's verdict on one requirement: verified, or a finding with a severity."""
    assessment = assessment_for(assessment_id, "findings")
    requirement_id = (request.form.get("requirement_id") or "").strip()
    try:
        review.record_finding(
            assessment,
            requirement_id,
            current_user(),
            request.form.get("verdict", ""),
            request.form.get("severity"),
            request.form.get("comment"),
        )
    except InvalidInput as error:
        return _form_again(assessment_id, FINDING_FIELDS.get(error.field or "", "finding-verdict"), error.message)
    notify(f"Review of {requirement_id} recorded.")
    return _to_results(assessment_id, "findings")
