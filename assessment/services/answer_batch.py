"""Many answers saved as one change: every one valid and none in conflict, or none saved at all.

The rules are `assessments.save_answer`'s, answer by answer (the same check of the value and note, the same
revision check, a carried-over answer saved as it stands confirmed, an unchanged one left alone, the same
trail entry for each answer that changed), but read and written in a constant number of statements: the
API's PATCH writes 1,200 answers in one request, where a query an answer would cost seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..domain.events import AnswerSaved
from ..domain.framework import Framework
from ..extensions import db
from ..models import Answer as AnswerRow
from ..models import Assessment, utcnow
from . import audit
from .assessments import (
    ANSWER_COLUMNS,
    SaveResult,
    check_answer,
    ensure_editable,
    lock_for_change,
    unknown_revision,
)
from .errors import Conflict, InvalidInput, ServiceError
from .metric_answers import overriding

MAX_ANSWERS = 5_000  # in one request: above the largest framework of the library several times over


@dataclass(frozen=True)
class Submitted:
    """One answer as a caller sent it: the value's text ('' or None clears it), the note, the revision read."""

    requirement_id: str
    raw_value: str | None
    note: str | None
    revision: int


@dataclass(frozen=True)
class Refusal:
    """Why one submitted answer cannot be saved; `field` is "value", "note", "revision" or None (the answer)."""

    requirement_id: str
    field: str | None
    message: str


class InvalidAnswers(InvalidInput):
    """Some submitted answers are invalid; `refusals` names each one. Nothing was saved."""

    def __init__(self, refusals: list[Refusal]):
        count = len(refusals)
        super().__init__(f"{count} answer{'s are' if count != 1 else ' is'} invalid; nothing was saved.")
        self.refusals = refusals


class ConflictingAnswers(Conflict):
    """Someone else saved some of these answers since they were read; `conflicts` holds each with both
    versions. Nothing was saved."""

    def __init__(self, conflicts: list[SaveResult]):
        count = len(conflicts)
        super().__init__(
            f"{count} answer{'s were' if count != 1 else ' was'} changed by someone else since you read "
            f"{'them' if count != 1 else 'it'}; nothing was saved. Read the answers again, then send yours."
        )
        self.conflicts = conflicts


@dataclass
class _Plan:
    """What saving the submitted answers over the stored rows would do."""

    results: dict[str, SaveResult]
    refusals: list[Refusal]
    conflicts: list[SaveResult]
    inserts: list[dict[str, Any]]
    updates: list[dict[str, Any]]
    confirms: list[str]
    events: list[AnswerSaved]

    @property
    def writes(self) -> bool:
        return bool(self.inserts or self.updates or self.confirms)


def save_answers(
    assessment: Assessment, framework: Framework, submitted: Iterable[Submitted], user: str
) -> list[SaveResult]:
    """Save every submitted answer, or none: InvalidAnswers lists every invalid one, ConflictingAnswers
    every conflict (both raised before anything is written, so the caller's rollback leaves no trace).

    The results come in the framework's order of requirements. The stored rows are read once to check;
    when something is to change, the assessment is locked for the change (`lock_for_change`, which every
    writer of its answers takes first) and the rows are read and checked again under that lock, so what
    was checked is what gets written.
    """
    ensure_editable(assessment)
    entries, checked, found = _checked(framework, submitted)
    plan = _plan(assessment, entries, checked, _stored(assessment))
    if found or plan.refusals:
        raise InvalidAnswers(_in_order(framework, found + plan.refusals))
    if plan.conflicts:
        raise ConflictingAnswers(plan.conflicts)
    if not plan.writes:
        return list(plan.results.values())
    lock_for_change(assessment)
    plan = _plan(assessment, entries, checked, _stored(assessment))  # under the lock: nobody saves these meanwhile
    if plan.refusals:
        raise InvalidAnswers(plan.refusals)
    if plan.conflicts:
        raise ConflictingAnswers(plan.conflicts)
    _write(assessment, plan, user)
    return list(plan.results.values())


def refusals(assessment: Assessment, framework: Framework, submitted: Iterable[Submitted]) -> list[Refusal]:
    """Every reason the submitted answers could not be saved now, in the framework's order; nothing is saved
    (for a request that is refused anyway, so that it names all its errors at once)."""
    entries, checked, found = _checked(framework, submitted)
    return _in_order(framework, found + _plan(assessment, entries, checked, _stored(assessment)).refusals)


