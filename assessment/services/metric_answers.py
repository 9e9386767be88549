"""Metric-fed answers of a stored assessment (`delivery-events.md`, section 5, and issue 17): the metric
questions take the measured values of the assessment's delivery service over its period, each with its
provenance, and the events behind them are kept as one evidence file.

A refresh fills every metric question that is unanswered or was measured before and not overridden; a
metric without a value (no deployments, no restored incident) leaves it, or makes it again, unanswered.
An answer a person typed, or a measured one a person overrode with a note, stays as it is. The scope's
stored events (their `body`, in id order) are the snapshot: JSON Lines, content-addressed in the
evidence store, one evidence row per content, linked to each measured requirement.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..adapters.evidence_store import EvidenceStore, StoredFile, safe_filename
from ..domain import values
from ..domain.answers import Answer, Answers
from ..domain.delivery.fill import Measurement, fill_from_metrics, metric_requirements
from ..domain.delivery.metrics import Window
from ..domain.events import AnswerSaved
from ..domain.framework import NumericAnswer, Requirement
from ..extensions import db
from ..models import Answer as AnswerRow
from ..models import Assessment, utcnow
from ..models import Evidence as EvidenceRow
from . import audit, delivery
from .errors import InvalidInput
from .evidence import link, remove_link
from .library import framework_of

SNAPSHOT_SOURCE = "delivery"
SNAPSHOT_MEDIA_TYPE = "application/x-ndjson"
OVERRIDE_NEEDS_NOTE = "A measured answer can be overridden only with a note saying why."


@dataclass(frozen=True)
class Measured:
    """A stored answer's provenance (the `answer.measured` column), read once: the measurement, its value as
    stored text, and the events snapshot it was measured from."""

    measurement: Measurement
    value_text: str
    evidence_id: int | None
    sha256: str | None

    def sentence(self) -> str:
        """The provenance in words (Measurement.sentence)."""
        return self.measurement.sentence()

    @property
    def value_label(self) -> str:
        """The measured value as people read it."""
        return values.number_text(self.measurement.value)


def provenance_of(requirement_id: str, text: str | None) -> Measured | None:
    """The provenance stored with an answer, or None for an answer a person typed (or an unreadable one)."""
    if not text:
        return None
    try:
        data = json.loads(text)
        window = Window(dt.date.fromisoformat(data["from"]), dt.date.fromisoformat(data["to"]))
        measurement = Measurement(
            requirement_id,
            str(data["metric"]),
            float(data["value"]),
            str(data["service"]),
            window,
            int(data["deployments"]),
            int(data["basis"]),
            str(data["basis_word"]),
        )
        return Measured(measurement, str(data["value_text"]), data.get("evidence_id"), data.get("sha256"))
    except (ValueError, KeyError, TypeError):
        return None


def _provenance_text(measurement: Measurement, value_text: str, snapshot: EvidenceRow) -> str:
    return json.dumps(
        {
            "metric": measurement.metric,
            "value": measurement.value,
            "value_text": value_text,
            "service": measurement.service,
            "from": measurement.window.first.isoformat(),
            "to": measurement.window.last.isoformat(),
            "deployments": measurement.deployments,
            "basis": measurement.basis,
            "basis_word": measurement.basis_word,
            "evidence_id": snapshot.id,
            "sha256": snapshot.sha256,
        },
        sort_keys=True,
    )


def _with_unit(requirement: Requirement, text: str) -> str:
    unit = requirement.answer.unit if isinstance(requirement.answer, NumericAnswer) else None
    return f"{text} {unit}" if unit else text


def override_text(requirement: Requirement, value_text: str | None, measured: Measured) -> str:
    """'Overridden: measured 5 hours, answered 8 hours': an overridden answer in words, on pages and reports."""
    answered = value_text or ""
    try:
        number = values.decode(value_text, requirement)
        if isinstance(number, int | float):
            answered = values.number_text(number)
    except ValueError:
        pass
    return (
        f"Overridden: measured {_with_unit(requirement, measured.value_label)}, "
        f"answered {_with_unit(requirement, answered)}"
    )


def check_service(scope_id: int, service: str | None) -> str | None:
    """The delivery service an assessment of the scope is to be measured from ('' or None: none), or
    InvalidInput at the `delivery_service` field when the scope's events do not name it."""
    service = (service or "").strip()
    if not service:
        return None
    known = delivery.services_of(scope_id)
    if service not in known:
        listed = ", ".join(repr(s) for s in known[:20]) or "none: the scope has no delivery events"
        raise InvalidInput(
            f"Delivery service: this scope's delivery events name no service {service[:200]!r}; choose one they "
            f"name ({listed}), or none.",
            field="delivery_service",
        )
    return service


