"""An improvement checked by the numbers: a backlog item's hypothesis ("lead time down 40 %") and what
the delivery metrics measured before and after its change went live.

A hypothesis names one of the four key delivery metrics (`../shared/spec/delivery-events.md`,
section 3), a direction and a size. The size is relative to the value before the change: "change
failure rate down 50 %" means from 20 % to 10 % or lower, not to -30 %. The Check step compares the
metric over the window before the date with the window after it, and the after-window's weekly
values with the before-window's natural process limits (control.py), so that a team can tell a real
change from the routine variation the metric had anyway.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from ..display import one_decimal
from .control import RUN_LENGTH, XmRChart, xmr

Direction = Literal["down", "up"]


@dataclass(frozen=True, slots=True)
class Metric:
    """One of the four key delivery metrics, as a hypothesis names it and a sentence shows its values."""

    id: str
    name: str  # "lead time", as it reads inside a sentence
    unit: str  # the spec's unit
    suffix: str  # after a value: "30.0 h"

    def value_text(self, value: float) -> str:
        """A value with its unit, to one decimal: "30.0 h", "2.5 per week", "12.5 %"."""
        return f"{one_decimal(value)}{self.suffix}"


METRICS = {
    m.id: m
    for m in (
        Metric("deployment_frequency", "deployment frequency", "deployments per week", " per week"),
        Metric("lead_time", "lead time", "hours", " h"),
        Metric("change_failure_rate", "change failure rate", "percent", " %"),
        Metric("time_to_restore", "time to restore", "hours", " h"),
    )
}
"""The metrics a hypothesis may name, by id."""

# The spec's long names are accepted too; every name is also accepted with _ or - for its spaces.
_ALIASES = {"lead time for changes": "lead_time", "time to restore service": "time_to_restore"}
_NAMES = {m.name: m.id for m in METRICS.values()} | {m.id.replace("_", " "): m.id for m in METRICS.values()} | _ALIASES
_GRAMMAR = re.compile(
    r"(?P<metric>[a-z][a-z _-]*?)\s+(?P<direction>up|down)\s+(?:by\s+)?(?P<size>[0-9]+(?:\.[0-9]+)?)\s*%",
    re.IGNORECASE,
)
_MULTIPLE = re.compile(r"[0-9]\s*[x×]\s*$", re.IGNORECASE)
MAX_TEXT = 200  # a hypothesis is one short phrase; anything longer is not one
MAX_SIZE = 10_000  # percent: "up 10000 %" is a hundredfold, past anything a team would claim


class InvalidHypothesis(ValueError):
    """A hypothesis that does not follow the grammar; the message says what would be valid."""


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """What a change should do to a metric: its id, 'down' or 'up', and by how many percent of its value."""

    metric: str
    direction: Direction
    size_percent: float

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise InvalidHypothesis(f"unknown metric {self.metric!r}; {_valid_metrics()}")
        if self.direction not in ("down", "up"):
            raise InvalidHypothesis(f"the direction must be 'down' or 'up', not {self.direction!r}")
        size = self.size_percent
        if isinstance(size, bool) or not isinstance(size, int | float) or not math.isfinite(size):
            raise InvalidHypothesis(f"the size must be a number of percent, not {size!r}")
        if not 0 < size <= (100 if self.direction == "down" else MAX_SIZE):
            limit = "100 % down (a metric cannot fall by more than all of it)" if self.direction == "down" else ""
            limit = limit or f"{MAX_SIZE} % up"
            raise InvalidHypothesis(f"the size must be above 0 and at most {limit}, not {_percent(size)} %")

    @property
    def text(self) -> str:
        """The hypothesis in the grammar's words, "lead time down 40 %": parse_hypothesis reads it back."""
        return f"{METRICS[self.metric].name} {self.expected}"

    @property
    def expected(self) -> str:
        """The direction and size, "down 40 %"."""
        return f"{self.direction} {_percent(self.size_percent)} %"