def _checked(
    framework: Framework, submitted: Iterable[Submitted]
) -> tuple[list[Submitted], dict[str, tuple[str | None, str | None]], list[Refusal]]:
    """The entries in the framework's order, the stored texts of the valid ones, and why the others are not."""
    order = _order(framework)
    entries = sorted(submitted, key=lambda s: (order.get(s.requirement_id, len(order)), s.requirement_id))
    checked: dict[str, tuple[str | None, str | None]] = {}
    found: list[Refusal] = []
    for entry in entries:
        try:
            checked[entry.requirement_id] = check_answer(framework, entry.requirement_id, entry.raw_value, entry.note)
        except ServiceError as error:  # NotFound (no such requirement) or InvalidInput (its value or note)
            found.append(Refusal(entry.requirement_id, getattr(error, "field", None), error.message))
    return entries, checked, found


def _order(framework: Framework) -> dict[str, int]:
    return {r.id: i for i, r in enumerate(framework.requirements)}


def _in_order(framework: Framework, found: list[Refusal]) -> list[Refusal]:
    order = _order(framework)
    return sorted(found, key=lambda r: (order.get(r.requirement_id, len(order)), r.requirement_id))


def _stored(assessment: Assessment) -> dict[str, Any]:
    """The assessment's answer rows by requirement id, as plain rows, in one query."""
    columns = (AnswerRow.id, *ANSWER_COLUMNS)
    return {row.requirement_id: row for row in db.session.execute(select(*columns).where(_of(assessment)))}


def _of(assessment: Assessment):
    return AnswerRow.assessment_id == assessment.id


def _plan(
    assessment: Assessment,
    entries: list[Submitted],
    checked: dict[str, tuple[str | None, str | None]],
    rows: dict[str, Any],
) -> _Plan:
    """Each valid entry's outcome over the stored `rows`, decided as `save_answer` decides it."""
    plan = _Plan({}, [], [], [], [], [], [])
    for entry in entries:
        if entry.requirement_id not in checked:
            continue
        rid, seen = entry.requirement_id, entry.revision
        value, note = checked[rid]
        row = rows.get(rid)
        if row is not None and (row.value, row.note) == (value, note):
            if row.carried_over and row.revision == seen:  # saved as it stands: the team confirms it
                plan.confirms.append(rid)
                plan.results[rid] = SaveResult(rid, "saved", seen + 1)
            else:
                plan.results[rid] = SaveResult(rid, "unchanged", row.revision)
        elif row is None:
            if seen != 0:
                error = unknown_revision(rid, seen)
                plan.refusals.append(Refusal(rid, error.field, error.message))
            elif value is None and note is None:
                plan.results[rid] = SaveResult(rid, "unchanged", 0)
            else:
                plan.inserts.append(
                    {"assessment_id": assessment.id, "requirement_id": rid, "value": value, "note": note}
                )
                plan.events.append(AnswerSaved.of(rid, value, note))
                plan.results[rid] = SaveResult(rid, "saved", 1)
        elif row.revision != seen:
            plan.conflicts.append(
                SaveResult(rid, "conflict", row.revision, row.value, row.note, row.answered_by, value, note)
            )
        else:
            try:
                overridden = overriding(row, value, note)
            except InvalidInput as error:  # a measured value replaced without a note saying why
                plan.refusals.append(Refusal(rid, error.field, f"{rid}: {error.message}"))
                continue
            plan.updates.append(
                {"row_id": row.id, "seen": seen, "new_value": value, "new_note": note, "new_overridden": overridden,
                 "new_measured": None if value is None else row.measured}
            )  # fmt: skip
            plan.events.append(AnswerSaved.of(rid, value, note, (row.value, row.note)))
            plan.results[rid] = SaveResult(rid, "saved", seen + 1)
    return plan


def _write(assessment: Assessment, plan: _Plan, user: str) -> None:
    """Write the plan in a few statements (each many rows at once) and its trail entries."""
    from .cycles import confirm

    now = utcnow()
    if plan.updates:
        table = AnswerRow.__table__
        changed = db.session.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"), table.c.revision == bindparam("seen"))
            .values(
                value=bindparam("new_value"),
                note=bindparam("new_note"),
                answered_by=user,
                answered_at=now,
                revision=table.c.revision + 1,
                carried_over=False,
                overridden=bindparam("new_overridden"),
                measured=bindparam("new_measured"),
            ),
            plan.updates,
        )
        if db.session.get_bind().dialect.supports_sane_multi_rowcount and changed.rowcount != len(plan.updates):
            raise Conflict("Answers changed while they were saved; nothing was saved. Read them again and retry.")
    if plan.inserts:
        rows = [{**row, "answered_by": user, "answered_at": now, "revision": 1} for row in plan.inserts]
        try:
            with db.session.begin_nested():
                db.session.execute(insert(AnswerRow.__table__), rows)
        except IntegrityError:  # created meanwhile by a writer that did not lock first: refuse, never overwrite
            raise Conflict(
                "Answers were created by someone else while these were saved; nothing was saved. Read them again."
            ) from None
    if plan.confirms:
        confirm(assessment, plan.confirms, user)
    for event in plan.events:
        audit.emit(assessment, event)
