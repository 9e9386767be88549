"""The review workflow (draft → submitted → approved, or returned with comments), auditors'
findings, and who works on or may read what (scope teams, shares with auditors).

An approved assessment is final: nothing here or elsewhere changes its answers or evidence,
and there is no way back from approved. Changing it means assessing the scope again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select

from ..domain.events import StatusChanged
from ..extensions import db
from ..models import (
    SEVERITIES,
    VERDICTS,
    Assessment,
    AssessmentShare,
    AuditEntry,
    ReviewFinding,
    Scope,
    ScopeMember,
    User,
    utcnow,
)
from . import audit
from .assessments import lock_for_change, status_changed
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .library import framework_of

MAX_COMMENT = 10_000
REVIEWABLE = ("submitted", "approved")  # the statuses on which auditors record findings


def _hold(assessment: Assessment, allowed: tuple[str, ...], refusal: str) -> None:
    """Check the status where it cannot change any more (the transition's first write), then read
    the assessment as it now stands; Conflict with `refusal` (formatted with the status) otherwise."""
    lock_for_change(assessment, allowed, changed=False, refuse=lambda status: Conflict(refusal.format(status=status)))
    db.session.refresh(assessment)


def _status_change(assessment: Assessment, new: str, actor: str, **extra: str) -> None:
    before = assessment.status
    assessment.status = new
    assessment.updated_at = utcnow()
    status_changed(assessment)
    # Filed under the person who changed the status, also when a command or a test calls this:
    # separation of duties reads the submitters from these entries.
    audit.emit(assessment, StatusChanged(before, new, **extra), actor=actor)


class CarriedOver(Conflict):
    """Submitting is refused while answers carried over from the last cycle are unconfirmed."""


def submit(assessment: Assessment, actor: str) -> None:
    """A draft (or a returned assessment) goes to review; its answers freeze until returned."""
    _hold(
        assessment,
        ("draft", "returned"),
        "Only a draft or a returned assessment can be submitted; this one is {status}.",
    )
    from .cycles import carried_over_ids

    unconfirmed = carried_over_ids(assessment)
    if unconfirmed:
        listed = ", ".join(sorted(unconfirmed)[:10]) + (", …" if len(unconfirmed) > 10 else "")
        raise CarriedOver(
            f"{len(unconfirmed)} answer(s) are still carried over from the last cycle ({listed}): "
            "confirm or change them before submitting."
        )
    assessment.submitted_by, assessment.submitted_at = actor, utcnow()
    _status_change(assessment, "submitted", actor)


def submitters(assessment: Assessment) -> set[str]:
    """Everyone who submitted the assessment (each submission before a return counts), read from the
    actors of its trail's `assessment.submitted` entries."""
    names = set(
        db.session.scalars(
            select(AuditEntry.actor).where(
                AuditEntry.assessment_id == assessment.id, AuditEntry.action == "assessment.submitted"
            )
        )
    )
    return names | {assessment.submitted_by} if assessment.submitted_by else names


def approve(assessment: Assessment, actor: str) -> None:
    """Approve a submitted assessment: from now on it is locked for good.

    Nobody who submitted it may approve it, also when it was returned and someone else submitted it
    again (separation of duties); the submitters are read inside the approving transaction, once
    the status can no longer change.
    """
    _hold(assessment, ("submitted",), "Only a submitted assessment can be approved; this one is {status}.")
    if actor in submitters(assessment):
        raise Forbidden("You submitted this assessment; someone else must approve it (separation of duties).")
    assessment.approved_by, assessment.approved_at = actor, utcnow()
    assessment.review_comment = None
    _status_change(assessment, "approved", actor, approved_by=actor)
    # The approved cycle is the measurement the backlog answers to: close what it met, reopen what it did not.
    from .assessments import load_state
    from .backlog import reconcile

    reconcile(load_state(assessment), actor)


def return_comment(comment: str | None) -> str:
    """The reviewer's comment for the team, checked: returning needs one, of at most MAX_COMMENT characters."""
    comment = (comment or "").strip()
    if not comment:
        raise InvalidInput("Say what must change: returning an assessment needs a comment.", field="comment")
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"The comment is longer than {MAX_COMMENT:,} characters.", field="comment")
    return comment


def return_for_changes(assessment: Assessment, actor: str, comment: str | None) -> None:
    """Send a submitted assessment back to its team with the reviewer's comments."""
    _hold(assessment, ("submitted",), "Only a submitted assessment can be returned; this one is {status}.")
    comment = return_comment(comment)
    assessment.review_comment = comment
    _status_change(assessment, "returned", actor, comment=comment)


# --- auditors' findings -------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingView:
    """A finding as pages, reports and exports show it."""

    requirement_id: str
    auditor: str
    verdict: str
    severity: str | None
    comment: str | None
    recorded_at: dt.datetime  # UTC, to the minute

    @property
    def when(self) -> str:
        return self.recorded_at.strftime("%Y-%m-%d %H:%M")

    @property
    def label(self) -> str:
        return "Verified" if self.verdict == "verified" else f"Finding ({self.severity})"


