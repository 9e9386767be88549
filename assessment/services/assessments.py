"""Scopes, assessments and answers: the use cases behind the questionnaire and the results.

Every number shown comes from `assessment.domain.scoring.score` over the stored answers; the
database holds answers and evidence, never scores.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..adapters.evidence_store import EvidenceStore, StoredFile
from ..domain import values
from ..domain.answers import Answer, AnswerValue, check_value
from ..domain.answers import Evidence as DomainEvidence
from ..domain.events import AnswerSaved, AssessmentStarted
from ..domain.framework import Framework, Requirement
from ..domain.scoring import Scorecard, score
from ..extensions import db
from ..models import EDITABLE_STATUSES, SCOPE_KINDS, Assessment, EvidenceLink, FrameworkVersion, Scope, utcnow
from ..models import Answer as AnswerRow
from ..models import Evidence as EvidenceRow
from . import audit
from .errors import InvalidInput, Locked, NotFound, ServiceError
from .library import framework_of
from .metric_answers import check_service, overriding, refresh_measured

# --- scopes -------------------------------------------------------------------------------


def list_scopes(only: list[int] | None = None, with_assessments: bool = False) -> list[Scope]:
    """Every scope (or those with ids in `only`), by name; `with_assessments` loads their assessments
    and framework versions in two more queries (the home page lists them) instead of one a scope."""
    stmt = select(Scope).order_by(Scope.name)
    if with_assessments:
        stmt = stmt.options(selectinload(Scope.assessments).selectinload(Assessment.framework_version))
    if only is not None:
        stmt = stmt.where(Scope.id.in_(only))
    return list(db.session.scalars(stmt))


def shared_assessments(user_id: int) -> list[Assessment]:
    """The assessments shared with an auditor, newest first."""
    from ..models import AssessmentShare

    return list(
        db.session.scalars(
            select(Assessment)
            .join(AssessmentShare, AssessmentShare.assessment_id == Assessment.id)
            .where(AssessmentShare.user_id == user_id)
            .order_by(Assessment.id.desc())
            .options(selectinload(Assessment.scope), selectinload(Assessment.framework_version))
        )
    )


def create_scope(name: str, kind: str, description: str | None = None) -> Scope:
    """Add a scope; names are unique."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("A scope needs a name of 1 to 200 characters.")
    if kind not in SCOPE_KINDS:
        raise InvalidInput(f"A scope is a {', a '.join(SCOPE_KINDS)}; got {kind!r}.")
    if db.session.scalar(select(Scope.id).where(Scope.name == name)) is not None:
        raise InvalidInput(f"A scope named {name!r} already exists.")
    scope = Scope(name=name, kind=kind, description=(description or "").strip() or None)
    db.session.add(scope)
    db.session.flush()
    audit.record(
        "scope.created",
        "scope",
        scope.id,
        scope_id=scope.id,
        after={"name": name, "kind": kind, "description": scope.description},
    )
    return scope


# --- assessments --------------------------------------------------------------------------


def get_assessment(assessment_id: int) -> Assessment:
    """The assessment with this id, or NotFound."""
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"There is no assessment {assessment_id}.")
    return assessment


def start_assessment(
    scope: Scope,
    version: FrameworkVersion,
    target_level: int | None,
    as_of: dt.date | None,
    period_start: dt.date | None = None,
    delivery_service: str | None = None,
    store: EvidenceStore | None = None,
    actor: str | None = None,
    on_stored: Callable[[StoredFile], None] | None = None,
) -> Assessment:
    """Start a draft assessment of `scope` pinned to a framework version; its period starts on
    `period_start` (None: the 90 days up to its as-of date). With a `delivery_service` (one the scope's
    delivery events name), its metric questions are measured from that service's events at once
    (metric_answers.refresh_measured, keeping the snapshot in `store`); `on_stored` is given the snapshot
    file a refresh put in the store, for the caller to discard if it rolls back."""
    _check_period(period_start, as_of or dt.date.today())
    delivery_service = check_service(scope.id, delivery_service)
    if delivery_service is not None and store is None:
        raise ValueError("measuring a delivery service's answers needs the evidence store")
    framework = framework_of(version)
    if framework.is_maturity:
        target_level = framework.top_level if target_level is None else target_level
        if target_level not in framework.level_index:
            levels = ", ".join(str(n) for n in framework.level_index)
            raise InvalidInput(
                f"Target level {target_level} is not a level of {framework.title} ({levels}).", field="target_level"
            )
    elif target_level is not None:
        raise InvalidInput(
            f"{framework.title} is a compliance framework: it has no target level.", field="target_level"
        )
    assessment = Assessment(
        scope=scope,
        framework_version=version,
        target_level=target_level,
        as_of=as_of or dt.date.today(),
        period_start=period_start,
        delivery_service=delivery_service,
    )
    db.session.add(assessment)
    db.session.flush()
    audit.emit(
        assessment,
        AssessmentStarted(
            version.framework_id,
            version.version,
            version.id,
            target_level,
            assessment.as_of.isoformat(),
            assessment.status,
        ),
    )
    if delivery_service is not None:
        assert store is not None
        refreshed = refresh_measured(assessment, actor or audit.current_actor.get(), store)
        if refreshed.stored is not None and on_stored is not None:
            on_stored(refreshed.stored)
    return assessment


