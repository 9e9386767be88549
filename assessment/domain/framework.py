"""The framework model: frozen dataclasses that the loader builds and everything else reads.

Nothing here parses YAML or talks to a database; a `Framework` is valid by construction
because only the loader builds one, after every check of the format has passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

Kind = Literal["maturity", "compliance"]
EvidenceRule = Literal["required", "optional", "none"]

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class ScaleOption:
    """One choice of an answer scale and the credit it earns."""

    value: str
    label: str
    credit: float


@dataclass(frozen=True)
class Scale:
    """A named list of options; answers to a requirement on this scale pick one value."""

    id: str
    options: tuple[ScaleOption, ...]

    @cached_property
    def by_value(self) -> dict[str, ScaleOption]:
        """Options indexed by value."""
        return {option.value: option for option in self.options}

    def credit_of(self, value: str) -> float | None:
        """The credit of `value`, or None when the scale has no such option."""
        option = self.by_value.get(value)
        return None if option is None else option.credit


@dataclass(frozen=True, slots=True)
class Band:
    """An inclusive numeric range and its credit; a missing bound is open."""

    credit: float
    min: float | None = None
    max: float | None = None

    def holds(self, number: float) -> bool:
        """Whether `number` lies in this band."""
        return (self.min is None or number >= self.min) and (self.max is None or number <= self.max)


@dataclass(frozen=True, slots=True)
class NumericAnswer:
    """A numeric question: the first band that holds the value gives the credit."""

    bands: tuple[Band, ...]
    unit: str | None = None
    metric: str | None = None  # a delivery metric that can fill the answer (delivery-events.md, section 5)

    def credit_of(self, number: float) -> float | None:
        """The credit of `number`, or None when no band holds it."""
        for band in self.bands:
            if band.holds(number):
                return band.credit
        return None


AnswerSpec = Scale | NumericAnswer


BUILTIN_SCALES: dict[str, Scale] = {
    "yes_no": Scale(
        "yes_no",
        (ScaleOption("yes", "Yes", 1.0), ScaleOption("no", "No", 0.0)),
    ),
    "yes_partial_no": Scale(
        "yes_partial_no",
        (
            ScaleOption("yes", "Yes", 1.0),
            ScaleOption("partial", "Partially", 0.5),
            ScaleOption("no", "No", 0.0),
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class Level:
    """A maturity level; the first level of a framework is its floor."""

    number: int
    name: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Requirement:
    """One practice or control to assess, with everything defaults resolved."""

    id: str
    title: str
    domain_id: str
    answer: AnswerSpec
    question: str
    weight: float = 1.0
    na_allowed: bool = True
    evidence: EvidenceRule = "optional"
    level: int | None = None
    section: str | None = None
    guidance: str | None = None
    recommendation: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def is_numeric(self) -> bool:
        """Whether the answer is a number rather than a scale value."""
        return isinstance(self.answer, NumericAnswer)


@dataclass(frozen=True)
class Domain:
    """A process area or control family: a weighted group of requirements."""

    id: str
    title: str
    requirements: tuple[Requirement, ...]
    weight: float = 1.0
    description: str | None = None


@dataclass(frozen=True)
class Framework:
    """A validated framework file."""

    id: str
    version: str
    title: str
    kind: Kind
    domains: tuple[Domain, ...]
    levels: tuple[Level, ...] = ()
    scales: dict[str, Scale] = field(default_factory=dict)
    met_threshold: float = 1.0
    format: int = FORMAT_VERSION
    description: str | None = None
    publisher: str | None = None
    license: str | None = None
    source: str | None = None

    @property
    def is_maturity(self) -> bool:
        """Whether the framework has maturity levels."""
        return self.kind == "maturity"

    @cached_property
    def requirements(self) -> tuple[Requirement, ...]:
        """Every requirement, in file order."""
        return tuple(r for d in self.domains for r in d.requirements)

    @cached_property
    def requirement_index(self) -> dict[str, Requirement]:
        """Requirements by id."""
        return {r.id: r for r in self.requirements}

    @cached_property
    def level_index(self) -> dict[int, Level]:
        """Levels by number."""
        return {level.number: level for level in self.levels}

    @property
    def top_level(self) -> int | None:
        """The highest level number, or None for a compliance framework."""
        return self.levels[-1].number if self.levels else None

    def level_name(self, number: int | None) -> str | None:
        """The name of level `number`, or None."""
        if number is None:
            return None
        level = self.level_index.get(number)
        return level.name if level else None
