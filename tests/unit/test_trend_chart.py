"""The trend chart: scores over cycles as an SVG that is safe inline, the same every time, and drawn by WeasyPrint."""

from __future__ import annotations

import io
import logging
import math
import xml.etree.ElementTree as ET

import pytest
from pypdf import PdfReader

from reports.charts import SERIES_COLOURS, TrendSeries, trend_chart_svg

SVG = "{http://www.w3.org/2000/svg}"
CYCLES = ["2025-06-30", "2025-12-31", "2026-06-30"]
HOSTILE = '<script>alert(1)</script> R&D "ops"'


def chart(*series: TrendSeries, labels=CYCLES, target: float | None = None, title: str = "Scores over time") -> str:
    return trend_chart_svg(labels, series, title=title, target=target)


def groups(svg: str, cls: str) -> list[ET.Element]:
    return [g for g in ET.fromstring(svg).iter(f"{SVG}g") if cls in g.get("class", "").split()]


def polylines(element: ET.Element) -> list[list[tuple[float, float]]]:
    return [
        [tuple(float(n) for n in point.split(",")) for point in line.get("points").split()]
        for line in element.iter(f"{SVG}polyline")
    ]


def plotted_lines(svg: str) -> list[list[tuple[float, float]]]:
    """The polylines of the series, not the legend's samples."""
    return [line for g in groups(svg, "series") for line in polylines(g)]


def markers(element: ET.Element) -> list[ET.Element]:
    return [el for el in element.iter() if el.get("class") == "marker"]


def centre(marker: ET.Element) -> tuple[float, float]:
    """The centre of a circle, square or polygon marker."""
    if marker.tag == f"{SVG}circle":
        return float(marker.get("cx")), float(marker.get("cy"))
    if marker.tag == f"{SVG}rect":
        half = float(marker.get("width")) / 2
        return float(marker.get("x")) + half, float(marker.get("y")) + half
    xs, ys = zip(*(map(float, p.split(",")) for p in marker.get("points").split()), strict=True)
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2


def texts(element: ET.Element, cls: str | None = None) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text") if cls is None or t.get("class") == cls]


OVERALL = TrendSeries("Overall", [40.0, 55.0, 70.0], ["L1", "L2", "L2"], bold=True)
BUILD = TrendSeries("Build", [50.0, None, 75.0], ["L1", None, "L3"])


def test_the_root_is_an_accessible_image_that_scales_to_its_container():
    root = ET.fromstring(chart(OVERALL, BUILD, title="Payments platform: scores"))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("class") == "trend-chart"
    assert root.get("width") == "100%" and root.get("height") is None
    assert root.get("viewBox").startswith("0 0 720 ")
    title_id, desc_id = root.get("aria-labelledby").split()
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    assert by_id[title_id].tag == f"{SVG}title" and by_id[title_id].text == "Payments platform: scores"
    assert by_id[desc_id].tag == f"{SVG}desc"


def test_the_description_gives_each_series_first_and_last_value_in_words():
    desc = ET.fromstring(chart(OVERALL, BUILD, TrendSeries("Run", [None, 30.0, None]), target=75)).find(f"{SVG}desc")
    assert desc.text == (
        "Scores from 0 to 100 over 3 cycles, 2025-06-30 to 2026-06-30. Target 75.0. "
        "Overall: from 40.0 (L1) at 2025-06-30 to 70.0 (L2) at 2026-06-30, up 30.0. "
        "Build: from 50.0 (L1) at 2025-06-30 to 75.0 (L3) at 2026-06-30, up 25.0, no score for 1 of 3. "
        "Run: 30.0 at 2025-12-31, the only score, no score for 2 of 3."
    )
    down = ET.fromstring(chart(TrendSeries("D", [80.0, 60.0, 60.0]), TrendSeries("S", [5.0, 9.0, 5.0])))
    assert down.find(f"{SVG}desc").text.endswith(
        "D: from 80.0 at 2025-06-30 to 60.0 at 2026-06-30, down 20.0. "
        "S: from 5.0 at 2025-06-30 to 5.0 at 2026-06-30, unchanged."
    )


def test_points_sit_on_the_0_to_100_gridlines_at_evenly_spaced_cycles():
    svg = chart(TrendSeries("S", [0.0, 50.0, 100.0]))
    root = ET.fromstring(svg)
    (axes,) = groups(svg, "axes")
    grid = {float(line.get("y1")): line for line in axes.iter(f"{SVG}line") if line.get("y1") == line.get("y2")}
    assert [t for t in texts(axes) if t.isdigit()] == ["0", "25", "50", "75", "100"]
    assert texts(axes, "x-label") == CYCLES
    bottom, top = max(grid), min(grid)
    assert sorted(grid) == pytest.approx([top + (bottom - top) * i / 4 for i in range(5)])
    points = [centre(m) for m in markers(root)]
    assert [y for _, y in points] == pytest.approx([bottom, (top + bottom) / 2, top])
    xs = [x for x, _ in points]
    assert xs[2] - xs[1] == pytest.approx(xs[1] - xs[0]) and xs[0] < xs[1]
    assert plotted_lines(svg) == [[pytest.approx(p) for p in points]]