def _check_period(period_start: dt.date | None, as_of: dt.date) -> None:
    if period_start is not None and period_start > as_of:
        raise InvalidInput(
            f"Period start: {period_start.isoformat()} is after the as-of date {as_of.isoformat()}; the assessment "
            "period ends at the as-of date, so give a start on or before it (or leave it empty for the 90 days "
            "up to it).",
            field="period_start",
        )


def set_period_start(assessment: Assessment, period_start: dt.date | None) -> None:
    """Change the first day of the assessment period (None: the 90 days up to the as-of date), while the
    assessment is a draft or returned; the trail records the change."""
    _check_period(period_start, assessment.as_of)
    if period_start == assessment.period_start:
        return
    lock_for_change(assessment)
    before = None if assessment.period_start is None else assessment.period_start.isoformat()
    assessment.period_start = period_start
    after = None if period_start is None else period_start.isoformat()
    audit.about(
        assessment,
        "assessment.period_changed",
        "assessment",
        assessment.id,
        before={"period_start": before},
        after={"period_start": after},
    )


LOCKED_MESSAGES = {
    "submitted": "This assessment is submitted for review: its answers and evidence cannot change unless a program "
    "lead returns it.",
    "approved": "This assessment is approved and locked: its answers and evidence can never change. Start a new "
    "assessment of the scope (the next cycle) to record changes.",
}


def ensure_editable(assessment: Assessment) -> None:
    """Locked unless the assessment, as read, is a draft or was returned for changes.

    A check of what was read, for a request that may write nothing; a write also calls
    `lock_for_change`, which checks the status again where it cannot change any more.
    """
    if not assessment.editable:
        raise Locked(_locked_message(assessment.status))


def _locked_message(status: str | None) -> str:
    return LOCKED_MESSAGES.get(status or "", "This assessment cannot change.")


def _refuse_locked(status: str | None) -> ServiceError:
    return Locked(_locked_message(status))


_HELD = "assessments_held_for_change"


