"""Server-rendered SVG charts of the delivery metrics: a weekly trend line, and an XmR control chart
with its centre line, natural process limits and the points that signal a change.

They keep to what reports/charts.py keeps to, and build on its primitives, so that browsers and
WeasyPrint draw them alike: rect, line, polyline, polygon, circle, text, g, title and desc with
presentation attributes; no script, no style sheet, no external reference. Titles, week labels and
units may come from users (a service's name is in the title), so every piece of text is escaped.
A point outside the limits and a point in a run are each marked by a shape, not by colour alone.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from assessment.domain.delivery.control import RUN_LENGTH, XmRChart, XmRPoint
from assessment.domain.display import one_decimal
from reports.charts import (
    AXIS,
    BASELINE,
    BELOW_TARGET,
    FONT,
    FONT_SIZE,
    GRID,
    INK,
    MUTED,
    ON_TARGET,
    PAD,
    SMALL,
    _clean,
    _fit,
    _line,
    _num,
    _points,
    _runs,
    _tag,
    _text,
    _width,
)

PLOT_TOP = 24  # room above the plot for the unit
PLOT_HEIGHT = 220
X_ROOM = 24  # below the plot, for the week labels
LEGEND_ROW = 20
LEGEND_COLUMNS = 3
LEGEND_COLUMN = 220  # the least width of a legend column, for its longest name at 11 px
MIN_WIDTH = 360
POINT = ON_TARGET  # a week's value (Okabe-Ito blue)
SIGNAL = BELOW_TARGET  # outside the limits, and the limits themselves (vermillion)
RUN = "#009e73"  # Okabe-Ito bluish green, 3:1 against white: the ring around a point in a run
CENTRE_DASH = "8 4"
LIMIT_DASH = "4 3"
Number = Callable[[float | None], str]
LABEL_GAP = 12  # the least distance between two limit labels, so they do not overlap


def control_chart_svg(title: str, labels: Sequence[str], chart: XmRChart, unit: str, width: int = 720) -> str:
    """An accessible SVG XmR chart: the weekly values, the centre line and the natural process limits dashed
    and labelled (UCL, CL, LCL), points outside the limits as triangles and points in a run ringed."""
    labels = [_clean(label) for label in labels]
    values = [p.value for p in chart.points]
    _check(labels, values, width)
    limits = _limit_lines(chart)
    frame = _Frame(title, labels, values + [value for *_, value in limits], unit, width, "control-chart", limits)
    parts = frame.head(_control_description(title, labels, chart, unit, frame.number)) + frame.axes()
    if not chart.present:
        parts.append(frame.note("No values yet", centred=True))
    elif not chart.has_limits:
        parts.append(frame.note(f"No limits: {chart.reason}"))

    for name, dash, colour, value in limits:
        y = frame.y_of(value)
        tooltip = _tag("title", escape(_clean(f"{_LIMIT_NAMES[name]} {frame.number(value)} {unit}")))
        line = _tag(
            "line",
            tooltip,
            x1=float(frame.plot_x),
            y1=y,
            x2=float(frame.plot_right),
            y2=y,
            stroke=colour,
            stroke_width=1.5,
            stroke_dasharray=dash,
            class_="centre" if name == "CL" else "limit",
        )
        parts.append(line)
    parts.append(frame.limit_labels(limits))

    cells = [frame.line(values)]
    for point in chart.present:
        cells.append(_point(frame, point, labels[point.index], unit, chart))
    parts.append(_tag("g", "".join(cells), class_="series"))
    parts.append(frame.legend(_CONTROL_LEGEND if chart.has_limits else _CONTROL_LEGEND[:1]))
    return frame.svg(parts)


def weekly_chart_svg(
    title: str, labels: Sequence[str], values: Sequence[float | None], unit: str, width: int = 720
) -> str:
    """An accessible SVG trend line of a weekly metric, with a gap where a week has no value."""
    labels = [_clean(label) for label in labels]
    values = list(values)
    _check(labels, values, width)
    frame = _Frame(title, labels, values, unit, width, "weekly-chart", [])
    parts = frame.head(_weekly_description(title, labels, values, unit, frame.number)) + frame.axes()
    if all(value is None for value in values):
        parts.append(frame.note("No values yet", centred=True))
    cells = [frame.line(values)]
    for index, value in enumerate(values):
        if value is not None:
            tooltip = _tag("title", escape(_clean(f"{labels[index]}: {frame.number(value)} {unit}")))
            cells.append(_circle(frame.x_of(index), frame.y_of(value), tooltip, "marker", frame.marker_scale))
    parts.append(_tag("g", "".join(cells), class_="series"))
    return frame.svg(parts)


_LIMIT_NAMES = {"UCL": "Upper natural process limit", "CL": "Centre line (mean)", "LCL": "Lower natural process limit"}


def _limit_lines(chart: XmRChart) -> list[tuple[str, str, str, float]]:
    """The chart's horizontal lines, top to bottom: name, dash, colour and value; none without limits."""
    if not chart.has_limits:
        return []
    return [
        ("UCL", LIMIT_DASH, SIGNAL, chart.upper_limit),  # type: ignore[list-item]
        ("CL", CENTRE_DASH, INK, chart.centre),  # type: ignore[list-item]
        ("LCL", LIMIT_DASH, SIGNAL, chart.lower_limit),  # type: ignore[list-item]
    ]


