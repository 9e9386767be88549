"""What waits for the signed-in person: the home page's "Waiting for you" and the count in the navigation.

Each role sees what needs them, and only what they may read (services/access.py):

- team members: their scopes' assessments to answer (draft, with completion), those returned with
  the lead's comment, and overdue backlog items owned by them or by nobody (the whole team's);
- program leads and admins, across every scope: submitted assessments awaiting review, overdue
  backlog items, and evidence expiring within the window;
- auditors: assessments shared with them, open to review, on which they have recorded nothing yet.

A fixed set of queries whatever the number of scopes (one per section, one for the answer counts):
no query per assessment or per item.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Answer, Assessment, AssessmentShare, BacklogItem, Evidence, ReviewFinding, Scope, User
from ..services import access
from ..services.review import REVIEWABLE

OPEN = ("plan", "do", "check", "act")
SHOWN = 50  # items listed per section; the count says how many there are in all


@dataclass(frozen=True)
class Link:
    """Where an item leads: an endpoint, its arguments and the anchor on that page."""

    endpoint: str
    params: dict[str, int]
    anchor: str = ""


@dataclass(frozen=True)
class Item:
    """One thing waiting: what it is, a line of detail (a completion, a comment, a date) and its page."""

    text: str
    detail: str
    link: Link
    quote: str | None = None  # the lead's comment on a returned assessment, shown as written


@dataclass
class Section:
    """A kind of thing waiting, with the items shown and how many there are in all."""

    key: str
    heading: str
    items: list[Item] = field(default_factory=list)
    total: int = 0


@dataclass
class Inbox:
    """Everything waiting for one person, by section (empty sections left out)."""

    sections: list[Section] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many things wait in all (the navigation's figure)."""
        return sum(s.total for s in self.sections)


def _title(assessment: Assessment) -> str:
    version = assessment.framework_version
    return f"{assessment.scope.name}: {version.title} {version.label}, as of {assessment.as_of}"


def _assessments(*where) -> list[Assessment]:
    stmt = (
        select(Assessment)
        .where(*where)
        .options(joinedload(Assessment.scope), joinedload(Assessment.framework_version))
        .order_by(Assessment.as_of, Assessment.id)
    )
    return list(db.session.scalars(stmt).unique())


def _answered(ids: list[int]) -> dict[int, int]:
    """The number of answered requirements of each assessment, in one query."""
    if not ids:
        return {}
    stmt = (
        select(Answer.assessment_id, func.count())
        .where(Answer.assessment_id.in_(ids), Answer.value.is_not(None))
        .group_by(Answer.assessment_id)
    )
    return dict(db.session.execute(stmt).all())


def _to_answer(scope_ids: list[int]) -> list[Section]:
    """A team's drafts (with completion) and returned assessments (with the comment)."""
    if not scope_ids:
        return []
    rows = _assessments(Assessment.scope_id.in_(scope_ids), Assessment.status.in_(("draft", "returned")))
    answered = _answered([a.id for a in rows])
    drafts = Section("answer", "To answer")
    returned = Section("returned", "Returned with comments")
    for a in rows:
        total = a.framework_version.requirement_count
        done = answered.get(a.id, 0)
        percent = round(100 * done / total) if total else 0
        if a.status == "returned":
            returned.items.append(
                Item(
                    _title(a),
                    f"{percent} % answered. Change what the comment asks, then submit again.",
                    Link("assessments.results", {"assessment_id": a.id}, "#review"),
                    quote=a.review_comment or "(no comment given)",
                )
            )
        else:
            drafts.items.append(
                Item(
                    _title(a),
                    f"{percent} % answered ({done} of {total})",
                    Link("assessments.domain", {"assessment_id": a.id, "index": 0}),
                )
            )
    for section in (drafts, returned):
        section.total = len(section.items)
    return [returned, drafts]


