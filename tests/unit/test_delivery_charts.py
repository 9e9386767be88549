"""The delivery charts: a weekly trend line and an XmR control chart as SVG that is safe inline, says in words
what it shows, and marks the signals by shape."""

from __future__ import annotations

import io
import logging
import math
import xml.etree.ElementTree as ET

import pytest
from pypdf import PdfReader

from assessment.domain.delivery.control import xmr
from reports.delivery_charts import control_chart_svg, weekly_chart_svg

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script> R&D "ops"'
WEEKS = [f"2026-W{n:02d}" for n in range(1, 27)]
# 9 weeks above the centre (one of them 80, above the upper limit), then 14 below it (one of them 2, below the
# lower limit), with two weeks without a value
LEAD = [30, 28, 35, None, 31, 27, 33, 80, 29, 30, 22, 20, 21, 19, 23, 20, 18, 22, 21, None, 20, 19, 2, 24, 25, 31]
CHART = xmr(LEAD)


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def with_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [el for el in root.iter() if name in classes(el)]


def texts(root: ET.Element, name: str) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text") if name in classes(t)]


def test_the_control_chart_is_an_accessible_image_with_its_limits_in_words():
    root = ET.fromstring(control_chart_svg("Weekly lead time", WEEKS, CHART, "hours"))
    assert root.get("role") == "img" and root.get("width") == "100%"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id and root.find(f"{SVG}title").text == "Weekly lead time"
    desc = root.find(f"{SVG}desc")
    assert desc.get("id") == desc_id
    assert desc.text == (
        "Weekly lead time: 26 weeks, 2026-W01 to 2026-W26, 2 without a value. "
        "Centre line 26.3 hours, upper natural process limit 49.0 hours, lower limit 3.5 hours. "
        "One week above the upper limit: 2026-W08 (80.0). One week below the lower limit: 2026-W23 (2.0). "
        "A run of 9 weeks above the centre line, 2026-W01 to 2026-W10. "
        "A run of 14 weeks below the centre line, 2026-W11 to 2026-W25."
    )


def test_centre_and_limits_are_dashed_labelled_lines_at_their_values():
    root = ET.fromstring(control_chart_svg("Lead time", WEEKS, CHART, "hours"))
    lines = with_class(root, "limit") + with_class(root, "centre")
    assert len(lines) == 3 and all(line.get("stroke-dasharray") for line in lines)
    assert texts(root, "limit-label") == ["UCL 49.0", "CL 26.3", "LCL 3.5"]
    ys = {line.find(f"{SVG}title").text.split()[0]: float(line.get("y1")) for line in lines}
    assert ys["Upper"] < ys["Centre"] < ys["Lower"]  # top to bottom
    # a gridline at 0 and at 80 frame them: y is linear in the value
    zero = float(root.find(f".//{SVG}g[@class='axes']/{SVG}line").get("y1"))
    top = zero - (zero - ys["Centre"]) * 80 / CHART.centre
    assert ys["Upper"] == pytest.approx(zero - (zero - top) * CHART.upper_limit / 80, abs=0.02)


def test_flagged_points_are_marked_by_shape_not_colour_alone():
    root = ET.fromstring(control_chart_svg("Lead time", WEEKS, CHART, "hours"))
    points = with_class(root, "point")
    assert len(points) == 24  # the 24 weeks that have a value
    outside = with_class(root, "outside")
    assert [p.find(f"{SVG}title").text for p in outside] == [
        "2026-W08: 80.0 hours, above the upper limit, in a run of 9 above the centre line",
        "2026-W23: 2.0 hours, below the lower limit, in a run of 14 below the centre line",
    ]
    for point in outside:  # a triangle, not a circle
        assert point.find(f"{SVG}polygon") is not None and point.find(f"{SVG}circle") is None
    up, down = (p.find(f"{SVG}polygon").get("points").split() for p in outside)
    assert float(up[0].split(",")[1]) < float(up[1].split(",")[1])  # the tip above the base: out at the top
    assert float(down[0].split(",")[1]) > float(down[1].split(",")[1])
    in_run = with_class(root, "run")
    assert len(in_run) == 9 + 14
    assert all(p.find(f"{SVG}rect[@class='run-marker']") is not None for p in in_run)
    plain = [p for p in points if not classes(p) & {"outside", "run"}]
    assert len(plain) == 1 and plain[0].find(f"{SVG}circle") is not None  # 2026-W26, 31.0
    assert [t.text for t in root.iter(f"{SVG}text") if t.text and "run" in t.text] == ["In a run of 8+ on one side"]


