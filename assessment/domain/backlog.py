"""Gaps -> prioritised improvement items: one proposal per gap of a scorecard, most urgent first.

Priority is a whole number, higher = more urgent, the sum of four parts:

    priority = 10000 x blocker + 100 x level_urgency + 50 x evidence_only + weight_points

- blocker: 1 when the gap stands between the overall level and the next one
  (`Scorecard.blockers()`). Every other part adds up to at most 9990, so a blocker always
  ranks above every gap that is not one.
- level_urgency (maturity only): how many defined levels lie above the requirement's level,
  capped at 99, so a level 2 practice of a 1-5 framework scores 3 and a level 5 one 0. Lower
  levels are the foundation of higher ones and come first.
- evidence_only: 1 for an unsupported gap (the answer earns credit, but evidence is required
  and none is current). A new or renewed document closes it, so it is cheap and comes first
  among gaps of the same level.
- weight_points: round(40 x weight / the largest requirement weight among the gaps), 0 to 40
  (Python's round, halves to even). Heavier requirements move the score more.

Compliance frameworks have no levels: only evidence_only and weight_points count. Ties keep
the order of `Scorecard.gaps` (for maturity by level, then file order), so the result is
deterministic for a given scorecard.
"""

from __future__ import annotations

from dataclasses import dataclass

from .framework import Framework
from .scoring import RequirementResult, Scorecard, Status

BLOCKER_POINTS = 10_000
LEVEL_POINTS = 100
MAX_LEVEL_URGENCY = 99
EVIDENCE_ONLY_POINTS = 50
WEIGHT_POINTS = 40


@dataclass(frozen=True)
class BacklogProposal:
    """One proposed improvement item: a gap, how urgent it is and why."""

    requirement_id: str
    domain_id: str
    title: str
    recommendation: str | None
    level: int | None
    status: Status
    credit: float
    unsupported: bool
    priority: int
    reasons: tuple[str, ...]
    blocks: int | None = None  # the next overall level this gap stands in the way of
    weight: float = 1.0
    levels_above: int = 0  # defined levels above the requirement's (maturity only)

    def in_words(self) -> str:
        """Why the item ranks where it does, for a person: "blocks level 3, L2 practice (3 levels
        build on it), weight 3, not met"."""
        parts = []
        if self.blocks is not None:
            parts.append(f"blocks level {self.blocks}")
        if self.level is not None:
            above = f" ({self.levels_above} level{'s build' if self.levels_above != 1 else ' builds'} on it)"
            parts.append(f"L{self.level} practice" + (above if self.levels_above else ""))
        if self.weight != 1.0:
            parts.append(f"weight {self.weight:g}")
        parts.append(status_in_words(self.status, self.credit, self.unsupported))
        return ", ".join(parts)


def status_in_words(status: Status, credit: float, unsupported: bool) -> str:
    """A requirement's result as the backlog says it: "not met", "partly met (50 %)", ..."""
    if unsupported:
        return "claimed, but no current evidence"
    if status == "partial":
        return f"partly met ({credit:.0%})".replace("%", " %")
    return {"not_met": "not met", "unanswered": "not answered yet", "met": "met", "not_applicable": "not applicable"}[
        status
    ]


def propose_backlog(card: Scorecard) -> tuple[BacklogProposal, ...]:
    """One proposal per gap of `card`, by priority (highest first), then in the order of the gaps."""
    framework = card.framework
    upcoming = card.next_level()
    blocker_ids = {r.id for r in card.blockers()}
    gaps = _unique(card.gaps)
    max_weight = max((r.requirement.weight for r in gaps), default=1.0) or 1.0
    proposals = [
        _proposal(framework, result, result.id in blocker_ids, upcoming.number if upcoming else None, max_weight)
        for result in gaps
    ]
    # sorted() is stable: equal priorities keep the order of the gaps.
    return tuple(sorted(proposals, key=lambda p: -p.priority))


def _unique(gaps: tuple[RequirementResult, ...]) -> list[RequirementResult]:
    seen: set[str] = set()
    unique = []
    for result in gaps:
        if result.id not in seen:
            seen.add(result.id)
            unique.append(result)
    return unique


def _proposal(
    framework: Framework, result: RequirementResult, blocker: bool, next_level: int | None, max_weight: float
) -> BacklogProposal:
    requirement = result.requirement
    reasons: list[str] = []
    priority = 0
    levels_above = 0
    if blocker and next_level is not None:
        priority += BLOCKER_POINTS
        reasons.append(f"blocks level {next_level}")
    if framework.is_maturity and requirement.level is not None:
        levels_above = _level_urgency(framework, requirement.level)
        priority += LEVEL_POINTS * levels_above
        if not blocker:
            reasons.append(f"level {requirement.level}")
    if result.unsupported:
        priority += EVIDENCE_ONLY_POINTS
        reasons.append("evidence-only gap: claimed without current evidence")
    if result.status == "unanswered":
        reasons.append("not answered yet")
    priority += round(WEIGHT_POINTS * requirement.weight / max_weight)
    if requirement.weight != 1.0:
        reasons.append(f"weight {requirement.weight:g}")
    return BacklogProposal(
        requirement_id=requirement.id,
        domain_id=requirement.domain_id,
        title=f"{requirement.title}",
        recommendation=requirement.recommendation,
        level=requirement.level,
        status=result.status,
        credit=result.credit,
        unsupported=result.unsupported,
        priority=priority,
        reasons=tuple(reasons),
        blocks=next_level if blocker else None,
        weight=requirement.weight,
        levels_above=levels_above,
    )


def _level_urgency(framework: Framework, level: int) -> int:
    """How many defined levels lie above `level`, capped so that blockers still dominate."""
    above = sum(1 for defined in framework.levels if defined.number > level)
    return min(above, MAX_LEVEL_URGENCY)
