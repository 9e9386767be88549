"""Submitting, approving and returning an assessment; sharing it with auditors; auditors' findings."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, flash, redirect, request, url_for

from ..models import Assessment, User
from ..services import access, accounts, review
from ..services.library import framework_of
from .common import assessment_for, current_user

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


@bp.post("/assessments/<int:assessment_id>/submit")
def submit(assessment_id: int):
    """Send the assessment for review."""
    assessment = assessment_for(assessment_id, "submit")
    review.submit(assessment, current_user())
    flash("Submitted for review. Answers and evidence are read-only until a program lead returns it.")
    return _to_results(assessment_id)


@bp.post("/assessments/<int:assessment_id>/approve")
def approve(assessment_id: int):
    """Approve a submitted assessment; it is locked from now on."""
    assessment = assessment_for(assessment_id, "review")
    review.approve(assessment, current_user())
    flash("Approved. The assessment is locked; its reports name you as the approver.")
    return _to_results(assessment_id)


@bp.post("/assessments/<int:assessment_id>/return")
def return_for_changes(assessment_id: int):
    """Return a submitted assessment to its team with comments."""
    assessment = assessment_for(assessment_id, "review")
    review.return_for_changes(assessment, current_user(), request.form.get("comment"))
    flash("Returned to the team with your comments.")
    return _to_results(assessment_id)


@bp.post("/assessments/<int:assessment_id>/shares")
def share(assessment_id: int):
    """Share the assessment with an auditor."""
    assessment = assessment_for(assessment_id, "share")
    auditor = review.share(assessment, request.form.get("username", ""), current_user())
    flash(f"Shared with {auditor.display_name} ({auditor.username}).")
    return _to_results(assessment_id)


@bp.post("/assessments/<int:assessment_id>/shares/<int:user_id>/remove")
def unshare(assessment_id: int, user_id: int):
    """Withdraw an auditor's access."""
    assessment = assessment_for(assessment_id, "share")
    review.unshare(assessment, user_id)
    return _to_results(assessment_id)


@bp.post("/assessments/<int:assessment_id>/findings")
def record_finding(assessment_id: int):
    """Record an auditor's verdict on one requirement: verified, or a finding with a severity."""
    assessment = assessment_for(assessment_id, "findings")
    requirement_id = (request.form.get("requirement_id") or "").strip()
    review.record_finding(
        assessment,
        requirement_id,
        current_user(),
        request.form.get("verdict", ""),
        request.form.get("severity"),
        request.form.get("comment"),
    )
    flash(f"Review of {requirement_id} recorded.")
    return _to_results(assessment_id, "findings")
