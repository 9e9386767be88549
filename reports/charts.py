"""Server-rendered SVG charts: a scorecard's domain scores as bars, and scores over cycles as lines.

The same strings are embedded inline in the pages and in the PDF reports, so they keep to what
browsers and WeasyPrint both draw alike: rect, line, polyline, polygon, circle, text, g, title
and desc with presentation attributes; no script, no style sheet, no external reference.
Titles and names come from framework files and users, so every piece of text is escaped.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from assessment.domain.display import level_text, one_decimal
from assessment.domain.scoring import Scorecard

ROW = 28  # the height of one row
BAR = 16  # the height of a bar inside its row
PAD = 8  # the margin around the chart
GAP = 10  # between columns
HEADER = 24  # room for the axis labels above the first row
SEPARATION = 8  # between the overall row and the domains
LEGEND = 26
SCORE_ROOM = 40  # after the 100 gridline, for a score printed at the end of a full bar
FONT = "DejaVu Sans, Arial, sans-serif"
FONT_SIZE = 12
BASELINE = 4  # from a row's middle to the baseline of its text
TICKS = (0, 25, 50, 75, 100)

# Okabe-Ito blue and vermillion: told apart with every common colour-vision deficiency, and
# both above 3:1 against white; text is near-black. Below target is also marked by a shape.
INK = "#1f2933"
MUTED = "#52606d"
GRID = "#d5dae0"
AXIS = "#9aa5b1"
ON_TARGET = "#0072b2"
BELOW_TARGET = "#d55e00"

# Generous advances in pixels at FONT_SIZE (DejaVu Sans is the widest of the stack), so that
# a truncated title does not run into its bar.
_NARROW, _WIDE = frozenset("fijlrtI.,:;'|!()[] -"), frozenset("mwMW@%")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NOT_ID = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class _Row:
    """One line of the chart: the overall figures or one domain's."""

    title: str
    score: float | None
    level: str | None  # "L2 Managed", "n/a", or None when the framework has no levels
    below_target: bool
    bold: bool = False

    def summary(self) -> str:
        """The row in words, for the description and the tooltip."""
        words = f"{self.title} {one_decimal(self.score)}"
        if self.level is not None:
            words += f", level {self.level.removeprefix('L')}"
        return words + (", below target" if self.below_target else "")


