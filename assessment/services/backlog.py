"""The improvement backlog: one item per gap and requirement, generated again without duplicates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from reports.model import BacklogEntry

from ..domain.backlog import propose_backlog
from ..extensions import db
from ..models import PDCA_STATUSES, Assessment, BacklogEvent, BacklogItem, ScopeMember, User, utcnow
from . import audit
from .assessments import AssessmentState
from .errors import InvalidInput, NotFound

SORTS = {
    "priority": lambda i: (-i.priority, i.id),
    "due": lambda i: (i.due_date is None, i.due_date or dt.date.max, -i.priority),
    "status": lambda i: (PDCA_STATUSES.index(i.status), -i.priority),
    "requirement": lambda i: (i.requirement_id,),
}


class FieldRefused(InvalidInput):
    """A value the form's field cannot take (the page comes back with the message beside `field`)."""

    status = 422

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def owner_choices(scope_id: int) -> list[User]:
    """The people an item of this scope may be given to: the scope's team, by name."""
    return list(
        db.session.scalars(
            select(User)
            .join(ScopeMember, ScopeMember.user_id == User.id)
            .where(ScopeMember.scope_id == scope_id)
            .order_by(User.display_name, User.username)
        )
    )


@dataclass(frozen=True)
class GenerateReport:
    """What generating the backlog did."""

    added: int
    refreshed: int


def items_for(assessment: Assessment) -> list[BacklogItem]:
    """The backlog items of the assessment's scope and framework."""
    return list(
        db.session.scalars(
            select(BacklogItem).where(
                BacklogItem.scope_id == assessment.scope_id,
                BacklogItem.framework_id == assessment.framework_version.framework_id,
            )
        )
    )


def generate(state: AssessmentState) -> GenerateReport:
    """Add an item for every gap that has none; refresh the priority of those that exist."""
    assessment = state.assessment
    existing = {item.requirement_id: item for item in items_for(assessment)}
    added = refreshed = 0
    created: list[str] = []
    for proposal in propose_backlog(state.card):
        item = existing.get(proposal.requirement_id)
        reasons = "; ".join(proposal.reasons)
        if item is None:
            db.session.add(
                BacklogItem(
                    scope_id=assessment.scope_id,
                    framework_id=state.framework.id,
                    requirement_id=proposal.requirement_id,
                    assessment_id=assessment.id,
                    title=proposal.title[:500],
                    recommendation=proposal.recommendation,
                    priority=proposal.priority,
                    priority_reasons=reasons,
                )
            )
            added += 1
            created.append(proposal.requirement_id)
            audit.about(
                assessment,
                "backlog.item_added",
                "backlog_item",
                f"{assessment.scope_id}/{state.framework.id}/{proposal.requirement_id}",
                after={"requirement": proposal.requirement_id, "priority": proposal.priority, "status": "plan"},
            )
        elif (item.priority, item.priority_reasons) != (proposal.priority, reasons):
            item.priority, item.priority_reasons, item.updated_at = proposal.priority, reasons, utcnow()
            refreshed += 1
    db.session.flush()
    if created:
        for item in items_for(assessment):
            if item.requirement_id in created:
                record_event(item, "created", audit.current_actor.get(), assessment.id)
    return GenerateReport(added, refreshed)


def filtered(items: list[BacklogItem], status: str | None, owner: str | None, text: str | None, sort: str):
    """Items matching the filters, in the chosen order."""
    if status:
        items = [i for i in items if i.status == status]
    if owner:
        items = [i for i in items if (i.owner or "").lower() == owner.lower()]
    if text:
        needle = text.lower()
        items = [i for i in items if needle in i.title.lower() or needle in i.requirement_id.lower()]
    return sorted(items, key=SORTS.get(sort, SORTS["priority"]))


def get_item(assessment: Assessment, item_id: int) -> BacklogItem:
    """An item of this assessment's backlog, or NotFound."""
    item = db.session.get(BacklogItem, item_id)
    if (
        item is None
        or item.scope_id != assessment.scope_id
        or item.framework_id != assessment.framework_version.framework_id
    ):
        raise NotFound("No such backlog item in this assessment.")
    return item