def test_a_missing_week_splits_the_line():
    root = ET.fromstring(control_chart_svg("Lead time", WEEKS, CHART, "hours"))
    lines = [
        len(line.get("points").split()) for line in root.find(f".//{SVG}g[@class='series']").iter(f"{SVG}polyline")
    ]
    assert lines == [3, 15, 6]  # weeks 1-3, 5-19, 21-26
    weekly = ET.fromstring(weekly_chart_svg("Deployments", WEEKS[:5], [1.0, None, 2.0, 3.0, None], "per week"))
    assert [len(line.get("points").split()) for line in weekly.iter(f"{SVG}polyline")] == [2]
    assert len(with_class(weekly, "marker")) == 3  # the lone first week is a marker without a line


def test_without_limits_the_chart_says_why_and_draws_no_limit_line():
    root = ET.fromstring(control_chart_svg("Time to restore", WEEKS[:4], xmr([None, 3.5, None, None]), "hours"))
    assert with_class(root, "limit") == [] and texts(root, "limit-label") == []
    assert texts(root, "note") == [
        "No limits: there is only one value: a moving range needs two, so there are no limits yet"
    ]
    assert root.find(f"{SVG}desc").text.endswith(
        "No limits: there is only one value: a moving range needs two, so there are no limits yet."
    )
    assert len(with_class(root, "point")) == 1
    empty = ET.fromstring(control_chart_svg("Time to restore", WEEKS[:4], xmr([None] * 4), "hours"))
    assert texts(empty, "note") == ["No values yet"] and with_class(empty, "point") == []
    nothing = ET.fromstring(control_chart_svg("Nothing", [], xmr([]), "hours"))
    assert nothing.find(f"{SVG}desc").text == "Nothing: no weeks. No limits: there is no value yet."


def test_the_weekly_chart_gives_first_last_lowest_and_highest_in_words():
    svg = weekly_chart_svg("Deployment frequency", WEEKS[:4], [2.0, 3.5, None, 1.0], "deployments per week")
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and "weekly-chart" in classes(root)
    assert root.find(f"{SVG}desc").text == (
        "Deployment frequency: 4 weeks, 2026-W01 to 2026-W04, 1 without a value. "
        "From 2.0 deployments per week at 2026-W01 to 1.0 deployments per week at 2026-W04; "
        "lowest 1.0 at 2026-W04, highest 3.5 at 2026-W02."
    )
    assert texts(root, "unit") == ["deployments per week"]


def test_small_values_keep_their_digits():
    root = ET.fromstring(control_chart_svg("Tiny", WEEKS[:6], xmr([0.1, 0.15, 0.12, 0.11, 0.3, 0.1]), "percent"))
    assert texts(root, "limit-label") == ["UCL 0.40", "CL 0.15", "LCL 0.00"]


def test_close_limit_labels_are_pushed_apart():
    root = ET.fromstring(control_chart_svg("Close", WEEKS[:4], xmr([100, 100.5, 100, 100.5]), "hours"))
    ys = [float(t.get("y")) for t in root.iter(f"{SVG}text") if "limit-label" in classes(t)]
    assert len(ys) == 3 and all(b - a >= 12 for a, b in zip(ys, ys[1:], strict=False))


