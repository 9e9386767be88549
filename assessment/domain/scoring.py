"""Scoring (spec section 3): framework + answers + as-of date -> Scorecard.

One pass over the requirements; domain and overall figures are sums over that pass, and a
level is found from the lowest level among unmet requirements, so the cost is linear in the
size of the framework.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .answers import NA, Answer, Answers, AnswerValue
from .framework import Domain, Framework, Level, Requirement

Status = Literal["met", "partial", "not_met", "not_applicable", "unanswered"]
STATUSES: tuple[Status, ...] = ("met", "partial", "not_met", "not_applicable", "unanswered")


@dataclass(frozen=True, slots=True)
class RequirementResult:
    """How one requirement scored."""

    requirement: Requirement
    value: AnswerValue | None
    status: Status
    credit: float
    raw_credit: float
    unsupported: bool
    answer: Answer | None = None

    @property
    def applicable(self) -> bool:
        """Whether it counts in scores and levels (everything but `na`)."""
        return self.status != "not_applicable"

    @property
    def id(self) -> str:
        """The requirement's id."""
        return self.requirement.id


@dataclass(frozen=True, slots=True)
class Counts:
    """Requirements by status."""

    met: int = 0
    partial: int = 0
    not_met: int = 0
    not_applicable: int = 0
    unanswered: int = 0

    @classmethod
    def of(cls, results: Iterable[RequirementResult]) -> Counts:
        """Count `results` by status."""
        tally = dict.fromkeys(STATUSES, 0)
        for result in results:
            tally[result.status] += 1
        return cls(**tally)

    def as_dict(self) -> dict[str, int]:
        """The counts in the spec's key order."""
        return {status: getattr(self, status) for status in STATUSES}

    @property
    def total(self) -> int:
        """All requirements counted."""
        return sum(self.as_dict().values())


@dataclass(frozen=True)
class DomainResult:
    """How one domain scored."""

    domain: Domain
    score: float | None
    level: int | None
    counts: Counts
    results: tuple[RequirementResult, ...]


@dataclass(frozen=True)
class Scorecard:
    """Everything the spec computes for one assessment."""

    framework: Framework
    scope: str | None
    as_of: dt.date
    target_level: int | None
    score: float | None
    completion: float
    level: int | None
    counts: Counts
    domains: tuple[DomainResult, ...]
    requirements: tuple[RequirementResult, ...]
    gaps: tuple[RequirementResult, ...]

    @property
    def level_name(self) -> str | None:
        """The name of the overall level."""
        return self.framework.level_name(self.level)

    def next_level(self) -> Level | None:
        """The level above the overall level, or None at the top or for compliance."""
        if self.level is None:
            return None
        for level in self.framework.levels:
            if level.number > self.level:
                return level
        return None

    def blockers(self) -> tuple[RequirementResult, ...]:
        """The applicable unmet requirements that stand between the overall level and the next."""
        upcoming = self.next_level()
        if upcoming is None:
            return ()
        return tuple(
            r
            for r in self.requirements
            if r.applicable
            and r.status != "met"
            and r.requirement.level is not None
            and r.requirement.level <= upcoming.number
        )


def score(
    framework: Framework,
    answers: Answers | Mapping[str, Answer],
    as_of: dt.date | None = None,
    target_level: int | None = None,
    scope: str | None = None,
) -> Scorecard:
    """Score `answers` against `framework` as the spec's section 3 says.

    `as_of` and `target_level` override those of an `Answers`; `as_of` defaults to today and
    `target_level` to the top level (None for a compliance framework).
    """
    if isinstance(answers, Answers):
        as_of = as_of or answers.as_of
        target_level = target_level if target_level is not None else answers.target_level
        scope = scope if scope is not None else answers.scope
        by_id: Mapping[str, Answer] = answers.answers
    else:
        by_id = answers
    as_of = as_of or dt.date.today()
    if framework.is_maturity:
        target_level = framework.top_level if target_level is None else target_level
    else:
        target_level = None

    threshold = framework.met_threshold
    domain_results = []
    all_results: list[RequirementResult] = []
    weighted_sum = weight_total = 0.0
    for domain in framework.domains:
        results = tuple(_score_requirement(r, by_id.get(r.id), as_of, threshold) for r in domain.requirements)
        all_results.extend(results)
        domain_score = _weighted_score(results)
        if domain_score is not None:
            weighted_sum += domain.weight * domain_score
            weight_total += domain.weight
        domain_results.append(
            DomainResult(domain, domain_score, _level(framework, results), Counts.of(results), results)
        )

    total = len(all_results)
    answered = sum(1 for r in all_results if r.status != "unanswered")
    requirements = tuple(all_results)
    return Scorecard(
        framework=framework,
        scope=scope,
        as_of=as_of,
        target_level=target_level,
        score=(weighted_sum / weight_total) if weight_total else None,
        completion=100.0 * answered / total if total else 0.0,
        level=_level(framework, requirements),
        counts=Counts.of(requirements),
        domains=tuple(domain_results),
        requirements=requirements,
        gaps=_gaps(framework, requirements, target_level),
    )