def overriding(row: Any, value: str | None, note: str | None) -> bool:
    """Whether saving (`value`, `note`) over the stored answer `row` overrides its measured value; InvalidInput
    at the note when it would override it without a note. Saving the measured value, or clearing the answer,
    is no override."""
    measured = provenance_of(row.requirement_id, row.measured) if row is not None else None
    if measured is None or value is None or value == measured.value_text:
        return False
    if not note:
        raise InvalidInput(OVERRIDE_NEEDS_NOTE, field="note")
    return True


@dataclass(frozen=True)
class Refresh:
    """What a refresh did: the measurements it filled in, the answers it made unanswered (their metric has
    no value now), the overridden answers it left alone, and the snapshot evidence (None: nothing measured)."""

    measurements: list[Measurement]
    cleared: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    snapshot: EvidenceRow | None = None
    stored: StoredFile | None = None  # the snapshot file, when this refresh put it in the store

    def sentence(self) -> str:
        """The outcome in words, for a page's message."""
        n = len(self.measurements)
        parts = [f"{n} answer{'s' if n != 1 else ''} measured from delivery data"]
        if self.cleared:
            parts.append(f"{len(self.cleared)} left unanswered (no value in the window)")
        if self.kept:
            parts.append(f"{len(self.kept)} overridden answer{'s' if len(self.kept) != 1 else ''} kept")
        return ", ".join(parts) + "."


def refresh_measured(assessment: Assessment, actor: str, store: EvidenceStore) -> Refresh:
    """Fill the assessment's metric questions from its delivery service's events over its period (see the
    module's docstring), with one trail entry saying how many were measured, cleared and kept.

    The caller discards `Refresh.stored` if the transaction rolls back."""
    from .assessments import ensure_editable, lock_for_change

    service = assessment.delivery_service
    if not service:
        raise InvalidInput("This assessment names no delivery service: start it with one to measure its answers.")
    ensure_editable(assessment)
    framework = framework_of(assessment.framework_version)
    wanted = metric_requirements(framework)
    if not wanted:
        return Refresh([])
    rows = {
        row.requirement_id: row
        for row in db.session.scalars(
            select(AnswerRow).where(AnswerRow.assessment_id == assessment.id, AnswerRow.requirement_id.in_(wanted))
        )
    }
    index = framework.requirement_index
    refill = [
        rid
        for rid in wanted
        if (row := rows.get(rid)) is None or row.value is None or (row.measured and not row.overridden)
    ]
    kept = [rid for rid in wanted if (row := rows.get(rid)) is not None and row.measured and row.overridden]
    given = {
        rid: Answer(rid, values.decode(row.value, index[rid]), row.note)
        for rid, row in rows.items()
        if rid not in refill
    }
    window = Window(assessment.period_from, assessment.as_of)
    bodies = delivery.scope_bodies(assessment.scope_id)
    events = delivery.events_of(assessment.scope_id, bodies)
    filled = fill_from_metrics(framework, Answers(framework.id, framework.version, given), events, service, window)
    lock_for_change(assessment)
    snapshot, stored = (None, None)
    if filled.measured:
        snapshot, stored = _snapshot(assessment, bodies, service, window, actor, store)
    cleared: list[str] = []
    for rid in refill:
        row = rows.get(rid)
        measurement = filled.measured.get(rid)
        before = provenance_of(rid, row.measured) if row is not None else None
        if measurement is None:
            if row is not None and row.measured and row.value is not None:
                _write(assessment, row, None, None, actor)
                cleared.append(rid)
            if before is not None and before.evidence_id is not None:
                _unlink(assessment, rid, before.evidence_id)
            continue
        assert snapshot is not None
        value = values.encode(measurement.value)
        provenance = _provenance_text(measurement, value, snapshot)
        if row is None:
            row = AnswerRow(
                assessment_id=assessment.id,
                requirement_id=rid,
                value=value,
                note=None,
                answered_by=actor[:200],
                revision=1,
                measured=provenance,
                overridden=False,
            )
            db.session.add(row)
            db.session.flush()
            audit.emit(assessment, AnswerSaved.of(rid, value, None))
        elif (row.value, row.measured) != (value, provenance):
            _write(assessment, row, value, provenance, actor)
        link(assessment, rid, snapshot)
        if before is not None and before.evidence_id not in (None, snapshot.id):
            _unlink(assessment, rid, before.evidence_id)
    audit.about(
        assessment,
        "answers.measured",
        "assessment",
        assessment.id,
        after={
            "service": service,
            "window": window.to_dict(),
            "measured": len(filled.measured),
            "cleared": len(cleared),
            "overridden_kept": len(kept),
            "evidence_id": snapshot.id if snapshot else None,
            "sha256": snapshot.sha256 if snapshot else None,
            "values": {m.requirement_id: values.encode(m.value) for m in filled.measured.values()},
        },
    )
    return Refresh(list(filled.measured.values()), cleared, kept, snapshot, stored)