def _overdue(today: dt.date, scope_ids: list[int] | None, owner: User | None) -> Section:
    """Open backlog items due before today: all of them (scope_ids None), or a team's own and unowned ones."""
    where = [BacklogItem.status.in_(OPEN), BacklogItem.due_date < today]
    if scope_ids is not None:
        where.append(BacklogItem.scope_id.in_(scope_ids))
    if owner is not None:
        names = {owner.username.lower(), owner.display_name.lower()}
        mine = func.lower(BacklogItem.owner).in_(names)
        where.append(or_(BacklogItem.owner.is_(None), BacklogItem.owner == "", mine))
    section = Section("overdue", "Overdue backlog items")
    section.total = db.session.scalar(select(func.count()).select_from(BacklogItem).where(*where)) or 0
    if not section.total:
        return section
    rows = db.session.execute(
        select(BacklogItem, Scope.name)
        .join(Scope, Scope.id == BacklogItem.scope_id)
        .where(*where)
        .order_by(BacklogItem.due_date, BacklogItem.id)
        .limit(SHOWN)
    ).all()
    for item, scope_name in rows:
        who = f"owner {item.owner}" if item.owner else "no owner yet"
        section.items.append(
            Item(
                f"{scope_name}: {item.requirement_id} {item.title}",
                f"Due {item.due_date} ({(today - item.due_date).days} days ago), {item.status}, {who}",
                Link("backlog.index", {"assessment_id": item.assessment_id}, f"#item-{item.id}"),
            )
        )
    return section


def _awaiting_review() -> Section:
    section = Section("review", "Awaiting your review")
    for a in _assessments(Assessment.status == "submitted"):
        when = f" on {a.submitted_at:%Y-%m-%d}" if a.submitted_at else ""
        section.items.append(
            Item(
                _title(a),
                f"Submitted by {a.submitted_by or 'the team'}{when}: approve it or return it with comments",
                Link("assessments.results", {"assessment_id": a.id}, "#review"),
            )
        )
    section.total = len(section.items)
    return section


def _expiring(today: dt.date, days: int) -> Section:
    """Evidence of any scope whose expiry falls from today to `days` ahead."""
    where = (Evidence.expires >= today, Evidence.expires <= today + dt.timedelta(days=days))
    section = Section("expiring", f"Evidence expiring within {days} days")
    section.total = db.session.scalar(select(func.count()).select_from(Evidence).where(*where)) or 0
    if not section.total:
        return section
    rows = db.session.execute(
        select(Evidence.id, Evidence.title, Evidence.expires, Evidence.scope_id, Scope.name)
        .join(Scope, Scope.id == Evidence.scope_id)
        .where(*where)
        .order_by(Evidence.expires, Evidence.id)
        .limit(SHOWN)
    ).all()
    for row in rows:
        left = (row.expires - today).days
        section.items.append(
            Item(
                f"{row.name}: {row.title}",
                f"Expires on {row.expires} ({'today' if left == 0 else f'in {left} days'}); replace or renew it",
                Link("scopes.detail", {"scope_id": row.scope_id}, f"#evidence-{row.id}"),
            )
        )
    return section


def _shared_unreviewed(auditor: User) -> Section:
    """Assessments shared with the auditor, open to review, with nothing recorded by them yet."""
    recorded = exists().where(ReviewFinding.assessment_id == Assessment.id, ReviewFinding.auditor == auditor.username)
    shared = select(AssessmentShare.assessment_id).where(AssessmentShare.user_id == auditor.id)
    section = Section("shared", "Shared with you, not yet reviewed")
    for a in _assessments(Assessment.id.in_(shared), Assessment.status.in_(REVIEWABLE), ~recorded):
        section.items.append(
            Item(
                _title(a),
                f"{a.status.capitalize()}; verify its requirements or record findings",
                Link("assessments.results", {"assessment_id": a.id}, "#findings"),
            )
        )
    section.total = len(section.items)
    return section


def inbox_for(user: User, today: dt.date, expiring_days: int = 30) -> Inbox:
    """What waits for `user`, by their role, limited to what they may read."""
    sections: list[Section] = []
    if user.role in ("admin", "lead"):
        sections = [_awaiting_review(), _overdue(today, None, None), _expiring(today, expiring_days)]
    elif user.role == "member":
        scope_ids = access.visible_scope_ids(user) or []
        sections = [*_to_answer(scope_ids), _overdue(today, scope_ids, user)]
    elif user.role == "auditor":
        sections = [_shared_unreviewed(user)]
    return Inbox([s for s in sections if s.total])