def test_a_missing_score_splits_the_line():
    svg = chart(TrendSeries("S", [10.0, 20.0, None, 30.0, 40.0]), labels=["a", "b", "c", "d", "e"])
    (series,) = groups(svg, "series")
    first, second = polylines(series)
    assert len(first) == len(second) == 2 and first[-1][0] < second[0][0]
    assert len(markers(series)) == 4


def test_a_lone_score_between_gaps_is_a_marker_without_a_line():
    (series,) = groups(chart(TrendSeries("S", [None, 42.0, None])), "series")
    assert polylines(series) == [] and len(markers(series)) == 1
    assert markers(series)[0].find(f"{SVG}title").text == "S, 2025-12-31: 42.0"


def test_one_cycle_and_empty_charts_draw_without_error():
    svg = chart(TrendSeries("Overall", [64.0], ["L2"], bold=True), labels=["2026-06-30"])
    one = ET.fromstring(svg)
    assert len(markers(one)) == 1 and plotted_lines(svg) == []
    assert texts(one, "level") == ["L2"]
    assert one.find(f"{SVG}desc").text == (
        "Scores from 0 to 100 for one cycle, 2026-06-30. Overall: 64.0 (L2) at 2026-06-30, the only score."
    )
    for svg in (chart(labels=[]), chart(TrendSeries("Empty", []), labels=[]), chart(TrendSeries("None", [None] * 3))):
        root = ET.fromstring(svg)
        assert markers(root) == [] and plotted_lines(svg) == []
        assert texts(root, "empty") == ["No scores yet"]
    assert ET.fromstring(chart(labels=[])).find(f"{SVG}desc").text == "Scores from 0 to 100: no cycles yet."


def test_levels_are_written_by_the_bold_series_only():
    svg = chart(BUILD, TrendSeries("Run", [10.0, 20.0, 30.0]), OVERALL)
    bold = next(g for g in groups(svg, "series") if "bold" in g.get("class"))
    assert texts(bold, "level") == ["L1", "L2", "L2"]
    assert texts(ET.fromstring(svg), "level") == ["L1", "L2", "L2"]  # none for Build, which has levels too
    # the bold series is drawn last, on top, with a thicker line
    assert groups(svg, "series")[-1] is not None and "bold" in groups(svg, "series")[-1].get("class")
    widths = [line.get("stroke-width") for g in groups(svg, "series") for line in g.iter(f"{SVG}polyline")]
    assert widths == ["2", "3"]  # Build has no line: no two of its scores are next to each other


def test_the_legend_names_every_series_and_tells_twelve_apart_without_colour_alone():
    series = [TrendSeries(f"Domain {i}", [float(i), float(2 * i), None], bold=i == 0) for i in range(12)]
    svg = chart(*series)
    entries = groups(svg, "legend-entry")
    assert [texts(e)[0] for e in entries] == [f"Domain {i}" for i in range(12)]
    assert entries[0].find(f"{SVG}text").get("font-weight") == "bold"

    def style(g: ET.Element) -> tuple[str, str, str]:
        line = next(g.iter(f"{SVG}polyline"))
        marker = next(el for el in g.iter() if el.get("class", "").endswith("marker"))
        shape = marker.tag.removeprefix(SVG) + str(len((marker.get("points") or "").split()))
        return line.get("stroke"), line.get("stroke-dasharray", ""), shape

    styles = [style(e) for e in entries]
    assert len(set(styles)) == 12
    assert {colour for colour, _, _ in styles} == set(SERIES_COLOURS)  # the palette repeats...
    assert len({(colour, dash) for colour, dash, _ in styles}) == 12  # ...with a different dash
    assert all(len({s[2] for s in styles[i : i + 4]}) == 4 for i in range(0, 12, 4))  # and shapes vary
    drawn = {g.find(f"{SVG}title").text.split(":")[0]: style(g) for g in groups(svg, "series")}
    assert [drawn[f"Domain {i}"][::2] for i in range(12)] == [s[::2] for s in styles]  # as its legend shows


def test_a_target_is_a_dashed_line_with_a_legend_entry():
    svg = chart(TrendSeries("S", [0.0, 50.0, 100.0]), target=75)
    root = ET.fromstring(svg)
    (target,) = [line for line in root.iter(f"{SVG}line") if line.get("class") == "target"]
    assert target.get("stroke-dasharray") and target.get("y1") == target.get("y2")
    ys = [centre(m)[1] for m in markers(root)]
    assert float(target.get("y1")) == pytest.approx(ys[0] + (ys[2] - ys[0]) * 0.75)
    assert texts(groups(svg, "legend-entry")[-1]) == ["Target 75.0"]
    assert not [line for line in ET.fromstring(chart(OVERALL)).iter(f"{SVG}line") if line.get("class") == "target"]


