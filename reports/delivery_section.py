"""The report's delivery section: the assessed service's four key metrics over the assessment period,
its weekly trend charts and the control charts of its weekly lead time and restore time.

The figures are the spec's (delivery-events.md, section 3) over the window that the metric-fed
answers use (the assessment period, ending on the as-of date); the weeks are the 13 ending on the
as-of date, as on the service's delivery page, so the report and the page show the same charts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from assessment.domain.delivery.bands import metric_bands, name_bands
from assessment.domain.delivery.fill import basis_of
from assessment.domain.delivery.metrics import METRICS, NAMES, UNITS, DeliveryIndex, Window
from assessment.domain.delivery.series import CONTROLLED, WeeklySeries, weekly_series
from assessment.domain.display import one_decimal
from assessment.domain.framework import Framework

from .delivery_charts import control_chart_svg, control_chart_words, weekly_chart_svg

WEEKLY_WIDTH = 400  # half the page: two weekly charts side by side, their text at its own size
SHORT_UNITS = {"deployments per week": "a week", "hours": "h", "percent": "%"}


@dataclass(frozen=True)
class DeliveryChart:
    """One chart of a service, with what it shows in words (a control chart's own description)."""

    kind: str  # "weekly" or "control"
    metric: str
    title: str
    svg: str
    words: str = ""


@dataclass(frozen=True)
class DeliveryRow:
    """One metric over the window: its value as printed, its band in the framework's words, its basis."""

    metric: str
    name: str
    value_text: str
    band: str | None
    basis: str


@dataclass(frozen=True)
class DeliverySection:
    """What the report prints of the assessed service's delivery data."""

    service: str
    window: Window
    deployments: int
    rows: tuple[DeliveryRow, ...]
    charts: tuple[DeliveryChart, ...]

    @property
    def window_text(self) -> str:
        """'2026-09-03 to 2026-12-01 (90 days)'."""
        return f"{self.window.first.isoformat()} to {self.window.last.isoformat()} ({self.window.days} days)"

    def digest(self) -> str:
        """What the report's id hashes of the section: its figures and its charts."""
        content = repr((self.service, self.window.to_dict(), [tuple(vars(r).values()) for r in self.rows]))
        content += "".join(chart.svg for chart in self.charts)
        return hashlib.sha256(content.encode()).hexdigest()


def value_text(metric: str, value: float | None) -> str:
    """A metric as printed: one decimal and a short unit ('2.3 a week', '25.5 h', '33.3 %'), or '—'."""
    if value is None:
        return "—"
    return f"{one_decimal(value)} {SHORT_UNITS[UNITS[metric]]}"


def delivery_section(
    index: DeliveryIndex, service: str, window: Window, framework: Framework | None, as_of: dt.date
) -> DeliverySection:
    """The section of `service` over `window`, with bands named by `framework` where it names metrics."""
    metrics = index.metrics(service, window, details=False)
    bands = metric_bands(framework) if framework is not None else {}
    rows = []
    for metric in METRICS:
        value = metrics.value(metric)
        count, word = basis_of(metrics, metric)
        rows.append(
            DeliveryRow(metric, NAMES[metric], value_text(metric, value), name_bands(bands, metric, value),
                        f"{count} {word}")
        )  # fmt: skip
    charts = service_charts(weekly_series(index, service, as_of), service, WEEKLY_WIDTH)
    return DeliverySection(service, window, metrics.deployments, tuple(rows), charts)


def service_charts(series: WeeklySeries, service: str, weekly_width: int = 720) -> tuple[DeliveryChart, ...]:
    """A service's charts as its delivery page and the report draw them: the four weekly trends, then the
    XmR control charts of weekly lead time and time to restore."""
    labels = list(series.labels)
    charts = []
    for metric in METRICS:
        title = f"{NAMES[metric]}, {service}, week by week"
        svg = weekly_chart_svg(title, labels, series.values[metric], UNITS[metric], width=weekly_width)
        charts.append(DeliveryChart("weekly", metric, title, svg))
    for metric in CONTROLLED:
        chart = series.control_chart(metric)
        title = f"{NAMES[metric]}, {service}: control chart of the weekly values"
        svg = control_chart_svg(title, labels, chart, UNITS[metric])
        words = control_chart_words(title, labels, chart, UNITS[metric])
        charts.append(DeliveryChart("control", metric, title, svg, words))
    return tuple(charts)