def domain_chart_svg(card: Scorecard, *, width: int = 720) -> str:
    """An accessible SVG chart of `card`: one bar per domain on a 0-100 axis, and levels for maturity."""
    fw = card.framework
    rows = _rows(card)
    has_levels = fw.is_maturity
    has_target = has_levels and card.target_level is not None

    label_w = min(max(80.0, max(_width(row.title) for row in rows)), width * 0.32)
    level_w = 0.0
    if has_levels:  # 1.1: the overall level is bold; 16: the below-target marker
        level_w = min(max(70.0, 1.1 * max(_width(row.level or "") for row in rows)), 190.0) + 16
    axis_x = PAD + label_w + GAP
    axis_w = width - axis_x - SCORE_ROOM - (GAP + level_w if has_levels else 0) - PAD
    if axis_w < 100:
        raise ValueError(f"width {width} is too narrow for this chart; use at least {math.ceil(width + 100 - axis_w)}")
    level_x = width - PAD - level_w

    tops = [HEADER] + [HEADER + ROW + SEPARATION + i * ROW for i in range(len(rows) - 1)]
    rows_bottom = tops[-1] + ROW
    height = rows_bottom + (LEGEND if has_target else 0) + PAD

    ident = "domain-chart-" + _NOT_ID.sub("-", fw.id)
    parts = [
        _tag("title", escape(_clean(f"Domain scores: {fw.title}")), id=f"{ident}-title"),
        _tag("desc", escape(_clean(_description(card, rows))), id=f"{ident}-desc"),
    ]
    # Axis labels and gridlines first, so that bars and text lie on top of them.
    for tick in TICKS:
        x = axis_x + axis_w * tick / 100
        parts.append(_line(x, HEADER - 4, x, rows_bottom, AXIS if tick == 0 else GRID))
        parts.append(_text(str(tick), x, HEADER - 9, fill=MUTED, font_size=10, text_anchor="middle"))
    if has_levels:
        parts.append(_text("Level", level_x + 16, HEADER - 9, fill=MUTED, font_size=10))
    parts.append(_line(PAD, HEADER + ROW + SEPARATION / 2, width - PAD, HEADER + ROW + SEPARATION / 2, GRID))

    for row, top in zip(rows, tops, strict=True):
        middle = top + ROW / 2
        colour = BELOW_TARGET if row.below_target else ON_TARGET
        cells = [
            _tag("title", escape(_clean(row.summary()))),
            _text(_fit(row.title, label_w), PAD, middle + BASELINE),
        ]
        if row.score is None:
            cells.append(_text("n/a", axis_x + 4, middle + BASELINE, fill=MUTED))
        else:
            bar_w = axis_w * min(max(row.score, 0.0), 100.0) / 100
            cells.append(_rect(axis_x, middle - BAR / 2, bar_w, BAR, colour, class_="bar"))
            cells.append(_text(one_decimal(row.score), axis_x + bar_w + 4, middle + BASELINE))
        if row.level is not None:
            if row.below_target:
                cells.append(_marker(level_x + 5, middle))
            fill = MUTED if row.level == "n/a" else INK
            cells.append(_text(_fit(row.level, level_w - 16), level_x + 16, middle + BASELINE, fill=fill))
        weight = {"font_weight": "bold"} if row.bold else {}
        parts.append(_tag("g", "".join(cells), class_="row overall" if row.bold else "row", **weight))

    if has_target:
        target = _level_text(card, card.target_level)
        y = rows_bottom + LEGEND / 2 + 2
        legend = [
            _rect(PAD, y - 5, 10, 10, ON_TARGET),
            _text("At or above target", PAD + 16, y + BASELINE),
            _rect(PAD + 160, y - 5, 10, 10, BELOW_TARGET),
            _marker(PAD + 182, y),
            _text(_fit(f"Level below target ({target})", (width - PAD - 196) * 12 / 11), PAD + 194, y + BASELINE),
        ]
        parts.append(_tag("g", "".join(legend), class_="legend", font_size=11, fill=MUTED))

    svg = _tag(
        "svg",
        "".join(parts),
        xmlns="http://www.w3.org/2000/svg",
        width=width,
        height=height,
        viewBox=f"0 0 {width} {_num(height)}",
        role="img",
        aria_labelledby=f"{ident}-title {ident}-desc",
        class_="domain-chart",
        font_family=FONT,
        font_size=FONT_SIZE,
        fill=INK,
    )
    # ASCII only, non-ASCII as character references: right whatever encoding the page declares.
    return svg.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _rows(card: Scorecard) -> list[_Row]:
    """The overall row, then one row per domain in the framework's order."""
    fw = card.framework

    def below(level: int | None) -> bool:
        target = card.target_level
        return fw.is_maturity and level is not None and target is not None and level < target

    def level(number: int | None) -> str | None:
        return _level_text(card, number) if fw.is_maturity else None

    overall = _Row("Overall", card.score, level(card.level), below(card.level), bold=True)
    return [overall] + [_Row(d.domain.title, d.score, level(d.level), below(d.level)) for d in card.domains]


def _level_text(card: Scorecard, number: int | None) -> str:
    """A level as the chart shows it: "L2 Managed", or "n/a"."""
    return level_text(number, card.framework.level_name(number), missing="n/a", prefix="L")


def _description(card: Scorecard, rows: list[_Row]) -> str:
    """The whole chart in words, for screen readers."""
    sentences = [row.summary() + "." for row in rows]
    if card.framework.is_maturity and card.target_level is not None:
        sentences.insert(1, f"Target level {_level_text(card, card.target_level).removeprefix('L')}.")
    return " ".join(sentences)


def _clean(text: str) -> str:
    """`text` on one line, without characters XML cannot hold."""
    return _NOT_XML.sub("", " ".join(text.split()))


def _advance(char: str) -> float:
    """The estimated width of one character."""
    if char in _NARROW:
        return 4.5
    if char in _WIDE:
        return 11.5
    return 9.0 if char.isupper() else 7.5


def _width(text: str) -> float:
    """The estimated width of `text` in pixels at FONT_SIZE."""
    return sum(_advance(char) for char in _clean(text))


def _fit(text: str, width: float) -> str:
    """`text` cut with an ellipsis to fit `width` pixels, by a generous estimate of its width."""
    text = _clean(text)
    if _width(text) <= width:
        return text
    used, end = _advance("\u2026"), 0
    while end < len(text) and used + _advance(text[end]) <= width:
        used += _advance(text[end])
        end += 1
    return text[:end].rstrip() + "\u2026"


