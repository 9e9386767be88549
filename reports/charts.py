"""A server-rendered SVG bar chart of a scorecard's overall and per-domain scores and levels.

The same string is embedded inline in the results page and in the PDF reports, so it keeps to
what browsers and WeasyPrint both draw alike: rect, line, text, g, title and desc with
presentation attributes; no script, no style sheet, no external reference. Domain titles come
from framework files, so every piece of text is escaped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape

from assessment.domain.display import one_decimal
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
    if number is None:
        return "n/a"
    name = card.framework.level_name(number)
    return f"L{number} {name}" if name else f"L{number}"


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
