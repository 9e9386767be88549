"""What the delivery metrics pages show: a scope's services with their four key metrics, and one service's
weekly trends, control charts and releases (delivery-events.md, sections 3 and 4; issue 17).

Reading and indexing a scope's events costs about a second at 100,000 events, so the built page models
are kept in a bounded, in-process LRU keyed by the scope, its `scope_state` (count and largest row id:
any added or resolved event changes it), the as-of date, the window's days and the service. A hit costs
the one `scope_state` query. Each web process (each worker of a server) has its own cache: a change of
the data is seen by every process at its next request, as each asks `scope_state` itself. The parsed
`DeliveryIndex` of the last scopes read is kept too, so the overview and a service page of the same data
read the events once.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from reports.delivery_section import DeliveryChart, service_charts

from ..domain.delivery import DeliveryIndex, ServiceMetrics, Window
from ..domain.delivery.bands import metric_bands, name_bands
from ..domain.delivery.control import RUN_LENGTH, XmRChart
from ..domain.delivery.events import format_time
from ..domain.delivery.metrics import METRICS, NAMES, UNITS
from ..domain.delivery.series import CONTROLLED, DEFAULT_WEEKS, weekly_series
from ..domain.display import one_decimal
from ..extensions import db
from ..services import delivery as delivery_svc
from ..services.library import framework_of, latest_versions, versions_of

BANDS_FRAMEWORK = "devops-delivery-maturity"  # the shipped framework whose guidance names the bands
DEFAULT_DAYS = 90
MAX_DAYS = 3660
MISSING = "—"
PAGES_KEPT = 64  # built page models, across scopes, dates and services
INDEXES_KEPT = 2  # parsed scopes: the largest part of the memory (one 100,000-event scope is ~100 MB)
WHY_MISSING = {
    "deployment_frequency": "no production deployment in the window",
    "lead_time": "no change delivered in the window",
    "change_failure_rate": "no production deployment in the window",
    "time_to_restore": "no incident restored in the window",
}


@dataclass(frozen=True)
class Figure:
    """One metric's value as the pages print it: one decimal, its unit, its band, or a dash and why."""

    metric: str
    name: str
    unit: str
    value: float | None
    text: str
    band: str | None
    reason: str | None


@dataclass(frozen=True)
class ServiceRow:
    """One service of the overview: its four figures and its counts over the window."""

    service: str
    figures: tuple[Figure, ...]
    deployments: int
    changes: int
    incidents: int
    open_incidents: int


@dataclass(frozen=True)
class Overview:
    """A scope's services over one window; `banded` says whether the library names the bands."""

    scope_id: int
    window: Window
    rows: tuple[ServiceRow, ...]
    banded: bool


@dataclass(frozen=True)
class ControlChart:
    """A control chart and its signals in words, so that they are read without the picture."""

    metric: str
    title: str
    svg: str
    signals: tuple[str, ...]
    limits: str
    quiet: bool  # it has limits and no signal


@dataclass(frozen=True)
class ReleaseRow:
    """One production deployment of the window, newest first on the page."""

    deployment: str
    time: str
    lead_time_text: str
    changes: int
    failed: bool
    rolled_back: bool
    incidents: tuple[str, ...]


@dataclass(frozen=True)
class ServicePage:
    """One service over the window: figures, counts, 13 weekly trends, two control charts, releases."""

    scope_id: int
    service: str
    window: Window
    figures: tuple[Figure, ...]
    deployments: int
    changes: int
    failed_deployments: int
    incidents: int
    open_incidents: int
    weeks: tuple[str, str]  # the first and last day of the weekly series
    trends: tuple[DeliveryChart, ...]
    controls: tuple[ControlChart, ...]
    releases: tuple[ReleaseRow, ...]
    banded: bool


# --- the caches ---------------------------------------------------------------------------


class _LRU:
    """A small thread-safe least-recently-used map (a page may be built twice by two threads: harmless)."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_PAGES = _LRU(PAGES_KEPT)
_INDEXES = _LRU(INDEXES_KEPT)


def clear_cache() -> None:
    """Forget every built page and parsed scope of this process."""
    _PAGES.clear()
    _INDEXES.clear()


def _database() -> str:
    """Which database the data comes from: two apps of one process (tests, tools) never share pages."""
    return str(db.engine.url)


def _indexed(scope_id: int, state: tuple[int, int]) -> tuple[DeliveryIndex, frozenset[str]]:
    """The scope's events read once per state, and the services they name."""
    key = (_database(), scope_id, state)
    found = _INDEXES.get(key)
    if found is None:
        events = delivery_svc.scope_events(scope_id)
        found = (DeliveryIndex(events), frozenset(events.services()))
        _INDEXES.put(key, found)
    return found


def scope_index(scope_id: int) -> DeliveryIndex:
    """The scope's events read once per change of its data (this process's cache): what every page and
    the metrics API read the figures from."""
    return _indexed(scope_id, delivery_svc.scope_state(scope_id))[0]


def _cached(key: tuple, build: Callable[[], Any]) -> Any:
    key = (_database(), *key)
    page = _PAGES.get(key)
    if page is None:
        page = build()
        if page is not None:
            _PAGES.put(key, page)
    return page


# --- the figures --------------------------------------------------------------------------