def parse_hypothesis(text: str) -> Hypothesis:
    """A hypothesis from a phrase METRIC up|down [by] SIZE %, e.g. "lead time down 40 %" or "lead_time down 40%".

    METRIC is a metric's id or name in words (case and the spaces, underscores or hyphens between
    words do not matter); SIZE is a number of percent, relative to the value before the change.
    Anything else is refused with an `InvalidHypothesis` that lists what is valid.
    """
    if not isinstance(text, str):
        raise InvalidHypothesis(f"a hypothesis is a phrase, not {type(text).__name__}; {_GUIDE}")
    if len(text) > MAX_TEXT:
        raise InvalidHypothesis(f"a hypothesis is at most {MAX_TEXT} characters; {_GUIDE}")
    found = _GRAMMAR.fullmatch(text.strip())
    if found is None:
        hint = " (a multiple is written as a percentage: up 2x is up 100 %)" if _MULTIPLE.search(text) else ""
        raise InvalidHypothesis(f"{_show(text)} is not a hypothesis{hint}; {_GUIDE}")
    words = " ".join(re.split(r"[\s_-]+", found["metric"].strip().lower()))
    if words not in _NAMES:
        raise InvalidHypothesis(f"{_show(found['metric'].strip())} is not a metric; {_valid_metrics()}")
    return Hypothesis(_NAMES[words], found["direction"].lower(), float(found["size"]))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What Check measured for a hypothesis: the values before and after, the change, and whether it held.

    `held` is None when a value is missing. `outside_limits` is True when more than half of the
    after-window's weekly values lie beyond the before-window's natural process limit on the
    hypothesis's side (below the lower limit for 'down', above the upper for 'up'), and None when the
    before-window has no limits or the after-window no weekly value. `sustained_shift` is True when
    the after-window holds RUN_LENGTH or more successive weekly values strictly on the hypothesis's
    side of the before-window's centre line (Wheeler's other signal, which still speaks when the lower
    limit is floored at 0 and no value can fall below it).
    """

    hypothesis: Hypothesis
    before: float | None
    after: float | None
    change: float | None  # after - before
    change_percent: float | None  # None when before is missing or 0
    held: bool | None
    outside_limits: bool | None
    sustained_shift: bool | None
    limits: XmRChart  # the before-window's chart, whose limits the after-window is judged by
    summary: str


def check(
    hypothesis: Hypothesis,
    before: float | None,
    after: float | None,
    before_weekly: Sequence[float | None],
    after_weekly: Sequence[float | None],
) -> Outcome:
    """The measured outcome of `hypothesis`: the metric over the windows before and after the change.

    The hypothesis held when the change is in its direction and at least its size, relative to
    `before` (from 0, any rise is more than any size and nothing can fall). Sizes and values are
    compared exactly, as the decimals they print as, so "down 40 %" from 30 h to 18 h holds.

    Whether the after-window is outside the before-window's limits is decided by a majority of its
    weekly values, not by one: a single week beyond a limit can be a one-off (one slow release, one
    long incident), while most weeks beyond it say the process itself has moved. A majority of the
    present weeks is the same as the median beyond the limit for an odd count, and is stricter for
    an even one (half the weeks is not enough).
    """
    for name, value in (("before", before), ("after", after)):
        if value is not None and not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number, not below 0, or None; not {value!r}")
    limits = xmr(before_weekly)
    after_values = [p.value for p in xmr(after_weekly).present]  # checked as the before-window's are
    change = change_percent = held = None
    if before is not None and after is not None:
        start, end = _exact(before), _exact(after)
        change = float(end - start)
        if start != 0:
            change_percent = float(100 * (end - start) / start)
        held = _held(hypothesis, start, end)
    side = _majority_side(limits, after_values)  # type: ignore[arg-type]
    outside = None if side is None else side == _limit_side(hypothesis)
    shift = _sustained_shift(hypothesis, limits, after_values)  # type: ignore[arg-type]
    summary = _summary(hypothesis, before, after, change_percent, held, limits, side, shift, bool(after_values))
    return Outcome(hypothesis, before, after, change, change_percent, held, outside, shift, limits, summary)


def _held(hypothesis: Hypothesis, start: Fraction, end: Fraction) -> bool:
    """Whether the change from `start` to `end` is in the hypothesis's direction and at least its size."""
    size = _exact(hypothesis.size_percent)
    if start == 0:
        return hypothesis.direction == "up" and end > 0
    relative = 100 * (end - start) / abs(start)
    return relative >= size if hypothesis.direction == "up" else relative <= -size


def _limit_side(hypothesis: Hypothesis) -> str:
    return "above" if hypothesis.direction == "up" else "below"