def _write(assessment: Assessment, row: AnswerRow, value: str | None, provenance: str | None, actor: str) -> None:
    """A measured answer's new value (None: unanswered again), with the trail's answer entry."""
    previous = (row.value, row.note)
    row.value = value
    row.measured = provenance
    row.overridden = False
    row.answered_by = actor[:200]
    row.answered_at = utcnow()
    row.revision = row.revision + 1  # a save begun before this refresh meets a conflict, not an overwrite
    row.carried_over = False
    db.session.flush()
    if value != previous[0]:
        audit.emit(assessment, AnswerSaved.of(row.requirement_id, value, row.note, previous))


def _unlink(assessment: Assessment, requirement_id: str, evidence_id: int) -> None:
    """Stop an earlier snapshot supporting a requirement whose value it no longer gives."""
    remove_link(assessment, requirement_id, evidence_id)


def snapshot_bytes(bodies: list[str]) -> bytes:
    """The events snapshot's content: the stored events as JSON Lines, one per line, in id order."""
    return "".join(body + "\n" for body in bodies).encode()


def _snapshot(
    assessment: Assessment, bodies: list[str], service: str, window: Window, actor: str, store: EvidenceStore
) -> tuple[EvidenceRow, StoredFile]:
    """The scope's evidence row of these events (the same content is one row, reused), stored if new."""
    from .evidence import described

    data = snapshot_bytes(bodies)
    stored = store.save(io.BytesIO(data))
    row = db.session.scalar(
        select(EvidenceRow)
        .where(
            EvidenceRow.scope_id == assessment.scope_id,
            EvidenceRow.sha256 == stored.sha256,
            EvidenceRow.source == SNAPSHOT_SOURCE,
        )
        .order_by(EvidenceRow.id)
        .limit(1)
    )
    if row is None:
        first, last = window.first.isoformat(), window.last.isoformat()
        row = EvidenceRow(
            scope_id=assessment.scope_id,
            title=f"Delivery events of {service}, {first} to {last}"[:500],
            sha256=stored.sha256,
            original_name=safe_filename(f"delivery-events-{service}-{first}-{last}.jsonl"),
            size=stored.size,
            media_type=SNAPSHOT_MEDIA_TYPE,
            created_by=actor[:200],
            source=SNAPSHOT_SOURCE,
        )
        db.session.add(row)
        db.session.flush()
        audit.record("evidence.added", "evidence", row.id, scope_id=row.scope_id, after=described(row))
    return row, stored