def _bands() -> dict:
    """The bands of the metric-fed answers of the library's latest DevOps framework, else of the first other
    framework (by title) whose latest version has some; none when no framework has metric-fed answers."""
    versions = versions_of(BANDS_FRAMEWORK)[:1] or latest_versions()
    for version in versions:
        bands = metric_bands(framework_of(version))
        if bands:
            return bands
    return {}


def _figures(metrics: ServiceMetrics, bands: dict) -> tuple[Figure, ...]:
    figures = []
    for metric in METRICS:
        value = metrics.value(metric)
        figures.append(
            Figure(
                metric=metric,
                name=NAMES[metric],
                unit=UNITS[metric],
                value=value,
                text=one_decimal(value, MISSING),
                band=name_bands(bands, metric, value),
                reason=WHY_MISSING[metric] if value is None else None,
            )
        )
    return tuple(figures)


def overview(scope_id: int, as_of: dt.date, days: int = DEFAULT_DAYS) -> Overview:
    """The scope's services with their four metrics over the `days` days ending on `as_of` (cached)."""
    window = Window.ending(as_of, days)
    state = delivery_svc.scope_state(scope_id)
    return _cached((scope_id, state, as_of, days, None), lambda: _build_overview(scope_id, state, window))


def _build_overview(scope_id: int, state: tuple[int, int], window: Window) -> Overview:
    if state[0] == 0:
        return Overview(scope_id, window, (), False)
    index, services = _indexed(scope_id, state)
    bands = _bands()
    rows = []
    for service in sorted(services):
        metrics = index.metrics(service, window, details=False)
        rows.append(
            ServiceRow(
                service,
                _figures(metrics, bands),
                metrics.deployments,
                metrics.changes,
                metrics.incidents,
                metrics.open_incidents,
            )
        )
    return Overview(scope_id, window, tuple(rows), bool(bands))


def service_page(scope_id: int, service: str, as_of: dt.date, days: int = DEFAULT_DAYS) -> ServicePage | None:
    """One service's page over the `days` days ending on `as_of`, or None when no event names it (cached)."""
    window = Window.ending(as_of, days)
    state = delivery_svc.scope_state(scope_id)
    if state[0] == 0:
        return None
    return _cached((scope_id, state, as_of, days, service), lambda: _build_service(scope_id, state, service, window))


def _build_service(scope_id: int, state: tuple[int, int], service: str, window: Window) -> ServicePage | None:
    index, services = _indexed(scope_id, state)
    if service not in services:
        return None
    bands = _bands()
    metrics = index.metrics(service, window)
    series = weekly_series(index, service, window.last, DEFAULT_WEEKS)
    labels = list(series.labels)
    charts = service_charts(series, service)
    trends = tuple(c for c in charts if c.kind == "weekly")
    controls = []
    for drawn in (c for c in charts if c.kind == "control"):
        chart = series.control_chart(drawn.metric)
        signals = signals_in_words(chart, labels, UNITS[drawn.metric])
        controls.append(
            ControlChart(
                drawn.metric,
                drawn.title,
                drawn.svg,
                signals,
                limits_in_words(chart, UNITS[drawn.metric]),
                chart.has_limits and not signals,
            )
        )
    releases = tuple(
        ReleaseRow(
            r.deployment,
            format_time(r.time),
            MISSING if r.lead_time is None else f"{one_decimal(r.lead_time)} h",
            r.changes,
            r.failed,
            r.rolled_back,
            r.incidents,
        )
        for r in sorted(metrics.releases, key=lambda r: (r.time, r.deployment), reverse=True)
    )
    return ServicePage(
        scope_id=scope_id,
        service=service,
        window=window,
        figures=_figures(metrics, bands),
        deployments=metrics.deployments,
        changes=metrics.changes,
        failed_deployments=metrics.failed_deployments,
        incidents=metrics.incidents,
        open_incidents=metrics.open_incidents,
        weeks=(series.weeks[0].first.isoformat(), series.weeks[-1].last.isoformat()),
        trends=trends,
        controls=tuple(sorted(controls, key=lambda c: CONTROLLED.index(c.metric))),
        releases=releases,
        banded=bool(bands),
    )


def limits_in_words(chart: XmRChart, unit: str) -> str:
    """The centre line and the natural process limits, or why there are none."""
    if not chart.has_limits:
        return f"No limits: {chart.reason}."
    floored = " (floored at zero)" if chart.floored else ""
    return (
        f"Centre line {one_decimal(chart.centre)} {unit}; natural process limits "
        f"{one_decimal(chart.lower_limit)}{floored} to {one_decimal(chart.upper_limit)} {unit}."
    )


def signals_in_words(chart: XmRChart, labels: list[str], unit: str) -> tuple[str, ...]:
    """Each signal of a change, as a sentence: a week outside the limits, a run of 8 or more on one side."""
    if not chart.has_limits:
        return ()
    signals = []
    for point in chart.outside:
        side = "above the upper limit" if point.above_upper else "below the lower limit"
        signals.append(f"Week ending {labels[point.index]}: {side} ({one_decimal(point.value)} {unit}).")
    for run in chart.run_points():
        side = "above" if (run[0].value or 0) > (chart.centre or 0) else "below"
        signals.append(
            f"{len(run)} weeks in a row {side} the centre line from {labels[run[0].index]} "
            f"to {labels[run[-1].index]} (a run of {RUN_LENGTH} or more)."
        )
    return tuple(signals)


__all__ = [
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "Overview",
    "ServicePage",
    "clear_cache",
    "limits_in_words",
    "overview",
    "service_page",
    "signals_in_words",
]
