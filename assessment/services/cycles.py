"""Cycles: assessing a scope again, starting from its last assessment (Plan-Do-Check-Act).

The new assessment copies the previous answers and evidence links as a starting point. Each copied
answer is marked "carried over" until someone confirms or changes it. Evidence is judged again at
the new as-of date (scoring does that), so expired evidence stops counting and shows as such. A
cycle may move to a newer version of the framework: answers carry over by requirement id when the
requirement still exists and the value is still valid; the rest is listed for the team.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, update

from ..adapters.evidence_store import EvidenceStore, StoredFile
from ..domain import values
from ..domain.answers import check_value
from ..domain.events import AnswerSaved, EvidenceLinked
from ..extensions import db
from ..models import Answer as AnswerRow
from ..models import Assessment, EvidenceLink, FrameworkVersion, User, utcnow
from . import access, audit
from .assessments import ensure_editable, lock_for_change, start_assessment
from .errors import InvalidInput, NotFound
from .library import framework_of
from .metric_answers import refresh_measured


@dataclass
class CarryReport:
    """What starting the next cycle did, for the team to review."""

    assessment: Assessment
    carried: int = 0
    links: int = 0
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (requirement id, why)
    added: list[str] = field(default_factory=list)  # requirements new in this version
    removed: list[str] = field(default_factory=list)  # requirements gone from this version


def version_changes(before: FrameworkVersion, after: FrameworkVersion) -> tuple[list[str], list[str]]:
    """Requirement ids added and removed between two versions of a framework, in file order."""
    old, new = framework_of(before), framework_of(after)
    old_ids, new_ids = set(old.requirement_index), set(new.requirement_index)
    return [r.id for r in new.requirements if r.id not in old_ids], [
        r.id for r in old.requirements if r.id not in new_ids
    ]


def start_next_cycle(
    previous: Assessment,
    version: FrameworkVersion | None,
    target_level: int | None,
    as_of: dt.date | None,
    store: EvidenceStore | None = None,
    actor: str | None = None,
    on_stored: Callable[[StoredFile], None] | None = None,
) -> CarryReport:
    """A new draft assessment of the same scope, its answers and evidence carried over from `previous`.

    It keeps the previous cycle's delivery service; with the evidence `store`, its measured answers (carried
    with their provenance and overrides) are measured again over the new period at once (`on_stored` gets the
    snapshot file a refresh stored, for the caller to discard if it rolls back)."""
    version = version or previous.framework_version
    if version.framework_id != previous.framework_version.framework_id:
        raise InvalidInput(
            f"The next cycle must assess {previous.framework_version.title} again (any version of it); "
            "start a fresh assessment for another framework."
        )
    as_of = as_of or dt.date.today()
    if as_of < previous.as_of:
        raise InvalidInput(f"The next cycle's as-of date must not be before the previous one ({previous.as_of}).")
    framework = framework_of(version)
    if target_level is None and framework.is_maturity:
        target_level = previous.target_level if previous.target_level in framework.level_index else None
    assessment = start_assessment(previous.scope, version, target_level, as_of)
    assessment.previous_id = previous.id
    assessment.delivery_service = previous.delivery_service
    report = CarryReport(assessment)
    if version.id != previous.framework_version_id:
        report.added, report.removed = version_changes(previous.framework_version, version)
    rows = db.session.scalars(select(AnswerRow).where(AnswerRow.assessment_id == previous.id)).all()
    for row in sorted(rows, key=lambda r: r.requirement_id):
        requirement = framework.requirement_index.get(row.requirement_id)
        if requirement is None:
            continue  # listed in report.removed
        try:
            decoded = values.decode(row.value, requirement)
            problem = None if decoded is None else check_value(requirement, decoded)
        except ValueError as error:
            problem = str(error)
        if problem:
            report.dropped.append((row.requirement_id, f"{row.requirement_id}: {problem}"))
            continue
        value = values.encode(decoded)  # in today's form, whatever form an older version stored
        db.session.add(
            AnswerRow(
                assessment_id=assessment.id,
                requirement_id=row.requirement_id,
                value=value,
                note=row.note,
                answered_by=row.answered_by,
                answered_at=row.answered_at,
                revision=1,
                carried_over=True,
                measured=row.measured,
                overridden=row.overridden,
            )
        )
        report.carried += 1
        audit.emit(assessment, AnswerSaved.of(row.requirement_id, value, row.note, carried_from=previous.id))
    links = db.session.execute(
        select(EvidenceLink.requirement_id, EvidenceLink.evidence_id)
        .where(EvidenceLink.assessment_id == previous.id)
        .order_by(EvidenceLink.id)
    ).all()
    for requirement_id, evidence_id in links:
        if requirement_id in framework.requirement_index:
            db.session.add(
                EvidenceLink(assessment_id=assessment.id, requirement_id=requirement_id, evidence_id=evidence_id)
            )
            report.links += 1
            audit.emit(assessment, EvidenceLinked(requirement_id, evidence_id, carried_over=True))
    db.session.flush()
    audit.about(
        assessment,
        "assessment.next_cycle",
        "assessment",
        assessment.id,
        after={
            "previous": previous.id,
            "carried": report.carried,
            "links": report.links,
            "dropped": [rid for rid, _ in report.dropped],
            "added": report.added,
            "removed": report.removed,
        },
    )
    if assessment.delivery_service and store is not None:
        refreshed = refresh_measured(assessment, actor or audit.current_actor.get(), store)
        if refreshed.stored is not None and on_stored is not None:
            on_stored(refreshed.stored)
    return report


def carried_over_ids(assessment: Assessment, requirement_ids: list[str] | None = None) -> set[str]:
    """Requirements whose answer is still the previous cycle's, unconfirmed."""
    stmt = select(AnswerRow.requirement_id).where(
        AnswerRow.assessment_id == assessment.id, AnswerRow.carried_over.is_(True)
    )
    if requirement_ids is not None:
        stmt = stmt.where(AnswerRow.requirement_id.in_(requirement_ids))
    return set(db.session.scalars(stmt))