def lock_for_change(
    assessment: Assessment,
    allowed: tuple[str, ...] = EDITABLE_STATUSES,
    *,
    changed: bool = True,
    refuse: Callable[[str | None], ServiceError] = _refuse_locked,
) -> None:
    """Check the assessment's status inside the transaction that writes: the first write of every
    change to its answers, evidence links or status.

    A conditional UPDATE of the assessment's row, WHERE its status is in `allowed`. On PostgreSQL it
    takes the row lock, waiting for a submission or approval in flight to commit and then reading the
    status again; on SQLite it takes the database's one write lock. Either way the status cannot
    change until this transaction ends, so a write can no longer land after the assessment was
    submitted or approved because its status was read earlier. With `changed`, the UPDATE also marks
    the assessment changed (`updated_at`: reports rendered before are stale). When no row matches,
    nothing is written and `refuse(current status)` is raised (Locked by default).

    It must come before the transaction's first trail entry, so that every writer takes the row lock
    before the trail's lock (see audit.py), and not inside a savepoint that may roll back.
    """
    session = db.session()
    held = session.info.setdefault(_HELD, set())
    repeatable = allowed == EDITABLE_STATUSES and changed
    if repeatable and assessment.id in held:
        return  # this transaction holds the lock already and has marked the change
    now = utcnow()
    values: dict[str, Any] = {"updated_at": now} if changed else {"status": Assessment.status}
    matched = session.execute(
        update(Assessment)
        .where(Assessment.id == assessment.id, Assessment.status.in_(allowed))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if matched != 1:
        raise refuse(session.scalar(select(Assessment.status).where(Assessment.id == assessment.id)))
    if changed:
        set_committed_value(assessment, "updated_at", now)
    if repeatable:
        held.add(assessment.id)


def status_changed(assessment: Assessment) -> None:
    """Forget that this transaction checked the assessment's status: it has just changed it."""
    db.session().info.get(_HELD, set()).discard(assessment.id)


@event.listens_for(Session, "after_transaction_end")
def _forget_held(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_HELD, None)


# --- reading the state of an assessment ---------------------------------------------------


ANSWER_COLUMNS = (
    AnswerRow.requirement_id,
    AnswerRow.carried_over,
    AnswerRow.value,
    AnswerRow.note,
    AnswerRow.revision,
    AnswerRow.answered_by,
    AnswerRow.answered_at,
    AnswerRow.measured,
    AnswerRow.overridden,
)
EVIDENCE_COLUMNS = (
    EvidenceRow.id,
    EvidenceRow.title,
    EvidenceRow.url,
    EvidenceRow.sha256,
    EvidenceRow.original_name,
    EvidenceRow.size,
    EvidenceRow.media_type,
    EvidenceRow.effective,
    EvidenceRow.expires,
    EvidenceRow.created_by,
    EvidenceRow.created_at,
    EvidenceRow.source,
)


@dataclass
class AssessmentState:
    """An assessment with its framework, stored answers, evidence and scorecard, read in a few queries.

    `rows` and `evidence` hold read-only rows with the columns of ANSWER_COLUMNS and EVIDENCE_COLUMNS.
    """

    assessment: Assessment
    framework: Framework
    rows: dict[str, Any]
    evidence: dict[str, list[Any]]
    card: Scorecard

    def result(self, requirement_id: str):
        """The scored result of one requirement."""
        return self._results[requirement_id]

    def find(self, requirement_id: str):
        """The scored result of one requirement, or None when the framework has no such requirement."""
        return self._results.get(requirement_id)

    def __post_init__(self) -> None:
        self._results = {r.id: r for r in self.card.requirements}


def load_state(assessment: Assessment, domain_id: str | None = None) -> AssessmentState:
    """Everything the questionnaire and results pages show, with a constant number of queries.

    With `domain_id`, only that domain is read and scored (enough to answer a save).
    """
    framework = framework_of(assessment.framework_version)
    answer_query = select(*ANSWER_COLUMNS).where(AnswerRow.assessment_id == assessment.id)
    link_query = (
        select(EvidenceLink.requirement_id.label("linked_to"), *EVIDENCE_COLUMNS)
        .join(EvidenceRow, EvidenceLink.evidence_id == EvidenceRow.id)
        .where(EvidenceLink.assessment_id == assessment.id)
        .order_by(EvidenceLink.id)
    )
    if domain_id is not None:
        domain = next(d for d in framework.domains if d.id == domain_id)
        framework = dataclasses.replace(framework, domains=(domain,))
        ids = [r.id for r in domain.requirements]
        answer_query = answer_query.where(AnswerRow.requirement_id.in_(ids))
        link_query = link_query.where(EvidenceLink.requirement_id.in_(ids))
    # Plain rows rather than ORM objects: a 1,200-answer assessment reads in a few milliseconds.
    rows = {row.requirement_id: row for row in db.session.execute(answer_query)}
    evidence: dict[str, list] = defaultdict(list)
    for item in db.session.execute(link_query):
        evidence[item.linked_to].append(item)
    answers = domain_answers(framework, rows, evidence)
    card = score(
        framework, answers, as_of=assessment.as_of, target_level=assessment.target_level, scope=assessment.scope.name
    )
    return AssessmentState(assessment, framework, rows, evidence, card)


def answered_ids(assessment: Assessment) -> set[str]:
    """The ids of the requirements answered so far (na included), in one light query."""
    return set(
        db.session.scalars(
            select(AnswerRow.requirement_id).where(
                AnswerRow.assessment_id == assessment.id, AnswerRow.value.is_not(None)
            )
        )
    )


def domain_answers(framework: Framework, rows: dict[str, Any], evidence: dict[str, list[Any]]) -> dict[str, Answer]:
    """The stored answers as the domain's `Answer` objects."""
    answers = {}
    index = framework.requirement_index
    for requirement_id in rows.keys() | evidence.keys():
        row = rows.get(requirement_id)
        items = tuple(to_domain_evidence(e) for e in evidence.get(requirement_id, ()))
        requirement = index.get(requirement_id)
        value = row.value if row else None
        if requirement is not None:
            value = values.decode(value, requirement)
        answers[requirement_id] = Answer(requirement_id, value, row.note if row else None, items)
    return answers


def to_domain_evidence(item: Any) -> DomainEvidence:
    """A stored evidence item (row or object) as the domain sees it."""
    return DomainEvidence(
        title=item.title,
        url=item.url,
        file=item.original_name if item.sha256 else None,
        sha256=item.sha256,
        size=item.size,
        effective=item.effective,
        expires=item.expires,
    )


# --- saving answers -----------------------------------------------------------------------


def parse_value(requirement: Requirement, raw: str | None) -> AnswerValue | None:
    """A submitted value checked against the requirement's scale or bands; '' clears the answer."""
    raw = (raw or "").strip()
    if raw == "":
        return None
    try:
        value = values.decode(raw, requirement)
    except ValueError:
        raise InvalidInput(f"{requirement.id}: {raw!r} is not a number.") from None
    problem = check_value(requirement, value)
    if problem:
        raise InvalidInput(f"{requirement.id}: {problem}")
    return value


@dataclass(frozen=True)
class SaveResult:
    """What happened to one submitted answer."""

    requirement_id: str
    outcome: str  # "saved", "unchanged" or "conflict"
    revision: int
    theirs_value: str | None = None
    theirs_note: str | None = None
    theirs_by: str | None = None
    yours_value: str | None = None
    yours_note: str | None = None


def _text(requirement_id: str, value: AnswerValue | None) -> str | None:
    try:
        return values.encode(value)
    except ValueError as problem:
        raise InvalidInput(f"{requirement_id}: {problem}.") from None


NOTE_MAX = 20_000


def check_answer(
    framework: Framework, requirement_id: str, raw_value: str | None, note: str | None
) -> tuple[str | None, str | None]:
    """The stored texts of a submitted value and note, checked against the requirement's scale or bands: the
    one check every writer of answers makes (one at a time or many at once). NotFound for a requirement the
    framework does not have; InvalidInput naming the field ("value" or "note") otherwise."""
    requirement = framework.requirement_index.get(requirement_id)
    if requirement is None:
        raise NotFound(f"{framework.id} has no requirement {requirement_id!r}.")
    try:
        value = _text(requirement_id, parse_value(requirement, raw_value))
    except InvalidInput as error:
        raise InvalidInput(error.message, field="value") from None
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise InvalidInput(f"{requirement_id}: the note is longer than 20,000 characters.", field="note")
    return value, note


def unknown_revision(requirement_id: str, seen_revision: int) -> InvalidInput:
    """The error of a revision given for an answer that was never saved."""
    return InvalidInput(f"{requirement_id}: unknown revision {seen_revision}.", field="revision")


def save_answer(
    assessment: Assessment,
    framework: Framework,
    requirement_id: str,
    raw_value: str | None,
    note: str | None,
    seen_revision: int,
    user: str,
) -> SaveResult:
    """Save one answer unless someone else saved it since `seen_revision`; never overwrite silently."""
    ensure_editable(assessment)
    value, note = check_answer(framework, requirement_id, raw_value, note)
    row = db.session.scalar(
        select(AnswerRow).where(AnswerRow.assessment_id == assessment.id, AnswerRow.requirement_id == requirement_id)
    )
    if row is not None and (row.value, row.note) == (value, note):
        if row.carried_over and row.revision == seen_revision:  # saved as it stands: the team confirms it
            from .cycles import confirm

            confirm(assessment, [requirement_id], user)
            return SaveResult(requirement_id, "saved", seen_revision + 1)
        return SaveResult(requirement_id, "unchanged", row.revision)
    overridden = overriding(row, value, note)  # before any write: a refused override changes nothing
    if row is None:
        if seen_revision != 0:
            raise unknown_revision(requirement_id, seen_revision)
        if value is None and note is None:
            return SaveResult(requirement_id, "unchanged", 0)
        lock_for_change(assessment)
        row = AnswerRow(
            assessment_id=assessment.id,
            requirement_id=requirement_id,
            value=value,
            note=note,
            answered_by=user,
            revision=1,
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # someone else created it at the same moment
            return _conflict(assessment, requirement_id, value, note)
        audit.emit(assessment, AnswerSaved.of(requirement_id, value, note))
        return SaveResult(requirement_id, "saved", 1)
    if row.revision != seen_revision:
        return _conflict(assessment, requirement_id, value, note, row)
    lock_for_change(assessment)
    changed = db.session.execute(
        update(AnswerRow)
        .where(AnswerRow.id == row.id, AnswerRow.revision == seen_revision)
        .values(
            value=value,
            note=note,
            answered_by=user,
            answered_at=utcnow(),
            revision=seen_revision + 1,
            carried_over=False,
            overridden=overridden,
            **({"measured": None} if value is None else {}),  # cleared: unanswered, a refresh measures it again
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        return _conflict(assessment, requirement_id, value, note)
    previous = (row.value, row.note)
    db.session.expire(row)
    audit.emit(assessment, AnswerSaved.of(requirement_id, value, note, previous))
    return SaveResult(requirement_id, "saved", seen_revision + 1)


def _conflict(
    assessment: Assessment, requirement_id: str, value: str | None, note: str | None, row: AnswerRow | None = None
) -> SaveResult:
    if row is None:
        row = db.session.scalar(
            select(AnswerRow).where(
                AnswerRow.assessment_id == assessment.id, AnswerRow.requirement_id == requirement_id
            )
        )
        db.session.refresh(row)
    return SaveResult(requirement_id, "conflict", row.revision, row.value, row.note, row.answered_by, value, note)