def _num(value: float) -> str:
    """A coordinate with at most two decimals, always written the same way."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _tag(name: str, content: str = "", **attrs: object) -> str:
    """An element from escaped `content`; `font_size` is written font-size and `class_` class."""
    head = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{_num(value) if isinstance(value, float) else escape(str(value))}"'
        for key, value in attrs.items()
    )
    return f"<{name}{head}>{content}</{name}>" if content else f"<{name}{head}/>"


def _text(text: str, x: float, y: float, **attrs: object) -> str:
    """A text element; `text` is escaped here."""
    return _tag("text", escape(text), x=float(x), y=float(y), **attrs)


def _line(x1: float, y1: float, x2: float, y2: float, colour: str) -> str:
    """A one-pixel line."""
    return _tag("line", x1=float(x1), y1=float(y1), x2=float(x2), y2=float(y2), stroke=colour, stroke_width=1)


def _rect(x: float, y: float, w: float, h: float, colour: str, **attrs: object) -> str:
    """A filled rectangle."""
    return _tag("rect", x=float(x), y=float(y), width=float(w), height=float(h), fill=colour, **attrs)


def _marker(x: float, y: float) -> str:
    """The below-target marker: a small diamond centred on (x, y), so colour is not the only cue."""
    return _rect(x - 4, y - 4, 8, 8, BELOW_TARGET, class_="marker", transform=f"rotate(45 {_num(x)} {_num(y)})")


# The trend chart: scores over assessment cycles, one line per series.

TREND_WIDTH = 720  # the viewBox width; the chart scales to its container with width="100%"
PLOT_HEIGHT = 240
PLOT_TOP = 22  # above the 100 gridline: room for a level label over a point at 100
AXIS_ROOM = 30  # left of the plot, for the 0-100 labels
X_ROOM = 24  # below the plot, for the x labels
LEGEND_ROW = 20
LEGEND_COLUMNS = 3
SMALL = 10  # the font size of axis labels and level labels
# Okabe-Ito colours that keep 3:1 against white; past them the colours repeat with a dash. Each
# series also has its own marker shape, so that no two are told apart by colour alone.
SERIES_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#000000")
SERIES_DASHES = ("", "7 3", "2 3")
MARKER_SHAPES = ("circle", "square", "triangle", "diamond")
TARGET_DASH = "8 4"


@dataclass(frozen=True, slots=True)
class TrendSeries:
    """One line of a trend chart: a score or None per x label, and optionally a level text per x label."""

    name: str
    scores: Sequence[float | None]
    levels: Sequence[str | None] = ()
    bold: bool = False

    def level(self, index: int) -> str | None:
        """The level text at x label `index`, or None."""
        return self.levels[index] if self.levels else None


@dataclass(frozen=True, slots=True)
class _Style:
    """How one series is drawn."""

    colour: str
    dash: str
    shape: str
    bold: bool

    def line(self, points: str, **attrs: object) -> str:
        """A polyline through `points` in this style."""
        dash = {"stroke_dasharray": self.dash} if self.dash else {}
        width = 3 if self.bold else 2
        return _tag(
            "polyline",
            points=points,
            fill="none",
            stroke=self.colour,
            stroke_width=width,
            stroke_linejoin="round",
            **dash,
            **attrs,
        )

    def marker(self, x: float, y: float, tooltip: str = "", kind: str = "marker") -> str:
        """This series' marker centred on (x, y), with a tooltip when given; `kind` is its class."""
        s = 4.5 if self.bold else 3.5
        content = _tag("title", escape(_clean(tooltip))) if tooltip else ""
        attrs: dict[str, object] = {"fill": self.colour, "stroke": "#ffffff", "stroke_width": 1, "class_": kind}
        if self.shape == "circle":
            return _tag("circle", content, cx=float(x), cy=float(y), r=s + 0.5, **attrs)
        if self.shape == "square":
            return _tag("rect", content, x=float(x - s), y=float(y - s), width=2 * s, height=2 * s, **attrs)
        if self.shape == "triangle":
            corners = [(x, y - 1.3 * s), (x + 1.2 * s, y + 0.9 * s), (x - 1.2 * s, y + 0.9 * s)]
        else:
            corners = [(x, y - 1.4 * s), (x + 1.4 * s, y), (x, y + 1.4 * s), (x - 1.4 * s, y)]
        return _tag("polygon", content, points=_points(corners), **attrs)