def confirm(assessment: Assessment, requirement_ids: list[str], actor: str) -> int:
    """Confirm carried-over answers as they stand (the team checked them); returns how many."""
    ensure_editable(assessment)
    ids = sorted(carried_over_ids(assessment, requirement_ids))
    if not ids:
        return 0
    lock_for_change(assessment)
    db.session.execute(
        update(AnswerRow)
        .where(AnswerRow.assessment_id == assessment.id, AnswerRow.requirement_id.in_(ids))
        .values(carried_over=False, answered_by=actor, answered_at=utcnow(), revision=AnswerRow.revision + 1)
        .execution_options(synchronize_session=False)
    )
    for rid in ids:
        audit.about(
            assessment,
            "answer.confirmed",
            "answer",
            f"{assessment.id}/{rid}",
            before={"carried_over": True},
            after={"carried_over": False},
        )
    return len(ids)


def carry_report_of(assessment: Assessment) -> dict | None:
    """What starting this cycle carried over, as the trail recorded it (requirements added,
    removed, and answers left blank because their value is no longer valid)."""
    import json

    from ..models import AuditEntry

    after = db.session.scalar(
        select(AuditEntry.after).where(
            AuditEntry.action == "assessment.next_cycle",
            AuditEntry.object_type == "assessment",
            AuditEntry.object_id == str(assessment.id),
        )
    )
    return json.loads(after) if after else None


# --- choices, rights and rules of the loop (the pages ask; the rules live here) -----------------


def version_choices(assessment: Assessment) -> list[FrameworkVersion]:
    """The versions a next cycle may use: every version of the same framework, newest first."""
    return list(
        db.session.scalars(
            select(FrameworkVersion)
            .where(FrameworkVersion.framework_id == assessment.framework_version.framework_id)
            .order_by(FrameworkVersion.id.desc())
        )
    )


def chosen_version(version_id: int | None) -> FrameworkVersion | None:
    """The framework version a person chose for the next cycle (None: the same one), or NotFound."""
    if version_id is None:
        return None
    version = db.session.get(FrameworkVersion, version_id)
    if version is None:
        raise NotFound("Choose a version of the framework from the list.")
    return version


def may_start_next(person: User, assessment: Assessment) -> bool:
    """Whether `person` may start the next cycle of this assessment's scope (leads, admins, its team)."""
    return person.role in access.SCOPE_ACTIONS["start"] and (
        person.role != "member" or access.is_member(person, assessment.scope_id)
    )


def comparable(assessment: Assessment, other: Assessment) -> tuple[Assessment, Assessment]:
    """The two assessments in time order (before, after), or InvalidInput when they cannot be compared:
    a comparison is of one scope, on one framework (any versions of it)."""
    if other.scope_id != assessment.scope_id:
        raise InvalidInput("Compare two assessments of the same scope.")
    if other.framework_version.framework_id != assessment.framework_version.framework_id:
        raise InvalidInput("Compare two assessments of the same framework (any versions of it).")
    before, after = sorted((assessment, other), key=lambda a: (a.as_of, a.id))
    return before, after


def comparison_choices(assessment: Assessment) -> list[Assessment]:
    """The other assessments of the scope on the same framework, which this one may be compared with."""
    framework_id = assessment.framework_version.framework_id
    return [
        a
        for a in assessment.scope.assessments
        if a.id != assessment.id and a.framework_version.framework_id == framework_id
    ]