def test_titles_labels_and_units_come_out_as_text():
    chart = xmr([1.0, 2.0, 3.0])
    for svg in (
        control_chart_svg(HOSTILE, ["<i>W1</i>", "W2 & W3", '"W4"'], chart, "<b>h</b>"),
        weekly_chart_svg(HOSTILE, ["<i>W1</i>", "W2 & W3", '"W4"'], [1.0, 2.0, 3.0], "<b>h</b>"),
    ):
        assert "<script" not in svg and "<i>" not in svg and "<b>" not in svg and svg.isascii()
        root = ET.fromstring(svg)
        assert root.find(f"{SVG}title").text == HOSTILE
        assert HOSTILE in root.find(f"{SVG}desc").text and "<b>h</b>" in root.find(f"{SVG}desc").text
        assert texts(root, "x-label") == ["<i>W1</i>", "W2 & W3", '"W4"']
        assert texts(root, "unit") == ["<b>h</b>"]


def test_no_style_script_or_external_reference():
    for svg in (
        control_chart_svg(HOSTILE, WEEKS, CHART, "hours"),
        weekly_chart_svg(HOSTILE, WEEKS, LEAD, "hours"),
    ):
        assert "style=" not in svg and "<script" not in svg
        rest = svg.replace('xmlns="http://www.w3.org/2000/svg"', "", 1).lower()
        for word in ("href", "http", "url(", "@import", "<image", "<style", "foreignobject", "javascript"):
            assert word not in rest
        allowed = {"svg", "title", "desc", "g", "rect", "line", "polyline", "polygon", "circle", "text"}
        assert {el.tag.removeprefix(SVG) for el in ET.fromstring(svg).iter()} <= allowed


def test_the_same_inputs_give_the_same_output_and_two_charts_do_not_share_ids():
    assert control_chart_svg("Lead time", WEEKS, CHART, "hours") == control_chart_svg(
        "Lead time", WEEKS, xmr(LEAD), "hours"
    )
    ids = [
        el.get("id")
        for svg in (
            control_chart_svg("Lead time", WEEKS, CHART, "hours"),
            control_chart_svg("Time to restore", WEEKS, CHART, "hours"),
            weekly_chart_svg("Lead time", WEEKS, LEAD, "hours"),
        )
        for el in ET.fromstring(svg).iter()
        if el.get("id")
    ]
    assert len(ids) == len(set(ids)) == 6


def test_many_weeks_thin_out_the_labels_and_stay_inside_a_narrow_chart():
    labels = [f"2026-{w:02d}-01" for w in range(1, 53)]
    root = ET.fromstring(
        control_chart_svg("A year", labels, xmr([float(i % 5) for i in range(52)]), "hours", width=360)
    )
    shown = texts(root, "x-label")
    assert 1 < len(shown) < 52 and shown[0] == labels[0]
    width = float(root.get("viewBox").split()[2])
    assert width == 360 and all(0 <= float(t.get("x")) <= width for t in root.iter(f"{SVG}text"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: control_chart_svg("x", WEEKS[:2], CHART, "h"), "26 values for 2 week labels"),
        (lambda: weekly_chart_svg("x", WEEKS[:2], [1.0, math.nan], "h"), "a value is not a finite number"),
        (lambda: weekly_chart_svg("x", WEEKS[:2], [1.0, 2.0], "h", width=200), "width 200 is too narrow"),
    ],
)
def test_inputs_that_cannot_be_drawn_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.slow
def test_weasyprint_draws_both_into_a_pdf(caplog):
    weasyprint = pytest.importorskip("weasyprint")
    html = (
        "<!doctype html><html><body>"
        f"<div>{control_chart_svg('Lead time', WEEKS, CHART, 'hours')}</div>"
        f"<div>{weekly_chart_svg('Deployments', WEEKS, LEAD, 'per week')}</div></body></html>"
    )
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = weasyprint.HTML(string=html).write_pdf()
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for word in ("UCL 49.0", "CL 26.3", "LCL 3.5", "2026-W01", "Outside the limits", "per week"):
        assert word in text
