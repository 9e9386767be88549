"""A scope's state on a past date, replayed from the audit trail.

The trail holds every answer saved, every evidence link made or removed, and every status change,
with its time. Replaying an assessment's entries up to the end of a day gives its answers, evidence
and status as they stood then; the scoring engine then gives the figures people saw. Nothing else
is stored for this: the tamper-evident trail is the history.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

from ..domain import events, values
from ..domain.answers import Answer
from ..domain.scoring import Scorecard, score
from ..extensions import db
from ..models import Assessment, AuditEntry, Scope
from ..models import Evidence as EvidenceRow
from ..services.assessments import to_domain_evidence
from ..services.errors import TrailUnreadable
from ..services.library import framework_of


@dataclass(frozen=True)
class PastState:
    """One assessment as it stood at the end of a day."""

    assessment: Assessment
    status: str
    answered: int
    changes: int  # trail entries replayed
    card: Scorecard


def _end_of(day: dt.date) -> dt.datetime:
    """The first moment after `day`, in UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)


@dataclass
class Replayed:
    """What a run of trail entries leaves: stored answer texts and notes, evidence links, status."""

    values: dict[str, dict] = field(default_factory=dict)  # requirement id -> {"value": text, "note": text}
    links: dict[str, list[int]] = field(default_factory=dict)  # requirement id -> evidence ids, in link order
    status: str = "draft"


def replay_entries(entries: Iterable[tuple[str, str, dict | None, dict | None]]) -> Replayed:
    """Apply (action, object id, before, after) trail entries in order: pure, no database.

    Each entry is parsed into its event (`assessment.domain.events`); actions the replay does not
    read are skipped, and a payload that is not its writer's form raises UnreadableEntry."""
    state = Replayed()
    for action, object_id, before, after in entries:
        apply(state, events.from_entry(action, object_id, before, after))
    return state


def apply(state: Replayed, event: events.Event | None) -> None:
    """Change `state` as `event` changed the assessment (None: an entry that changes nothing replayed)."""
    match event:
        case events.AnswerSaved():
            stored = state.values.setdefault(event.requirement_id, {"value": None, "note": None})
            for name in ("value", "note"):
                if getattr(event, name) is not events.UNCHANGED:
                    stored[name] = getattr(event, name)
        case events.EvidenceLinked():
            state.links.setdefault(event.requirement_id, []).append(event.evidence_id)
        case events.EvidenceUnlinked():
            ids = state.links.get(event.requirement_id, [])
            if event.evidence_id in ids:
                ids.remove(event.evidence_id)
        case events.AssessmentStarted() | events.StatusChanged():
            state.status = event.status


def _parsed(entries: list[AuditEntry]) -> Iterator[tuple[str, str, dict | None, dict | None]]:
    """The entries' stored JSON, read back; TrailUnreadable names the entry that cannot be."""
    for e in entries:
        try:
            yield (
                e.action,
                e.object_id,
                json.loads(e.before) if e.before else None,
                json.loads(e.after) if e.after else None,
            )
        except ValueError as problem:
            raise _unreadable(e, f"its payload is not JSON ({problem})") from None


def _unreadable(entry: AuditEntry, problem: str) -> TrailUnreadable:
    return TrailUnreadable(
        f"The audit trail's entry {entry.seq} ({entry.action} of {entry.object_id}, at {entry.at}) cannot be replayed:"
        f" {problem}. Nothing was changed; `assessment audit verify` checks whether the trail was altered."
    )


def replay(assessment: Assessment, day: dt.date) -> PastState:
    """The assessment's answers, evidence links and status at the end of `day` (UTC)."""
    entries = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.assessment_id == assessment.id,
            AuditEntry.at < _end_of(day).isoformat(timespec="microseconds"),
        )
        .order_by(AuditEntry.seq)
    ).all()
    state = Replayed()
    for entry, (action, object_id, before, after) in zip(entries, _parsed(entries), strict=True):
        try:
            apply(state, events.from_entry(action, object_id, before, after))
        except events.UnreadableEntry as problem:
            raise _unreadable(entry, str(problem)) from None
    framework = framework_of(assessment.framework_version)
    evidence_ids = {i for ids in state.links.values() for i in ids}
    rows = (
        {r.id: r for r in db.session.scalars(select(EvidenceRow).where(EvidenceRow.id.in_(evidence_ids)))}
        if evidence_ids
        else {}
    )
    answers = {}
    for requirement_id in (state.values.keys() | state.links.keys()) & set(framework.requirement_index):
        stored = state.values.get(requirement_id, {})
        value = values.decode(stored.get("value"), framework.requirement_index[requirement_id])
        items = tuple(to_domain_evidence(rows[i]) for i in state.links.get(requirement_id, []) if i in rows)
        answers[requirement_id] = Answer(requirement_id, value, stored.get("note"), items)
    card = score(
        framework, answers, as_of=assessment.as_of, target_level=assessment.target_level, scope=assessment.scope.name
    )
    answered = sum(1 for a in answers.values() if a.value is not None)
    return PastState(assessment, state.status, answered, len(entries), card)


def scope_as_of(scope: Scope, day: dt.date) -> list[PastState]:
    """Every assessment of the scope that existed at the end of `day`, as it stood then."""
    end = _end_of(day)
    assessments = [a for a in scope.assessments if _aware(a.created_at) < end]
    return [replay(a, day) for a in sorted(assessments, key=lambda a: (a.as_of, a.id))]


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
