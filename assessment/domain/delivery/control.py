"""Control charts: an XmR (individuals and moving range) chart of a weekly series, so that a team can
tell the routine variation of its delivery from a real change.

This is the individuals chart as Donald J. Wheeler reads it in *Understanding Variation: The Key to
Managing Chaos* (SPC Press, 2nd ed. 2000): the centre line is the mean of the values, the average
moving range MR̄ is the mean of the differences between successive values, and the natural process
limits lie at centre ± 2.66·MR̄. 2.66 is 3/d2 with d2 = 1.128, the bias correction for ranges of two
values (3/1.128 = 2.6596, which Wheeler rounds to 2.66), so the limits sit about three sigma from the
centre without assuming the values are normally distributed. Two of his signals of a change are
flagged: a point outside the limits, and a run of eight or more successive points on one side of the
centre line.

Pure Python over plain numbers: the lead's engine computes the weekly values, the reports draw them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

SCALING = Fraction(266, 100)  # 3/d2, d2 = 1.128 for moving ranges of two values (Wheeler's 2.66)
RUN_LENGTH = 8  # successive points on one side of the centre line that signal a shift


@dataclass(frozen=True, slots=True)
class XmRPoint:
    """One value of the series and the signals it is part of; a missing value (None) is part of none."""

    index: int  # its place in the series given, gaps included
    value: float | None
    above_upper: bool = False
    below_lower: bool = False
    in_run: bool = False  # one of RUN_LENGTH or more successive present points strictly on one side

    @property
    def outside(self) -> bool:
        """Whether the point lies outside the natural process limits, on either side."""
        return self.above_upper or self.below_lower


@dataclass(frozen=True, slots=True)
class XmRChart:
    """An individuals chart of a series: its centre line, natural process limits and flagged points.

    `centre`, `average_moving_range`, `upper_limit` and `lower_limit` are None, and `reason` says why,
    when the series has fewer than two present values (a moving range needs two).
    """

    points: tuple[XmRPoint, ...]
    centre: float | None
    average_moving_range: float | None
    upper_limit: float | None
    lower_limit: float | None
    floored: bool  # True when centre - 2.66·MR̄ fell below zero and the lower limit was set to 0
    reason: str | None = None
    runs: tuple[tuple[int, ...], ...] = ()  # the indexes of each run of RUN_LENGTH or more, in order

    @property
    def has_limits(self) -> bool:
        """Whether the chart has a centre line and natural process limits."""
        return self.upper_limit is not None

    @property
    def present(self) -> tuple[XmRPoint, ...]:
        """The points that have a value."""
        return tuple(p for p in self.points if p.value is not None)

    @property
    def outside(self) -> tuple[XmRPoint, ...]:
        """The points outside the natural process limits, in order."""
        return tuple(p for p in self.points if p.outside)

    @property
    def in_run(self) -> tuple[XmRPoint, ...]:
        """The points that are part of a run of RUN_LENGTH or more on one side of the centre, in order."""
        return tuple(p for p in self.points if p.in_run)

    def run_points(self) -> list[tuple[XmRPoint, ...]]:
        """Each run of RUN_LENGTH or more successive present points on one side of the centre, as points."""
        return [tuple(self.points[i] for i in run) for run in self.runs]


def xmr(values: Sequence[float | None], *, non_negative: bool = True) -> XmRChart:
    """The XmR chart of `values` (None for a week without a value), as Wheeler reads it.

    The centre is the mean of the present values and MR̄ the mean of |x_i - x_{i-1}| over successive
    PRESENT values: a gap breaks nothing, the moving range simply spans it, and a run may span it too.
    The limits are centre ± 2.66·MR̄. With `non_negative` (the default, right for counts, durations
    and rates, which cannot fall below zero) a lower limit below zero is floored at 0 and `floored`
    says so; a negative value is then refused. A point on the centre line breaks a run. Points exactly
    on a limit are inside it. Centre and limits are computed exactly (as fractions of the values'
    decimal forms) and rounded once, so a value on a limit or on the centre is judged the same way
    however the series is shifted.
    """
    present = _checked(values, non_negative)
    if len(present) < 2:
        reason = (
            "there is no value yet"
            if not present
            else "there is only one value: a moving range needs two, so there are no limits yet"
        )
        points = tuple(XmRPoint(i, None if v is None else float(v)) for i, v in enumerate(values))
        return XmRChart(points, None, None, None, None, False, reason)

    exact = [_exact(v) for _, v in present]
    centre = sum(exact, Fraction(0)) / len(exact)
    moving = [abs(b - a) for a, b in zip(exact, exact[1:], strict=False)]
    mr_bar = sum(moving, Fraction(0)) / len(moving)
    upper, lower = centre + SCALING * mr_bar, centre - SCALING * mr_bar
    floored = non_negative and lower < 0
    if floored:
        lower = Fraction(0)
    c, u, lo = float(centre), float(upper), float(lower)

    runs = _runs([(i, _side(v, c)) for i, v in present])
    in_run = {i for run in runs for i in run}
    by_index = {i: float(v) for i, v in present}
    points = tuple(
        XmRPoint(i, by_index[i], by_index[i] > u, by_index[i] < lo, i in in_run) if i in by_index else XmRPoint(i, None)
        for i in range(len(values))
    )
    return XmRChart(points, c, float(mr_bar), u, lo, floored, None, runs)


def outside_limits(chart: XmRChart, value: float | None, side: Literal["above", "below"] | None = None) -> bool | None:
    """Whether `value` lies outside `chart`'s natural process limits (beyond one `side` only, when given).

    This is how a later value is judged against limits computed earlier (the before-window's chart
    against an after-window's value). None when the chart has no limits or the value is missing.
    """
    if value is None or not chart.has_limits:
        return None
    above = value > chart.upper_limit  # type: ignore[operator]
    below = value < chart.lower_limit  # type: ignore[operator]
    if side == "above":
        return above
    if side == "below":
        return below
    return above or below


def _checked(values: Sequence[float | None], non_negative: bool) -> list[tuple[int, float]]:
    """The present values with their indexes; refuse a value that is not a finite number, or negative."""
    present = []
    for index, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"value {index} must be a finite number or None, not {value!r}")
        if non_negative and value < 0:
            raise ValueError(f"value {index} is {value!r}: this measure cannot be negative (non_negative=True)")
        present.append((index, float(value)))
    return present


def _exact(value: float) -> Fraction:
    """The value as the decimal it prints as (0.1 is 1/10), so sums and shifts are exact."""
    return Fraction(repr(value))


def _side(value: float | None, centre: float | None) -> int:
    """+1 above the centre, -1 below it, 0 on it."""
    if value is None or centre is None or value == centre:
        return 0
    return 1 if value > centre else -1


def _runs(sides: list[tuple[int, int]]) -> tuple[tuple[int, ...], ...]:
    """The indexes of each run of RUN_LENGTH or more successive equal sides other than the centre (0)."""
    runs: list[tuple[int, ...]] = []
    run: list[int] = []
    current = 0
    for index, side in [*sides, (-1, 0)]:  # a sentinel on the centre closes the last run
        if side != 0 and side == current:
            run.append(index)
            continue
        if len(run) >= RUN_LENGTH:
            runs.append(tuple(run))
        run, current = ([index], side) if side != 0 else ([], 0)
    return tuple(runs)