def record_finding(
    assessment: Assessment, requirement_id: str, auditor: str, verdict: str, severity: str | None, comment: str | None
) -> ReviewFinding:
    """Record (or replace) this auditor's verdict on one requirement; answers are never touched."""
    not_yet = "Findings are recorded on a submitted or approved assessment; this one is still being answered."
    if assessment.status not in REVIEWABLE:
        raise Conflict(not_yet)
    if requirement_id not in framework_of(assessment.framework_version).requirement_index:
        raise NotFound(f"This assessment's framework has no requirement {requirement_id!r}.")
    if verdict not in VERDICTS:
        raise InvalidInput(f"A review is {' or '.join(VERDICTS)}; got {verdict!r}.", field="verdict")
    severity = (severity or "").strip() or None
    if verdict == "finding" and severity not in SEVERITIES:
        raise InvalidInput(f"A finding needs a severity: {', '.join(SEVERITIES)}.", field="severity")
    if verdict == "verified":
        severity = None
    comment = (comment or "").strip() or None
    if verdict == "finding" and comment is None:
        raise InvalidInput("A finding needs a comment saying what is wrong.", field="comment")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidInput(f"The comment is longer than {MAX_COMMENT:,} characters.", field="comment")
    # A return in flight must not let the finding land on an assessment being answered again.
    lock_for_change(assessment, REVIEWABLE, changed=False, refuse=lambda _status: Conflict(not_yet))
    row = db.session.scalar(
        select(ReviewFinding).where(
            ReviewFinding.assessment_id == assessment.id,
            ReviewFinding.requirement_id == requirement_id,
            ReviewFinding.auditor == auditor,
        )
    )
    before = None if row is None else {"verdict": row.verdict, "severity": row.severity, "comment": row.comment}
    if row is None:
        row = ReviewFinding(assessment_id=assessment.id, requirement_id=requirement_id, auditor=auditor)
        db.session.add(row)
    row.verdict, row.severity, row.comment, row.recorded_at = verdict, severity, comment, utcnow()
    db.session.flush()
    audit.about(
        assessment,
        "finding.recorded",
        "finding",
        f"{assessment.id}/{requirement_id}/{auditor}",
        before=before,
        after={"requirement": requirement_id, "verdict": verdict, "severity": severity, "comment": comment},
    )
    return row


def findings_of(assessment_id: int) -> list[FindingView]:
    """Every finding of an assessment, by requirement then auditor."""
    rows = db.session.scalars(
        select(ReviewFinding)
        .where(ReviewFinding.assessment_id == assessment_id)
        .order_by(ReviewFinding.requirement_id, ReviewFinding.auditor)
    )
    return [
        FindingView(r.requirement_id, r.auditor, r.verdict, r.severity, r.comment, _utc_minute(r.recorded_at))
        for r in rows
    ]


# --- teams and shares ---------------------------------------------------------------------------


def _utc_minute(moment: dt.datetime) -> dt.datetime:
    """A stored time (naive on SQLite, aware on PostgreSQL) as UTC, to the minute."""
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return moment.replace(second=0, microsecond=0)


def _user(username: str, role: str | None = None) -> User:
    from .accounts import get_user

    try:
        user = get_user(username)
    except NotFound:
        user = None
    if user is None or user.disabled:
        raise NotFound(f"There is no active user {username!r}.")
    if role is not None and user.role != role:
        raise InvalidInput(f"{user.username} is not {'an auditor' if role == 'auditor' else 'a team member'}.")
    return user


def add_member(scope: Scope, username: str) -> User:
    """Give a team member the scope (idempotent)."""
    user = _user(username, "member")
    if db.session.get(ScopeMember, (scope.id, user.id)) is None:
        db.session.add(ScopeMember(scope_id=scope.id, user_id=user.id))
        db.session.flush()
        audit.record("scope.member_added", "scope", scope.id, scope_id=scope.id, after={"member": user.username})
    return user


def remove_member(scope: Scope, user_id: int) -> None:
    """Take the scope away from a team member."""
    user = db.session.get(User, user_id)
    removed = db.session.execute(
        delete(ScopeMember).where(ScopeMember.scope_id == scope.id, ScopeMember.user_id == user_id)
    )
    if removed.rowcount and user is not None:
        audit.record("scope.member_removed", "scope", scope.id, scope_id=scope.id, before={"member": user.username})


def share(assessment: Assessment, username: str, actor: str) -> User:
    """Let an auditor read, download and review the assessment (idempotent)."""
    user = _user(username, "auditor")
    if db.session.get(AssessmentShare, (assessment.id, user.id)) is None:
        db.session.add(AssessmentShare(assessment_id=assessment.id, user_id=user.id, shared_by=actor))
        db.session.flush()
        audit.about(
            assessment,
            "assessment.shared",
            "assessment",
            assessment.id,
            after={"auditor": user.username},
        )
    return user


def unshare(assessment: Assessment, user_id: int) -> None:
    """Withdraw an auditor's access to the assessment."""
    user = db.session.get(User, user_id)
    removed = db.session.execute(
        delete(AssessmentShare).where(
            AssessmentShare.assessment_id == assessment.id, AssessmentShare.user_id == user_id
        )
    )
    if removed.rowcount and user is not None:
        audit.about(
            assessment,
            "assessment.unshared",
            "assessment",
            assessment.id,
            before={"auditor": user.username},
        )


def shared_with(assessment: Assessment) -> list[User]:
    """The auditors the assessment is shared with."""
    return list(
        db.session.scalars(
            select(User)
            .join(AssessmentShare, AssessmentShare.user_id == User.id)
            .where(AssessmentShare.assessment_id == assessment.id)
            .order_by(User.username)
        )
    )