def trend_chart_svg(
    x_labels: Sequence[str], series: Sequence[TrendSeries], *, title: str, target: float | None = None
) -> str:
    """An accessible SVG line chart of scores (0-100) over cycles: one line per series, a gap where a score is None."""
    labels = [_clean(label) for label in x_labels]
    _check_trend(labels, series, target)
    count = len(labels)
    plot_x = PAD + AXIS_ROOM
    plot_w = TREND_WIDTH - plot_x - PAD
    slot = plot_w / max(count, 1)
    plot_bottom = PLOT_TOP + PLOT_HEIGHT
    styles = [_series_style(i, s.bold) for i, s in enumerate(series)]

    def x_of(index: int) -> float:
        return plot_x + slot * (index + 0.5)

    def y_of(value: float) -> float:
        return plot_bottom - PLOT_HEIGHT * min(max(value, 0.0), 100.0) / 100

    ident = "trend-chart-" + hashlib.sha256(repr((title, labels, [s.name for s in series])).encode()).hexdigest()[:10]
    parts = [
        _tag("title", escape(_clean(title)), id=f"{ident}-title"),
        _tag("desc", escape(_clean(_trend_description(labels, series, target))), id=f"{ident}-desc"),
    ]
    grid = []
    for tick in TICKS:
        y = y_of(tick)
        grid.append(_line(plot_x, y, plot_x + plot_w, y, AXIS if tick == 0 else GRID))
        grid.append(_text(str(tick), plot_x - 6, y + BASELINE, text_anchor="end"))
    # Every label gets `step` slots: a label that would run into the next leaves that one out.
    step = max(1, math.ceil((max((_width(label) for label in labels), default=0) * SMALL / FONT_SIZE + 6) / slot))
    for index in range(0, count, step):
        grid.append(_line(x_of(index), plot_bottom, x_of(index), plot_bottom + 4, AXIS))
        text = _fit(labels[index], (step * slot - 4) * FONT_SIZE / SMALL)
        grid.append(_text(text, x_of(index), plot_bottom + 16, text_anchor="middle", class_="x-label"))
    parts.append(_tag("g", "".join(grid), class_="axes", fill=MUTED, font_size=SMALL))

    if not any(score is not None for s in series for score in s.scores):
        parts.append(
            _text(
                "No scores yet",
                plot_x + plot_w / 2,
                PLOT_TOP + PLOT_HEIGHT / 2,
                fill=MUTED,
                text_anchor="middle",
                class_="empty",
            )
        )
    if target is not None:
        y = y_of(target)
        parts.append(
            _tag(
                "line",
                _tag("title", f"Target {one_decimal(target)}"),
                x1=float(plot_x),
                y1=y,
                x2=float(plot_x + plot_w),
                y2=y,
                stroke=MUTED,
                stroke_width=1.5,
                stroke_dasharray=TARGET_DASH,
                class_="target",
            )
        )

    # The bold series last, so that it lies on top of the others.
    for line, style in sorted(zip(series, styles, strict=True), key=lambda pair: pair[0].bold):
        cells = [_tag("title", escape(_clean(_series_summary(line, labels))))]
        for run in _runs(line.scores):
            if len(run) > 1:
                cells.append(style.line(_points([(x_of(i), y_of(value)) for i, value in run])))
        for index, value in enumerate(line.scores):
            if value is None:
                continue
            level = line.level(index)
            tooltip = f"{line.name}, {labels[index]}: {one_decimal(value)}" + (f", {level}" if level else "")
            cells.append(style.marker(x_of(index), y_of(value), tooltip))
            text = _fit(level, (slot - 4) * FONT_SIZE / SMALL) if line.bold and level else ""
            if text and text != "\u2026":  # on a white backing, so that it stays legible over other lines
                y, w = y_of(value) - 9, _width(text) * SMALL / FONT_SIZE * 1.1 + 4
                cells.append(_rect(x_of(index) - w / 2, y - 9, w, 12, "#ffffff", fill_opacity=0.85, rx=2))
                cells.append(
                    _text(
                        text, x_of(index), y, text_anchor="middle", font_size=SMALL, font_weight="bold", class_="level"
                    )
                )
        parts.append(_tag("g", "".join(cells), class_="series bold" if line.bold else "series"))

    legend_top = plot_bottom + X_ROOM
    entries = [_legend_entry(s.name, style) for s, style in zip(series, styles, strict=True)]
    if target is not None:
        sample = _tag(
            "line", x1=0.0, y1=0.0, x2=22.0, y2=0.0, stroke=MUTED, stroke_width=1.5, stroke_dasharray=TARGET_DASH
        )
        entries.append((sample, f"Target {one_decimal(target)}", False))
    column_w = (TREND_WIDTH - 2 * PAD) / LEGEND_COLUMNS
    legend = []
    for number, (sample, name, bold) in enumerate(entries):
        x = PAD + column_w * (number % LEGEND_COLUMNS)
        y = legend_top + LEGEND_ROW * (number // LEGEND_COLUMNS) + LEGEND_ROW / 2
        weight = {"font_weight": "bold"} if bold else {}
        cells = _tag("title", escape(_clean(name))) + _tag("g", sample, transform=f"translate({_num(x)} {_num(y)})")
        cells += _text(_fit(name, (column_w - 34) * FONT_SIZE / 11), x + 28, y + BASELINE, **weight)
        legend.append(_tag("g", cells, class_="legend-entry"))
    if legend:
        parts.append(_tag("g", "".join(legend), class_="legend", font_size=11))

    height = legend_top + LEGEND_ROW * math.ceil(len(entries) / LEGEND_COLUMNS) + PAD
    svg = _tag(
        "svg",
        "".join(parts),
        xmlns="http://www.w3.org/2000/svg",
        width="100%",
        viewBox=f"0 0 {TREND_WIDTH} {_num(height)}",
        role="img",
        aria_labelledby=f"{ident}-title {ident}-desc",
        class_="trend-chart",
        font_family=FONT,
        font_size=FONT_SIZE,
        fill=INK,
    )
    return svg.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _check_trend(labels: list[str], series: Sequence[TrendSeries], target: float | None) -> None:
    """Refuse series that do not line up with the x labels, and numbers that cannot be drawn."""
    for line in series:
        if len(line.scores) != len(labels):
            raise ValueError(f"series {line.name!r} has {len(line.scores)} scores for {len(labels)} x labels")
        if line.levels and len(line.levels) != len(labels):
            raise ValueError(f"series {line.name!r} has {len(line.levels)} levels for {len(labels)} x labels")
        if any(score is not None and not math.isfinite(score) for score in line.scores):
            raise ValueError(f"series {line.name!r} has a score that is not a finite number")
    if target is not None and not math.isfinite(target):
        raise ValueError(f"the target must be a finite number, not {target!r}")


def _series_style(index: int, bold: bool) -> _Style:
    """The colour, dash and marker of the series at `index`: distinct for the first 15, shape and colour to 20."""
    colours = len(SERIES_COLOURS)
    return _Style(
        SERIES_COLOURS[index % colours],
        SERIES_DASHES[(index // colours) % len(SERIES_DASHES)],
        MARKER_SHAPES[index % len(MARKER_SHAPES)],
        bold,
    )


def _legend_entry(name: str, style: _Style) -> tuple[str, str, bool]:
    """A series' sample (a short line with its marker, drawn at the origin), name and weight."""
    return style.line(_points([(0, 0), (22, 0)])) + style.marker(11, 0, kind="legend-marker"), name, style.bold


def _runs(scores: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """The scores with their indexes, in runs of consecutive scores that are not None."""
    runs: list[list[tuple[int, float]]] = []
    for index, score in enumerate(scores):
        if score is None:
            continue
        if index == 0 or scores[index - 1] is None:
            runs.append([])
        runs[-1].append((index, score))
    return runs


def _series_summary(line: TrendSeries, labels: list[str]) -> str:
    """A series' first and last scores in words."""
    known = [(i, score) for i, score in enumerate(line.scores) if score is not None]
    if not known:
        return f"{line.name}: no scores."

    def at(index: int, score: float) -> str:
        level = line.level(index)
        return f"{one_decimal(score)}{f' ({level})' if level else ''} at {labels[index]}"

    missing = len(labels) - len(known)
    gaps = f", no score for {missing} of {len(labels)}" if missing else ""
    if len(known) == 1:
        return f"{line.name}: {at(*known[0])}, the only score{gaps}."
    (first_i, first), (last_i, last) = known[0], known[-1]
    change = one_decimal(abs(last - first))
    trend = "unchanged" if change == "0.0" else f"{'up' if last > first else 'down'} {change}"
    return f"{line.name}: from {at(first_i, first)} to {at(last_i, last)}, {trend}{gaps}."


def _trend_description(labels: list[str], series: Sequence[TrendSeries], target: float | None) -> str:
    """The whole trend chart in words, for screen readers."""
    if not labels:
        sentences = ["Scores from 0 to 100: no cycles yet."]
    elif len(labels) == 1:
        sentences = [f"Scores from 0 to 100 for one cycle, {labels[0]}."]
    else:
        sentences = [f"Scores from 0 to 100 over {len(labels)} cycles, {labels[0]} to {labels[-1]}."]
    if target is not None:
        sentences.append(f"Target {one_decimal(target)}.")
    sentences += [_series_summary(line, labels) for line in series]
    return " ".join(sentences)


def _points(corners: Sequence[tuple[float, float]]) -> str:
    """An SVG points list."""
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in corners)