def test_names_labels_and_levels_come_out_as_text():
    svg = chart(
        TrendSeries(HOSTILE, [1.0, 2.0, 3.0], ["<b>L1</b>", "L&2", None], bold=True),
        labels=["<i>Q1</i>", "Q2 & Q3", '"Q4"'],
        title="<script>x</script> & co",
    )
    root = ET.fromstring(svg)  # parses
    assert "<script" not in svg and "<b>" not in svg and "<i>" not in svg
    assert "&lt;script&gt;" in svg and "R&amp;D" in svg
    legend = groups(svg, "legend-entry")[0]
    assert legend.find(f"{SVG}title").text == HOSTILE
    assert texts(legend)[0].endswith("\u2026") and HOSTILE.startswith(texts(legend)[0][:-1])  # cut to its column
    assert texts(root, "x-label") == ["<i>Q1</i>", "Q2 & Q3", '"Q4"']
    assert texts(root, "level") == ["<b>L1</b>", "L&2"]
    assert root.find(f"{SVG}title").text == "<script>x</script> & co"
    assert HOSTILE in root.find(f"{SVG}desc").text


def test_no_style_script_or_external_reference():
    svg = chart(OVERALL, BUILD, TrendSeries(HOSTILE, [1.0, None, 3.0]), target=80)
    assert "style=" not in svg and "<script" not in svg and svg.isascii()
    rest = svg.replace('xmlns="http://www.w3.org/2000/svg"', "", 1).lower()
    for word in ("href", "http", "url(", "@import", "<image", "<style", "foreignobject", "javascript"):
        assert word not in rest
    allowed = {"svg", "title", "desc", "g", "rect", "line", "polyline", "polygon", "circle", "text"}
    assert {el.tag.removeprefix(SVG) for el in ET.fromstring(svg).iter()} <= allowed


def test_the_same_inputs_give_the_same_output_and_ids():
    def build() -> str:
        return trend_chart_svg(
            list(CYCLES),
            [
                TrendSeries("Overall", [40.0, 55.0, 70.0], ["L1", "L2", "L2"], bold=True),
                TrendSeries("Build", (50.0, None, 75.0)),
            ],
            title="Scores",
            target=60.0,
        )

    assert build() == build()
    ids = [el.get("id") for el in ET.fromstring(build()).iter() if el.get("id")]
    assert len(ids) == len(set(ids)) == 2 and all(i.startswith("trend-chart-") for i in ids)
    other = [el.get("id") for el in ET.fromstring(chart(OVERALL, title="Another scope")).iter() if el.get("id")]
    assert not set(ids) & set(other)  # two charts on one page do not share ids


def test_many_cycles_thin_out_the_x_labels_instead_of_overlapping():
    labels = [f"2026-{m:02d}-01" for m in range(1, 13)] + [f"2027-{m:02d}-01" for m in range(1, 13)]
    root = ET.fromstring(chart(TrendSeries("S", [float(i) for i in range(24)]), labels=labels))
    shown = texts(root, "x-label")
    assert 1 < len(shown) < 24 and shown[0] == labels[0] and set(shown) <= set(labels)
    assert len(markers(root)) == 24


@pytest.mark.parametrize(
    ("series", "message"),
    [
        (TrendSeries("Short", [1.0]), "series 'Short' has 1 scores for 3 x labels"),
        (TrendSeries("L", [1.0, 2.0, 3.0], ["L1"]), "series 'L' has 1 levels for 3 x labels"),
        (TrendSeries("NaN", [1.0, math.nan, 3.0]), "series 'NaN' has a score that is not a finite number"),
    ],
)
def test_series_that_do_not_fit_the_labels_are_refused(series, message):
    with pytest.raises(ValueError, match=message):
        chart(series)
    with pytest.raises(ValueError, match="target must be a finite number"):
        chart(OVERALL, target=math.inf)


@pytest.mark.slow
def test_weasyprint_draws_it_into_a_pdf(caplog):
    weasyprint = pytest.importorskip("weasyprint")
    svg = chart(OVERALL, BUILD, TrendSeries("Lonely point", [None, 30.0, None]), target=75)
    html = f"<!doctype html><html><body><h1>Trend</h1><div>{svg}</div></body></html>"
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = weasyprint.HTML(string=html).write_pdf()
    assert pdf.startswith(b"%PDF")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for word in ("Overall", "Lonely point", "Target 75.0", "2025-12-31", "L2"):
        assert word in text