def _majority_side(limits: XmRChart, values: list[float]) -> str | None:
    """'above' or 'below' when more than half of `values` lie beyond that limit, '' when neither; None
    when there are no limits or no values."""
    if not limits.has_limits or not values:
        return None
    above = sum(v > limits.upper_limit for v in values)  # type: ignore[operator]
    below = sum(v < limits.lower_limit for v in values)  # type: ignore[operator]
    if 2 * above > len(values):
        return "above"
    if 2 * below > len(values):
        return "below"
    return ""


def _sustained_shift(hypothesis: Hypothesis, limits: XmRChart, values: list[float]) -> bool | None:
    """Whether RUN_LENGTH or more successive `values` lie strictly on the hypothesis's side of the centre."""
    if limits.centre is None or not values:
        return None
    longest = run = 0
    for value in values:
        wanted = value > limits.centre if hypothesis.direction == "up" else value < limits.centre
        run = run + 1 if wanted else 0
        longest = max(longest, run)
    return longest >= RUN_LENGTH


def _summary(
    hypothesis: Hypothesis,
    before: float | None,
    after: float | None,
    change_percent: float | None,
    held: bool | None,
    limits: XmRChart,
    side: str | None,
    shift: bool | None,
    has_after_weeks: bool,
) -> str:
    """The outcome in one plain sentence."""
    metric = METRICS[hypothesis.metric]
    name = metric.name[0].upper() + metric.name[1:]
    expected = f"the hypothesis ({hypothesis.expected})"
    if before is None and after is None:
        return f"{name} has no value before or after the change, so {expected} cannot be checked."
    if before is None:
        return f"{name} has no value before the change, so {expected} cannot be checked."
    if after is None:
        return (
            f"{name} was {metric.value_text(before)} before the change and has no value after it yet, "
            f"so {expected} cannot be checked."
        )
    change = "" if change_percent is None else f" ({_signed_percent(change_percent)} %)"
    verdict = "held" if held else "did not hold"
    sentence = (
        f"{name} went from {metric.value_text(before)} to {metric.value_text(after)}{change}: {expected} {verdict}"
    )
    return f"{sentence}; {_limits_clause(hypothesis, limits, side, shift, has_after_weeks)}."


def _limits_clause(hypothesis: Hypothesis, limits: XmRChart, side: str | None, shift: bool | None, weeks: bool) -> str:
    """How the after-window stands against the before-window's natural process limits, in words."""
    if not limits.has_limits:
        return "the before-window has too few weekly values for control limits"
    if not weeks:
        return "the after-window has no weekly value to set against the before-window's limits"
    wanted = _limit_side(hypothesis)
    limit = {"above": "upper", "below": "lower"}
    if side == wanted:
        return f"the after-window is {side} the before-window's {limit[side]} limit"
    if side:
        return f"the after-window is {side} the before-window's {limit[side]} limit, the opposite way"
    centre = "above" if hypothesis.direction == "up" else "below"
    if shift:
        return (
            f"the after-window is within the before-window's limits, but {RUN_LENGTH} or more weeks in a row "
            f"sit {centre} its centre line"
        )
    return "the after-window is within the before-window's limits"


def _exact(value: float) -> Fraction:
    """A number as the decimal it prints as, so that 18 h against 30 h is exactly -40 %."""
    return Fraction(repr(float(value)))


def _percent(size: float) -> str:
    """A size in percent as the grammar writes it: "40", "12.5"."""
    return str(int(size)) if float(size).is_integer() else repr(float(size))


def _signed_percent(value: float) -> str:
    """A change in percent with its sign, to one decimal and without a trailing .0: "-60", "+12.5"."""
    text = one_decimal(value).removesuffix(".0")
    if text in ("0", "-0"):
        return "0"
    return text if text.startswith("-") else f"+{text}"


def _show(text: str) -> str:
    """A user's text quoted for a message, cut short and on one line."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= 60 else flat[:59] + "…")


def _valid_metrics() -> str:
    return "valid metrics: " + ", ".join(f"{m.id} ({m.name})" for m in METRICS.values())


_GUIDE = (
    "write METRIC up|down SIZE %, e.g. 'lead time down 40 %' or 'deployment_frequency up 100 %' "
    f"(SIZE is percent of the value before the change); {_valid_metrics()}"
)