class _Frame:
    """The y scale, x slots, axes and outer svg shared by both charts."""

    def __init__(
        self,
        title: str,
        labels: list[str],
        values: Sequence[float | None],
        unit: str,
        width: int,
        kind: str,
        limits: list[tuple[str, str, str, float]],
    ):
        self.title, self.labels, self.unit, self.width, self.kind = title, labels, unit, width, kind
        known = [v for v in values if v is not None]
        self.ticks = _ticks(min(known, default=0.0), max(known, default=0.0))
        self.places = _places(self.ticks[1] - self.ticks[0])
        tick_w = max(_width(self.tick_text(t)) for t in self.ticks) * SMALL / FONT_SIZE
        label_w = max(
            (_width(self.limit_label(name, value)) * SMALL / FONT_SIZE for name, *_, value in limits), default=0
        )
        self.plot_x = PAD + max(24.0, tick_w + 8)
        self.plot_right = width - PAD - (label_w + 8 if limits else 0)
        self.slot = (self.plot_right - self.plot_x) / max(len(labels), 1)
        self.plot_bottom = PLOT_TOP + PLOT_HEIGHT
        self.marker_scale = min(1.0, max(0.5, self.slot / 16))  # markers of close weeks do not pile up
        digest = hashlib.sha256(repr((title, labels, list(values), unit)).encode()).hexdigest()[:10]
        self.ident = f"{kind}-{digest}"
        self.height = self.plot_bottom + X_ROOM + PAD

    def x_of(self, index: int) -> float:
        return self.plot_x + self.slot * (index + 0.5)

    def y_of(self, value: float) -> float:
        low, high = self.ticks[0], self.ticks[-1]
        return self.plot_bottom - PLOT_HEIGHT * (value - low) / (high - low)

    def tick_text(self, tick: float) -> str:
        """A gridline's value with as many decimals as the step between gridlines needs: 0, 2.5, 0.25."""
        return f"{tick:.{self.places}f}"

    def number(self, value: float | None) -> str:
        """A value as labels, tooltips and the description write it: one decimal, or one more than the
        gridlines need, so that 0.147 on a 0-0.6 scale reads 0.15, not 0.1."""
        if value is None or self.places == 0:
            return one_decimal(value)
        quantum = Decimal(1).scaleb(-(self.places + 1))
        return str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))

    def limit_label(self, name: str, value: float) -> str:
        """The label at the right of a limit line: "UCL 49.0"."""
        return f"{name} {self.number(value)}"

    def head(self, description: str) -> list[str]:
        return [
            _tag("title", escape(_clean(self.title)), id=f"{self.ident}-title"),
            _tag("desc", escape(_clean(description)), id=f"{self.ident}-desc"),
        ]

    def axes(self) -> list[str]:
        """Gridlines and value labels, the unit above them, and the week labels, thinned out to fit."""
        grid = [_text(_fit(self.unit, (self.width - 2 * PAD) * FONT_SIZE / SMALL), PAD, PLOT_TOP - 10, class_="unit")]
        for tick in self.ticks:
            y = self.y_of(tick)
            grid.append(_line(self.plot_x, y, self.plot_right, y, AXIS if tick == self.ticks[0] else GRID))
            grid.append(_text(self.tick_text(tick), self.plot_x - 6, y + BASELINE, text_anchor="end"))
        widest = max((_width(label) for label in self.labels), default=0) * SMALL / FONT_SIZE
        step = max(1, math.ceil((widest + 8) / self.slot)) if self.labels else 1
        for index in range(0, len(self.labels), step):
            x = self.x_of(index)
            grid.append(_line(x, self.plot_bottom, x, self.plot_bottom + 4, AXIS))
            text = _fit(self.labels[index], (step * self.slot - 4) * FONT_SIZE / SMALL)
            half = _width(text) * SMALL / FONT_SIZE / 2 + 1  # kept inside the chart at both ends
            at = min(max(x, half), self.width - half)
            grid.append(_text(text, at, self.plot_bottom + 16, text_anchor="middle", class_="x-label"))
        return [_tag("g", "".join(grid), class_="axes", fill=MUTED, font_size=SMALL)]

    def note(self, text: str, centred: bool = False) -> str:
        """A muted sentence inside the plot: why there is nothing, or no limits."""
        if centred:
            x, anchor = (self.plot_x + self.plot_right) / 2, "middle"
        else:
            x, anchor = self.plot_x + 6, "start"
        room = (self.plot_right - self.plot_x - 12) * FONT_SIZE / 11
        return _text(_fit(text, room), x, PLOT_TOP + 16, fill=MUTED, font_size=11, text_anchor=anchor, class_="note")

    def limit_labels(self, limits: list[tuple[str, str, str, float]]) -> str:
        """UCL, CL and LCL with their values at the right of their lines, pushed apart where lines are close."""
        if not limits:
            return ""
        ys = [self.y_of(value) for _, _, _, value in limits]
        for i in range(1, len(ys)):  # top to bottom: each at least LABEL_GAP below the one above
            ys[i] = max(ys[i], ys[i - 1] + LABEL_GAP)
        overflow = ys[-1] - (self.plot_bottom + X_ROOM - 4)
        if overflow > 0:  # pushed out of the plot at the bottom: move the stack up
            ys = [y - overflow for y in ys]
        texts = [
            _text(self.limit_label(name, value), self.plot_right + 6, y + BASELINE, fill=colour, class_="limit-label")
            for (name, _, colour, value), y in zip(limits, ys, strict=True)
        ]
        return _tag("g", "".join(texts), font_size=SMALL)

    def line(self, values: Sequence[float | None]) -> str:
        """The polylines through successive present values; a missing week leaves a gap."""
        lines = [
            _tag(
                "polyline",
                points=_points([(self.x_of(i), self.y_of(v)) for i, v in run]),
                fill="none",
                stroke=POINT,
                stroke_width=1.5,
                stroke_linejoin="round",
            )
            for run in _runs(values)
            if len(run) > 1
        ]
        return "".join(lines)

    def legend(self, entries: Sequence[tuple[str, str]]) -> str:
        """A row or two of samples and names under the week labels."""
        top = self.plot_bottom + X_ROOM
        columns = max(1, min(LEGEND_COLUMNS, int((self.width - 2 * PAD) // LEGEND_COLUMN)))
        column_w = (self.width - 2 * PAD) / columns
        cells = []
        for number, (sample, name) in enumerate(entries):
            x = PAD + column_w * (number % columns)
            y = top + LEGEND_ROW * (number // columns) + LEGEND_ROW / 2
            entry = _tag("g", sample, transform=f"translate({_num(x)} {_num(y)})")
            entry += _text(_fit(name, (column_w - 34) * FONT_SIZE / 11), x + 28, y + BASELINE)
            cells.append(_tag("g", entry, class_="legend-entry"))
        self.height = top + LEGEND_ROW * math.ceil(len(entries) / columns) + PAD
        return _tag("g", "".join(cells), class_="legend", font_size=11)

    def svg(self, parts: list[str]) -> str:
        svg = _tag(
            "svg",
            "".join(parts),
            xmlns="http://www.w3.org/2000/svg",
            width="100%",
            viewBox=f"0 0 {self.width} {_num(self.height)}",
            role="img",
            aria_labelledby=f"{self.ident}-title {self.ident}-desc",
            class_=self.kind,
            font_family=FONT,
            font_size=FONT_SIZE,
            fill=INK,
        )
        # ASCII only, non-ASCII as character references: right whatever encoding the page declares.
        return svg.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _point(frame: _Frame, point: XmRPoint, label: str, unit: str, chart: XmRChart) -> str:
    """One week of the control chart: a circle, a triangle when outside the limits, a ring when in a run."""
    assert point.value is not None
    x, y = frame.x_of(point.index), frame.y_of(point.value)
    words = f"{label}: {frame.number(point.value)} {unit}"
    if point.above_upper:
        words += ", above the upper limit"
    if point.below_lower:
        words += ", below the lower limit"
    if point.in_run:
        run = next(run for run in chart.runs if point.index in run)
        side = "above" if point.value > chart.centre else "below"  # type: ignore[operator]
        words += f", in a run of {len(run)} {side} the centre line"
    tooltip = _tag("title", escape(_clean(words)))
    k = frame.marker_scale
    shapes = [_ring(x, y, k)] if point.in_run else []
    if point.outside:
        shapes.append(_triangle(x, y, up=point.above_upper, k=k))
    else:
        shapes.append(_circle(x, y, k=k))
    kinds = ["point"] + (["outside"] if point.outside else []) + (["run"] if point.in_run else [])
    return _tag("g", tooltip + "".join(shapes), class_=" ".join(kinds))


def _circle(x: float, y: float, content: str = "", kind: str = "marker", k: float = 1.0) -> str:
    """An ordinary week: a small blue circle (`k` scales every marker down where weeks are close together)."""
    return _tag(
        "circle",
        content,
        cx=float(x),
        cy=float(y),
        r=3.5 * k,
        fill=POINT,
        stroke="#ffffff",
        stroke_width=1,
        class_=kind,
    )


def _triangle(x: float, y: float, up: bool, k: float = 1.0) -> str:
    """A week outside the limits: a vermillion triangle pointing the way it went out."""
    s = 5.5 * k
    tip, base = (-1.2 * s, 0.8 * s) if up else (1.2 * s, -0.8 * s)
    corners = [(x, y + tip), (x + s, y + base), (x - s, y + base)]
    return _tag(
        "polygon", points=_points(corners), fill=SIGNAL, stroke="#ffffff", stroke_width=1, class_="outside-marker"
    )


def _ring(x: float, y: float, k: float = 1.0) -> str:
    """A week in a run: an open green square around its marker."""
    half = 7 * k
    return _tag(
        "rect",
        x=float(x - half),
        y=float(y - half),
        width=2 * half,
        height=2 * half,
        fill="none",
        stroke=RUN,
        stroke_width=1.5,
        class_="run-marker",
    )


def _dashed(colour: str, dash: str) -> str:
    return _tag("line", x1=0.0, y1=0.0, x2=22.0, y2=0.0, stroke=colour, stroke_width=1.5, stroke_dasharray=dash)


_CONTROL_LEGEND = (
    (_circle(11, 0, kind="legend-marker"), "Week"),
    (_triangle(11, 0, up=True), "Outside the limits"),
    (_ring(11, 0) + _circle(11, 0, kind="legend-marker"), f"In a run of {RUN_LENGTH}+ on one side"),
    (_dashed(INK, CENTRE_DASH), "Centre line (CL, mean)"),
    (_dashed(SIGNAL, LIMIT_DASH), "Natural process limits"),
)


def _places(step: float) -> int:
    """The decimals a gridline step needs: 0 for 20, 1 for 2.5 or 0.5, 2 for 0.25."""
    places = 0
    while places < 6 and abs(step * 10**places - round(step * 10**places)) > 1e-6:
        places += 1
    return places


def _ticks(low: float, high: float) -> list[float]:
    """Round gridline values from at most `low` (0 for values that are not negative) to at least `high`."""
    low = min(low, 0.0)
    if high <= low:  # nothing to scale by: four whole units
        high = low + 4
    raw = (high - low) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw - 1e-12)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(n * step, 10) for n in range(first, last + 1)]


def _check(labels: list[str], values: Sequence[float | None], width: int) -> None:
    """Refuse values that do not line up with the labels, numbers that cannot be drawn, and no room."""
    if len(values) != len(labels):
        raise ValueError(f"{len(values)} values for {len(labels)} week labels")
    if any(v is not None and not math.isfinite(v) for v in values):
        raise ValueError("a value is not a finite number")
    if width < MIN_WIDTH:
        raise ValueError(f"width {width} is too narrow for this chart; use at least {MIN_WIDTH}")


def _span(labels: list[str], values: Sequence[float | None]) -> str:
    """The weeks in words: "13 weeks, 2026-09-07 to 2026-11-30, 2 without a value"."""
    if not labels:
        return "no weeks"
    missing = sum(v is None for v in values)
    gaps = f", {missing} without a value" if missing else ""
    if len(labels) == 1:
        return f"one week, {labels[0]}{gaps}"
    return f"{len(labels)} weeks, {labels[0]} to {labels[-1]}{gaps}"


def _weekly_description(title: str, labels: list[str], values: list[float | None], unit: str, number: Number) -> str:
    """The trend line in words, for screen readers."""
    known = [(labels[i], v) for i, v in enumerate(values) if v is not None]
    sentences = [f"{title}: {_span(labels, values)}."]
    if not known:
        sentences.append("No values yet.")
    elif len(known) == 1:
        sentences.append(f"{number(known[0][1])} {unit} at {known[0][0]}, the only value.")
    else:
        low, high = min(known, key=lambda k: k[1]), max(known, key=lambda k: k[1])
        sentences.append(
            f"From {number(known[0][1])} {unit} at {known[0][0]} to {number(known[-1][1])} {unit} at "
            f"{known[-1][0]}; lowest {number(low[1])} at {low[0]}, highest {number(high[1])} at {high[0]}."
        )
    return " ".join(sentences)


def control_chart_words(title: str, labels: Sequence[str], chart: XmRChart, unit: str) -> str:
    """The control chart in words, as its description says it: for a page or a report beside the chart."""
    labels = [_clean(label) for label in labels]
    values = [p.value for p in chart.points]
    limits = _limit_lines(chart)
    frame = _Frame(title, labels, values + [value for *_, value in limits], unit, 720, "control-chart", limits)
    return _control_description(title, labels, chart, unit, frame.number)


def _control_description(title: str, labels: list[str], chart: XmRChart, unit: str, number: Number) -> str:
    """The control chart in words, for screen readers and tagged PDF: limits, and every signal."""
    values = [p.value for p in chart.points]
    sentences = [f"{title}: {_span(labels, values)}."]
    if not chart.has_limits:
        return " ".join([*sentences, f"No limits: {chart.reason}."])
    floor = " (floored at zero)" if chart.floored else ""
    sentences.append(
        f"Centre line {number(chart.centre)} {unit}, upper natural process limit {number(chart.upper_limit)} "
        f"{unit}, lower limit {number(chart.lower_limit)} {unit}{floor}."
    )
    for side, points in (
        ("above the upper limit", [p for p in chart.points if p.above_upper]),
        ("below the lower limit", [p for p in chart.points if p.below_lower]),
    ):
        if points:
            weeks = ", ".join(f"{labels[p.index]} ({number(p.value)})" for p in points)
            sentences.append(f"{_count(len(points))} {side}: {weeks}.")
    if not chart.outside:
        sentences.append("No week outside the limits.")
    for run in chart.runs:
        side = "above" if chart.points[run[0]].value > chart.centre else "below"  # type: ignore[operator]
        sentences.append(f"A run of {len(run)} weeks {side} the centre line, {labels[run[0]]} to {labels[run[-1]]}.")
    if not chart.runs:
        sentences.append(f"No run of {RUN_LENGTH} weeks on one side of the centre line.")
    return " ".join(sentences)


def _count(number: int) -> str:
    return "One week" if number == 1 else f"{number} weeks"