def update_item(item: BacklogItem, *, owner, due_date, status, hypothesis, outcome) -> None:
    """Change the fields people manage on an item. The owner is one of the scope's team (by user
    name), or nobody; an owner given before owners were chosen from the team may stay as it is."""
    if status not in PDCA_STATUSES:  # only a forged form sends another: no page to come back to
        raise InvalidInput(f"Status must be one of {', '.join(PDCA_STATUSES)}; got {status!r}.")
    owner = (owner or "").strip() or None
    if owner is not None and owner != item.owner and owner not in {u.username for u in owner_choices(item.scope_id)}:
        raise FieldRefused(
            "owner", f"{owner[:60]!r} is not in this scope's team: choose one of its members, or nobody."
        )
    for label, text, limit in (("Owner", owner, 200), ("Hypothesis", hypothesis, 10_000), ("Outcome", outcome, 10_000)):
        if text and len(text) > limit:
            raise InvalidInput(f"{label} is longer than {limit:,} characters.")
    before = _managed(item)
    item.owner = owner
    item.due_date = due_date
    item.status = status
    item.hypothesis = (hypothesis or "").strip() or None
    item.outcome = (outcome or "").strip() or None
    old, new = audit.changes(before, _managed(item))
    if new:
        item.updated_at = utcnow()
        record_event(item, "changed", audit.current_actor.get())
        audit.record(
            "backlog.item_changed",
            "backlog_item",
            item.id,
            scope_id=item.scope_id,
            assessment_id=item.assessment_id,
            before=old,
            after=new,
        )


def _managed(item: BacklogItem) -> dict:
    return {
        "owner": item.owner,
        "due_date": item.due_date.isoformat() if item.due_date else None,
        "status": item.status,
        "hypothesis": item.hypothesis,
        "outcome": item.outcome,
    }


def as_entries(items: list[BacklogItem]) -> tuple[BacklogEntry, ...]:
    """Backlog items as the report model's entries, in the given order (for reports and `backlog.csv`)."""
    return tuple(
        BacklogEntry(
            i.requirement_id,
            i.title,
            i.priority,
            i.owner,
            i.due_date,
            i.status,
            i.recommendation,
            i.hypothesis,
            i.outcome,
            i.priority_reasons,
        )
        for i in items
    )


# --- continuity across cycles -------------------------------------------------------------------

CLOSED = ("met", "not_applicable")
OPEN = ("plan", "do", "check", "act")


def record_event(item: BacklogItem, kind: str, actor: str, assessment_id: int | None = None) -> None:
    """Add a step to the item's history, with its status, hypothesis and outcome at that moment."""
    db.session.add(
        BacklogEvent(
            item_id=item.id,
            assessment_id=assessment_id,
            kind=kind,
            status=item.status,
            hypothesis=item.hypothesis,
            outcome=item.outcome,
            actor=actor[:200],
        )
    )


@dataclass(frozen=True)
class ReconcileReport:
    """Items a cycle's measurement closed or reopened."""

    achieved: tuple[str, ...]
    reopened: tuple[str, ...]


def reconcile(state: AssessmentState, actor: str) -> ReconcileReport:
    """Let a measured cycle speak: a closed gap marks its item achieved (with the cycle's as-of
    date); a gap again on an item marked done reopens it. Unanswered requirements say nothing."""
    assessment = state.assessment
    achieved, reopened = [], []
    for item in items_for(assessment):
        if item.requirement_id not in state.framework.requirement_index:
            continue
        result = state.find(item.requirement_id)
        if result is None or result.status == "unanswered":
            continue
        closed = result.status in CLOSED and not result.unsupported
        before = {"status": item.status, "achieved_on": item.achieved_on.isoformat() if item.achieved_on else None}
        if closed and (item.status in OPEN or (item.status == "done" and item.achieved_on is None)):
            item.status, item.achieved_on, kind = "done", assessment.as_of, "achieved"
            achieved.append(item.requirement_id)
        elif not closed and item.status == "done":
            item.status, item.achieved_on, kind = "plan", None, "reopened"
            reopened.append(item.requirement_id)
        else:
            continue
        item.updated_at = utcnow()
        record_event(item, kind, actor, assessment.id)
        audit.record(
            f"backlog.item_{kind}",
            "backlog_item",
            item.id,
            scope_id=item.scope_id,
            assessment_id=assessment.id,
            before=before,
            after={"status": item.status, "achieved_on": item.achieved_on.isoformat() if item.achieved_on else None},
        )
    db.session.flush()
    return ReconcileReport(tuple(achieved), tuple(reopened))


def history(items: list[BacklogItem]) -> dict[int, list[BacklogEvent]]:
    """Each item's events, oldest first, in one query."""
    events: dict[int, list[BacklogEvent]] = {item.id: [] for item in items}
    if events:
        rows = db.session.scalars(
            select(BacklogEvent).where(BacklogEvent.item_id.in_(list(events))).order_by(BacklogEvent.id)
        )
        for event in rows:
            events[event.item_id].append(event)
    return events
