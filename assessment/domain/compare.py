"""Two scorecards of one scope side by side: what improved, what regressed, what came and went.

The two may score different versions of the same framework, so requirements and domains are
matched by id, never by position. The rule for a requirement present in both is its credit:

- **improved** when the credit after is higher than before, **regressed** when it is lower,
  and **unchanged** otherwise, whatever the two statuses are. Credit already folds in
  evidence, so a requirement that was met and is now unsupported, because its only evidence
  expired before the later as-of date, has lost its credit and has regressed.
- Not applicable earns no credit (0.0), so a move between not applicable and an answer that
  earns nothing (unanswered, not met, unsupported) is **unchanged**, and a move from met or
  partial to not applicable is **regressed** by the same rule. `status_changed` tells such
  moves apart from a requirement that stayed where it was.
- A framework version that changes what an answer is worth changes the credit, and so the
  kind, of a requirement answered the same way.
- A requirement only in the later framework is **new**; one only in the earlier is
  **removed**.

Domain and overall figures are the two scorecards' own; a delta is after minus before, and
None when either side has no figure (a domain of only not-applicable answers, a compliance
framework's levels, a domain only one version has).

The caller pairs two scorecards of one scope; only the framework id is checked here, since a
scope's name may be edited between two cycles while the framework id never is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar

from .scoring import DomainResult, RequirementResult, Scorecard, Status

ChangeKind = Literal["improved", "regressed", "unchanged", "new", "removed"]
KINDS: tuple[ChangeKind, ...] = ("improved", "regressed", "unchanged", "new", "removed")


@dataclass(frozen=True, slots=True)
class RequirementChange:
    """How one requirement moved between the two scorecards."""

    requirement_id: str
    title: str
    domain_id: str
    kind: ChangeKind
    before_status: Status | None
    after_status: Status | None
    before_credit: float | None
    after_credit: float | None
    before_unsupported: bool | None
    after_unsupported: bool | None

    @property
    def status_changed(self) -> bool:
        """Whether the status differs, even where the credit, and so the kind, did not change."""
        return self.before_status != self.after_status


@dataclass(frozen=True, slots=True)
class DomainDelta:
    """One domain's score and level before and after."""

    domain_id: str
    title: str
    before_score: float | None
    after_score: float | None
    score_delta: float | None
    before_level: int | None
    after_level: int | None
    level_delta: int | None
    in_before: bool
    in_after: bool


@dataclass(frozen=True)
class Comparison:
    """Everything that changed from `before` to `after`."""

    before: Scorecard
    after: Scorecard
    before_score: float | None
    after_score: float | None
    score_delta: float | None
    before_level: int | None
    after_level: int | None
    level_delta: int | None
    requirements: tuple[RequirementChange, ...]
    domains: tuple[DomainDelta, ...]

    @property
    def counts(self) -> dict[str, int]:
        """The number of requirements of each kind, every kind present, in KINDS order."""
        tally = dict.fromkeys(KINDS, 0)
        for change in self.requirements:
            tally[change.kind] += 1
        return tally

    def of_kind(self, kind: ChangeKind) -> tuple[RequirementChange, ...]:
        """The requirements of one kind, in the comparison's order."""
        return tuple(change for change in self.requirements if change.kind == kind)

    @property
    def improved(self) -> tuple[RequirementChange, ...]:
        """Requirements that earn more credit than before."""
        return self.of_kind("improved")

    @property
    def regressed(self) -> tuple[RequirementChange, ...]:
        """Requirements that earn less credit than before."""
        return self.of_kind("regressed")

    @property
    def unchanged(self) -> tuple[RequirementChange, ...]:
        """Requirements in both whose credit did not change."""
        return self.of_kind("unchanged")

    @property
    def new(self) -> tuple[RequirementChange, ...]:
        """Requirements only the later framework version has."""
        return self.of_kind("new")

    @property
    def removed(self) -> tuple[RequirementChange, ...]:
        """Requirements only the earlier framework version had."""
        return self.of_kind("removed")


def compare(before: Scorecard, after: Scorecard) -> Comparison:
    """Compare two scorecards of the same framework (any versions) and scope; see the module docstring."""
    if before.framework.id != after.framework.id:
        raise ValueError(
            f"cannot compare scorecards of different frameworks: {before.framework.id!r} and {after.framework.id!r}"
        )
    earlier = {result.id: result for result in before.requirements}
    later = {result.id: result for result in after.requirements}
    changes = [_change(earlier.get(result.id), result) for result in after.requirements]
    changes += [_change(result, None) for result in before.requirements if result.id not in later]

    earlier_domains = {d.domain.id: d for d in before.domains}
    later_domains = {d.domain.id for d in after.domains}
    domains = [_domain_delta(earlier_domains.get(d.domain.id), d) for d in after.domains]
    domains += [_domain_delta(d, None) for d in before.domains if d.domain.id not in later_domains]
    return Comparison(
        before=before,
        after=after,
        before_score=before.score,
        after_score=after.score,
        score_delta=_delta(before.score, after.score),
        before_level=before.level,
        after_level=after.level,
        level_delta=_delta(before.level, after.level),
        requirements=tuple(changes),
        domains=tuple(domains),
    )


def _change(old: RequirementResult | None, new: RequirementResult | None) -> RequirementChange:
    """One requirement's change; at least one side is present."""
    shown = new or old
    assert shown is not None
    if old is None:
        kind: ChangeKind = "new"
    elif new is None:
        kind = "removed"
    elif new.credit > old.credit:
        kind = "improved"
    elif new.credit < old.credit:
        kind = "regressed"
    else:
        kind = "unchanged"
    return RequirementChange(
        requirement_id=shown.id,
        title=shown.requirement.title,
        domain_id=shown.requirement.domain_id,
        kind=kind,
        before_status=old.status if old else None,
        after_status=new.status if new else None,
        before_credit=old.credit if old else None,
        after_credit=new.credit if new else None,
        before_unsupported=old.unsupported if old else None,
        after_unsupported=new.unsupported if new else None,
    )


def _domain_delta(old: DomainResult | None, new: DomainResult | None) -> DomainDelta:
    """One domain's delta; at least one side is present."""
    shown = new or old
    assert shown is not None
    before_score, before_level = (old.score, old.level) if old else (None, None)
    after_score, after_level = (new.score, new.level) if new else (None, None)
    return DomainDelta(
        domain_id=shown.domain.id,
        title=shown.domain.title,
        before_score=before_score,
        after_score=after_score,
        score_delta=_delta(before_score, after_score),
        before_level=before_level,
        after_level=after_level,
        level_delta=_delta(before_level, after_level),
        in_before=old is not None,
        in_after=new is not None,
    )


N = TypeVar("N", int, float)


def _delta(before: N | None, after: N | None) -> N | None:
    """`after - before`, or None when either is missing."""
    if before is None or after is None:
        return None
    return after - before