def _score_requirement(req: Requirement, answer: Answer | None, as_of: dt.date, threshold: float) -> RequirementResult:
    if answer is None or answer.value is None:
        return RequirementResult(req, None, "unanswered", 0.0, 0.0, False, answer)
    if answer.value == NA:
        return RequirementResult(req, NA, "not_applicable", 0.0, 0.0, False, answer)
    raw = req.answer.credit_of(answer.value)  # type: ignore[arg-type]
    raw = float(raw or 0.0)
    credit, unsupported = raw, False
    if req.evidence == "required" and raw > 0 and not any(e.is_current(as_of) for e in answer.evidence):
        credit, unsupported = 0.0, True
    if credit >= threshold:
        status: Status = "met"
    elif credit > 0:
        status = "partial"
    else:
        status = "not_met"
    return RequirementResult(req, answer.value, status, credit, raw, unsupported, answer)


def _weighted_score(results: Iterable[RequirementResult]) -> float | None:
    total_weight = earned = 0.0
    for result in results:
        if result.status != "not_applicable":
            weight = result.requirement.weight
            total_weight += weight
            earned += weight * result.credit
    return 100.0 * earned / total_weight if total_weight else None


def _level(framework: Framework, results: Iterable[RequirementResult]) -> int | None:
    """The highest level L such that every applicable requirement at or below L is met."""
    if not framework.is_maturity:
        return None
    lowest_unmet: int | None = None
    any_applicable = False
    for result in results:
        if result.status == "not_applicable":
            continue
        any_applicable = True
        level = result.requirement.level
        if result.status != "met" and level is not None and (lowest_unmet is None or level < lowest_unmet):
            lowest_unmet = level
    if not any_applicable:
        return None
    if lowest_unmet is None:
        return framework.top_level
    reached = framework.levels[0].number
    for level in framework.levels:
        if level.number >= lowest_unmet:
            break
        reached = level.number
    return reached


def _gaps(
    framework: Framework, results: tuple[RequirementResult, ...], target: int | None
) -> tuple[RequirementResult, ...]:
    gaps = [r for r in results if r.status not in ("met", "not_applicable")]
    if framework.is_maturity and target is not None:
        gaps = [r for r in gaps if r.requirement.level is not None and r.requirement.level <= target]
        gaps.sort(key=lambda r: r.requirement.level)  # stable: file order within a level
    return tuple(gaps)


def scorecard_to_dict(card: Scorecard) -> dict[str, Any]:
    """The spec's JSON output of `assessment score --format json` (numbers unrounded)."""
    fw = card.framework
    return {
        "framework": {"id": fw.id, "version": fw.version, "title": fw.title, "kind": fw.kind},
        "scope": card.scope,
        "as_of": card.as_of.isoformat(),
        "overall": {
            "score": card.score,
            "completion": card.completion,
            "level": card.level,
            "level_name": card.level_name,
            "target_level": card.target_level,
            "counts": card.counts.as_dict(),
        },
        "domains": [
            {
                "id": d.domain.id,
                "title": d.domain.title,
                "score": d.score,
                "level": d.level,
                "counts": d.counts.as_dict(),
            }
            for d in card.domains
        ],
        "requirements": [
            {
                "id": r.id,
                "domain": r.requirement.domain_id,
                "level": r.requirement.level,
                "value": r.value,
                "status": r.status,
                "credit": r.credit,
                "unsupported": r.unsupported,
            }
            for r in card.requirements
        ],
        "gaps": [
            {
                "id": r.id,
                "domain": r.requirement.domain_id,
                "level": r.requirement.level,
                "status": r.status,
                "credit": r.credit,
                "unsupported": r.unsupported,
                "recommendation": r.requirement.recommendation,
            }
            for r in card.gaps
        ],
    }
