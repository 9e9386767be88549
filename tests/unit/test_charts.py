"""The domain chart SVG shared by the results page and the reports."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

from assessment.domain.answers import read_answers_file
from assessment.domain.loader import load_framework_file
from assessment.domain.scoring import score
from reports.charts import domain_chart_svg
from tests.conftest import EXAMPLES

SVG = "{http://www.w3.org/2000/svg}"


def devops_card(**changes):
    framework = load_framework_file(EXAMPLES / "devops-delivery.yaml")
    if changes:
        framework = dataclasses.replace(framework, **changes)
    answers = read_answers_file(EXAMPLES / "devops-delivery.answers.yaml", load_framework_file(EXAMPLES / "devops-delivery.yaml"))
    return score(framework, answers)


def test_chart_is_valid_accessible_svg_with_every_domain():
    svg = domain_chart_svg(devops_card())
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("viewBox")
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for label in ("Overall", "Continuous integration", "Deployment", "Operations", "56.3", "87.5", "50.0"):
        assert label in text or label in svg
    description = root.find(f"{SVG}desc").text
    assert "56.3" in description and "Continuous integration 87.5" in description


def test_chart_is_deterministic_and_references_nothing():
    card = devops_card()
    svg = domain_chart_svg(card)
    assert svg == domain_chart_svg(card)
    lowered = svg.lower()
    assert "<script" not in lowered and "href" not in lowered and "<image" not in lowered
    assert lowered.count("http") == lowered.count("http://www.w3.org/2000/svg")


def test_hostile_titles_are_escaped():
    card = devops_card()
    hostile = '<script>alert(1)</script> & "quotes"'
    domains = tuple(dataclasses.replace(d, title=hostile) if i == 0 else d for i, d in enumerate(card.framework.domains))
    svg = domain_chart_svg(devops_card(domains=domains))
    ET.fromstring(svg)  # still well-formed
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def rows(svg: str) -> dict[str, float | None]:
    """Each row's label and its bar width (None without a bar)."""
    result = {}
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        if "row" not in (group.get("class") or ""):
            continue
        label = group.find(f"{SVG}text").text
        bar = next((r for r in group.iter(f"{SVG}rect") if r.get("class") == "bar"), None)
        result[label] = None if bar is None else float(bar.get("width"))
    return result


def test_bars_are_proportional_to_scores():
    widths = rows(domain_chart_svg(devops_card()))
    assert widths["Continuous integration"] / widths["Deployment"] == 87.5 / 50.0
    assert widths["Operations"] == 0.0
    assert abs(widths["Overall"] / widths["Deployment"] - 56.25 / 50.0) < 1e-9


def test_a_domain_without_a_score_has_no_bar():
    framework = load_framework_file(EXAMPLES / "itgc-mini.yaml")
    from assessment.domain.answers import Answer

    card = score(framework, {"CM-01": Answer("CM-01", "na"), "CM-02": Answer("CM-02", "na")})
    svg = domain_chart_svg(card)
    assert rows(svg)["Change management"] is None and "n/a" in svg
    assert "Level" not in svg  # compliance: no level column
