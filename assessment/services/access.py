"""Who may do what to which object: the one place the role table of the product lives.

| role    | may                                                                              |
| admin   | everything, including users and the framework library                            |
| lead    | read every scope; start assessments; review and approve; every backlog; sharing  |
| member  | only the scopes they belong to: start, answer, attach evidence, submit, backlog  |
| auditor | only assessments shared with them: read, download, record review findings        |
| anyone  | /healthz and /readyz (no sign-in); /metrics only with the METRICS_TOKEN bearer   |

An object the person may not read is reported as not found, exactly like a missing one, so ids
in URLs reveal nothing. An object they may read but not change gives a 403 naming the reason.
"""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Assessment, AssessmentShare, Evidence, EvidenceLink, Scope, ScopeMember, User
from .errors import Forbidden, NotFound

SCOPE_ACTIONS = {
    "read": ("admin", "lead", "member"),
    "start": ("admin", "lead", "member"),
    "import": ("admin", "lead", "member"),
    "backlog": ("admin", "lead", "member"),
    "delivery": ("admin", "lead", "member"),  # add delivery events; see the webhook secrets
    "members": ("admin", "lead"),
}
ASSESSMENT_ACTIONS = {
    "read": ("admin", "lead", "member", "auditor"),
    "answer": ("admin", "member"),
    "submit": ("admin", "member"),
    "review": ("admin", "lead"),
    "share": ("admin", "lead"),
    "findings": ("admin", "auditor"),
    "backlog": ("admin", "lead", "member"),
}
GLOBAL_ACTIONS = {
    "all-scopes": ("admin", "lead"),
    "create-scope": ("admin", "lead"),
    "users": ("admin",),
    "library-import": ("admin",),
    "audit-verify": ("admin",),
    "jobs": ("admin",),  # the background jobs page
    "second-factor": ("admin", "lead", "member", "auditor"),  # one's own, on the account page
    "mfa-reset": ("admin",),  # another person's, when they lost their phone
}
WHY = {
    "answer": "Only the scope's team members change answers and evidence.",
    "submit": "Only the scope's team members submit an assessment for review.",
    "review": "Only a program lead approves or returns an assessment.",
    "share": "Only a program lead shares an assessment with auditors.",
    "findings": "Only an auditor records review findings.",
    "backlog": "Only the scope's team and program leads manage its backlog.",
    "delivery": "Only the scope's team and program leads add its delivery data.",
    "members": "Only a program lead manages a scope's team.",
}


def is_member(user: User, scope_id: int) -> bool:
    """Whether `user` belongs to the scope's team."""
    return (
        db.session.scalar(
            select(ScopeMember.user_id).where(ScopeMember.scope_id == scope_id, ScopeMember.user_id == user.id)
        )
        is not None
    )


def is_shared(user: User, assessment_id: int) -> bool:
    """Whether the assessment is shared with `user`."""
    return (
        db.session.scalar(
            select(AssessmentShare.user_id).where(
                AssessmentShare.assessment_id == assessment_id, AssessmentShare.user_id == user.id
            )
        )
        is not None
    )


def may(user: User, action: str) -> bool:
    """Whether the role allows an action that names no object (see GLOBAL_ACTIONS)."""
    return user.role in GLOBAL_ACTIONS[action]


def require(user: User, action: str) -> None:
    """Forbidden unless `may(user, action)`."""
    if not may(user, action):
        raise Forbidden("Your role does not allow this.")


def _scope_rights(user: User, scope_id: int) -> bool:
    """Whether the role's scope rights apply to this scope (a member's only to their own)."""
    return user.role in ("admin", "lead") or (user.role == "member" and is_member(user, scope_id))


def scope_for(user: User, scope_id: int, action: str = "read") -> Scope:
    """The scope if `user` may do `action` to it; NotFound if they may not even see it."""
    scope = db.session.get(Scope, scope_id)
    if scope is None or not _scope_rights(user, scope_id):
        raise NotFound(f"There is no scope {scope_id}.")
    if user.role not in SCOPE_ACTIONS[action]:
        raise Forbidden(WHY.get(action, "Your role does not allow this."))
    return scope


def can_read_assessment(user: User, assessment: Assessment) -> bool:
    """Whether `user` may see the assessment at all."""
    if user.role == "auditor":
        return is_shared(user, assessment.id)
    return _scope_rights(user, assessment.scope_id)


def assessment_for(user: User, assessment_id: int, action: str = "read") -> Assessment:
    """The assessment if `user` may do `action` to it; NotFound if they may not even see it."""
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or not can_read_assessment(user, assessment):
        raise NotFound(f"There is no assessment {assessment_id}.")
    if user.role not in ASSESSMENT_ACTIONS[action]:
        raise Forbidden(WHY.get(action, "Your role does not allow this."))
    return assessment


def allowed(user: User, assessment: Assessment, action: str) -> bool:
    """Whether `user`'s role allows `action` on an assessment they can read (for showing buttons)."""
    return user.role in ASSESSMENT_ACTIONS[action]


def evidence_for(user: User, evidence_id: int) -> Evidence:
    """An evidence item `user` may download: in one of their scopes, or linked to a shared assessment."""
    item = db.session.get(Evidence, evidence_id)
    if item is None:
        raise NotFound(f"There is no evidence {evidence_id}.")
    if user.role == "auditor":
        shared = db.session.scalar(
            select(EvidenceLink.id)
            .join(AssessmentShare, AssessmentShare.assessment_id == EvidenceLink.assessment_id)
            .where(EvidenceLink.evidence_id == evidence_id, AssessmentShare.user_id == user.id)
            .limit(1)
        )
        if shared is None:
            raise NotFound(f"There is no evidence {evidence_id}.")
    elif not _scope_rights(user, item.scope_id):
        raise NotFound(f"There is no evidence {evidence_id}.")
    return item


def visible_scope_ids(user: User) -> list[int] | None:
    """The scopes `user` may read; None means all of them."""
    if user.role in ("admin", "lead"):
        return None
    if user.role == "member":
        return list(db.session.scalars(select(ScopeMember.scope_id).where(ScopeMember.user_id == user.id)))
    return []


def visible_assessment_ids(user: User) -> list[int] | None:
    """The assessments `user` may read outside their scopes (an auditor's shared ones); None means all."""
    if user.role in ("admin", "lead"):
        return None
    if user.role == "auditor":
        return list(db.session.scalars(select(AssessmentShare.assessment_id).where(AssessmentShare.user_id == user.id)))
    return []
