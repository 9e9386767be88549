"""Suggested answers: an answer given in one assessment offered to a mapped requirement of another.

"Answer once, satisfy many": when a requirement of this assessment is unanswered (or answered
differently) and a requirement mapped to it (stored mapping sets, shared practice tags) is answered
in another assessment of the same scope, the newest such answer is suggested. Nothing is set
silently: a person accepts it, and accepting saves it through the normal answer service, links the
same evidence, and records where it came from in the trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..domain.framework import Framework
from ..domain.mappings import Mapping, Relation, translate
from ..extensions import db
from ..models import Answer as AnswerRow
from ..models import Assessment, Evidence, EvidenceLink, FrameworkVersion
from . import assessments as answers_svc
from . import audit
from . import evidence as evidence_svc
from .errors import Conflict, NotFound
from .library import framework_of
from .mappings import mappings_into


@dataclass(frozen=True)
class Suggestion:
    """What another assessment's answer suggests for one requirement of this one."""

    requirement_id: str
    value: str  # in this requirement's scale
    note: str | None
    evidence_ids: tuple[int, ...]
    source_assessment_id: int
    source_framework: str  # its title
    source_requirement: str
    source_value: str
    relation: Relation

    @property
    def provenance(self) -> str:
        return f"From {self.source_framework} {self.source_requirement} ({self.relation.value})"


def suggestions_for(assessment: Assessment, framework: Framework) -> dict[str, Suggestion]:
    """Requirement id -> the newest mapped answer of another assessment of the same scope, where it
    would change something (the requirement is unanswered, or answered with another value)."""
    framework_id = assessment.framework_version.framework_id
    into: dict[str, list[Mapping]] = {}
    for m in mappings_into(framework_id):
        if m.target_requirement in framework.requirement_index:
            into.setdefault(m.target_requirement, []).append(m)
    if not into:
        return {}
    sources = {m.source_framework for ms in into.values() for m in ms}
    others = db.session.execute(
        select(Assessment, FrameworkVersion)
        .join(FrameworkVersion, Assessment.framework_version_id == FrameworkVersion.id)
        .where(
            Assessment.scope_id == assessment.scope_id,
            Assessment.id != assessment.id,
            FrameworkVersion.framework_id.in_(sources),
        )
    ).all()
    if not others:
        return {}
    by_assessment = {a.id: (a, v) for a, v in others}
    rows = db.session.scalars(
        select(AnswerRow).where(AnswerRow.assessment_id.in_(by_assessment), AnswerRow.value.is_not(None))
    ).all()
    answered: dict[tuple[str, str], list[AnswerRow]] = {}  # (framework id, requirement id) -> answers
    for row in rows:
        version = by_assessment[row.assessment_id][1]
        answered.setdefault((version.framework_id, row.requirement_id), []).append(row)
    mine = {
        r.requirement_id: r.value
        for r in db.session.scalars(select(AnswerRow).where(AnswerRow.assessment_id == assessment.id))
    }
    result: dict[str, Suggestion] = {}
    for requirement_id, mappings in into.items():
        target = framework.requirement_index[requirement_id]
        best: tuple[AnswerRow, Mapping, str, FrameworkVersion] | None = None
        for m in mappings:
            for row in answered.get((m.source_framework, m.source_requirement), []):
                version = by_assessment[row.assessment_id][1]
                source_req = framework_of(version).requirement_index.get(m.source_requirement)
                value = translate(row.value, source_req, target) if source_req is not None else None
                if value is None:
                    continue
                if best is None or (row.answered_at, row.id) > (best[0].answered_at, best[0].id):
                    best = (row, m, value, version)
        if best is None:
            continue
        row, m, value, version = best
        if mine.get(requirement_id) == value:
            continue
        evidence = db.session.scalars(
            select(EvidenceLink.evidence_id).where(
                EvidenceLink.assessment_id == row.assessment_id, EvidenceLink.requirement_id == row.requirement_id
            )
        ).all()
        result[requirement_id] = Suggestion(
            requirement_id,
            value,
            row.note,
            tuple(sorted(evidence)),
            row.assessment_id,
            version.title,
            m.source_requirement,
            row.value,
            m.relation,
        )
    return result


