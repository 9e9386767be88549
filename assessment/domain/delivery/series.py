"""A service's metrics week by week, and the control charts of its weekly lead time and restore time.

The weeks are whole 7-day windows ending on the as-of date (the last week ends on it), so the
series of a page, a report and a check read the same days. Each week's values are the spec's
metrics over that week (section 3); a week without a value (no change delivered, no incident
restored) is None, a gap in the chart. The XmR charts of `control.py` read the weekly lead time
and time to restore: the two metrics whose weekly values vary continuously, and whose limits
tell normal variation from a real change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .control import XmRChart, xmr
from .metrics import METRICS, DeliveryIndex, Window

WEEK = 7
DEFAULT_WEEKS = 13  # a quarter: the 90-day window, week by week
CONTROLLED = ("lead_time", "time_to_restore")


def weeks_ending(as_of: dt.date, count: int = DEFAULT_WEEKS) -> list[Window]:
    """`count` successive 7-day windows, the last ending on `as_of`, oldest first."""
    if count < 1:
        raise ValueError(f"a series has at least one week, not {count}")
    last = [Window.ending(as_of - dt.timedelta(days=WEEK * back), WEEK) for back in range(count)]
    return last[::-1]


@dataclass(frozen=True)
class WeeklySeries:
    """One service's four metrics for each week, with the week's label and its deployments."""

    service: str
    weeks: tuple[Window, ...]
    values: dict[str, tuple[float | None, ...]]  # metric -> one value a week
    deployments: tuple[int, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """Each week named by its last day, e.g. "11-24" (the year is in the window's caption)."""
        return tuple(week.last.strftime("%m-%d") for week in self.weeks)

    def control_chart(self, metric: str) -> XmRChart:
        """The XmR individuals chart of a metric's weekly values."""
        return xmr(self.values[metric])

    def control_charts(self) -> dict[str, XmRChart]:
        """The XmR charts of the weekly lead time and time to restore."""
        return {metric: self.control_chart(metric) for metric in CONTROLLED}


def weekly_series(index: DeliveryIndex, service: str, as_of: dt.date, count: int = DEFAULT_WEEKS) -> WeeklySeries:
    """The service's metrics over each of the `count` weeks ending on `as_of`."""
    weeks = weeks_ending(as_of, count)
    measured = [index.metrics(service, week, details=False) for week in weeks]
    return WeeklySeries(
        service=service,
        weeks=tuple(weeks),
        values={metric: tuple(m.value(metric) for m in measured) for metric in METRICS},
        deployments=tuple(m.deployments for m in measured),
    )