def accept(assessment: Assessment, framework: Framework, requirement_id: str, user: str) -> Suggestion:
    """Save the current suggestion for `requirement_id` as its answer (the normal answer service, so
    locks, status and conflicts apply), link its evidence, and record where it came from."""
    answers_svc.ensure_editable(assessment)
    suggestion = suggestions_for(assessment, framework).get(requirement_id)
    if suggestion is None:
        # the page that offered it is stale (answered meanwhile, or the other answer changed): nothing is saved
        raise Conflict(f"No suggestion for {requirement_id} any more: it may be answered already; look at it again.")
    row = db.session.scalar(
        select(AnswerRow).where(AnswerRow.assessment_id == assessment.id, AnswerRow.requirement_id == requirement_id)
    )
    # the target's own note stays; else the source's note travels, prefixed with where it came from
    carried = f"{suggestion.provenance}: {suggestion.note}" if suggestion.note else suggestion.provenance
    note = row.note if row is not None and row.note else carried[: answers_svc.NOTE_MAX]
    result = answers_svc.save_answer(
        assessment,
        framework,
        requirement_id,
        suggestion.value,
        note,
        row.revision if row is not None else 0,
        user,
    )
    if result.outcome == "conflict":
        raise Conflict(f"{requirement_id} changed meanwhile: look at it again.")
    for evidence_id in suggestion.evidence_ids:
        item = db.session.get(Evidence, evidence_id)
        if item is not None and item.scope_id == assessment.scope_id:
            evidence_svc.link(assessment, requirement_id, item)
    audit.about(
        assessment,
        "answer.suggestion_accepted",
        "answer",
        f"{assessment.id}:{requirement_id}",
        after={
            "requirement": requirement_id,
            "value": suggestion.value,
            "source_assessment": suggestion.source_assessment_id,
            "source_framework": suggestion.source_framework,
            "source_requirement": suggestion.source_requirement,
            "source_value": suggestion.source_value,
            "relation": suggestion.relation.value,
            "evidence": list(suggestion.evidence_ids),
        },
    )
    return suggestion


@dataclass(frozen=True)
class CoverageRow:
    """One requirement of framework B and what the met requirements of A say about it."""

    requirement_id: str
    title: str
    status: str  # "covered", "partial" or "open"
    via: tuple[str, ...]  # "AC-1 (equal)", the met requirements of A that map to it


@dataclass(frozen=True)
class Coverage:
    """How far the scope's newest assessment of A covers framework B, domain by domain."""

    source: Assessment
    target_title: str
    domains: tuple[tuple[str, tuple[CoverageRow, ...]], ...]  # (domain title, rows)

    def count(self, status: str) -> int:
        return sum(1 for _, rows in self.domains for r in rows if r.status == status)

    @property
    def total(self) -> int:
        return sum(len(rows) for _, rows in self.domains)


def coverage(scope_id: int, source_framework: str, target_framework: str) -> Coverage:
    """B's requirements mapped to a met requirement of the scope's newest assessment of A: equal and
    superset cover fully, subset and intersect only partly (they are listed, not counted as covered)."""
    source = db.session.scalar(
        select(Assessment)
        .join(FrameworkVersion, Assessment.framework_version_id == FrameworkVersion.id)
        .where(Assessment.scope_id == scope_id, FrameworkVersion.framework_id == source_framework)
        .order_by(Assessment.as_of.desc(), Assessment.id.desc())
        .limit(1)
    )
    if source is None:
        raise NotFound(f"This scope has no assessment of {source_framework}.")
    target_row = db.session.scalar(
        select(FrameworkVersion)
        .where(FrameworkVersion.framework_id == target_framework)
        .order_by(FrameworkVersion.id.desc())
        .limit(1)
    )
    if target_row is None:
        raise NotFound(f"No framework {target_framework} in the library.")
    target = framework_of(target_row)
    state = answers_svc.load_state(source)
    met = {r.requirement.id for d in state.card.domains for r in d.results if r.status == "met"}
    into: dict[str, list[Mapping]] = {}
    for m in mappings_into(target_framework):
        if m.source_framework == source_framework and m.source_requirement in met:
            into.setdefault(m.target_requirement, []).append(m)
    domains = []
    for domain in target.domains:
        rows = []
        for requirement in domain.requirements:
            found = into.get(requirement.id, [])
            status = "covered" if any(m.relation.covers_fully for m in found) else "partial" if found else "open"
            via = tuple(sorted({f"{m.source_requirement} ({m.relation.value})" for m in found}))
            rows.append(CoverageRow(requirement.id, requirement.title, status, via))
        domains.append((domain.title, tuple(rows)))
    return Coverage(source, target.title, tuple(domains))
