"""The domain chart: an SVG that says what the scorecard says, safely, and the same way every time."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from assessment.domain.answers import Answer, read_answers_file
from assessment.domain.framework import BUILTIN_SCALES, Domain, Framework, Level, Requirement
from assessment.domain.loader import load_framework_file
from assessment.domain.scoring import score
from reports.charts import BELOW_TARGET, ON_TARGET, ROW, domain_chart_svg
from tests.conftest import EXAMPLES

SVG = "{http://www.w3.org/2000/svg}"
YPN = BUILTIN_SCALES["yes_partial_no"]
AS_OF = dt.date(2026, 11, 21)
LEVELS = (Level(1, "Initial"), Level(2, "Managed"), Level(3, "Defined"))
HOSTILE = '<script>alert(1)</script> "&\' <a href="http://evil.example">x</a>'


def domain(did: str, title: str, *levels: int) -> Domain:
    """A domain with one yes/partial/no requirement per level given, ids did-0, did-1..."""
    reqs = tuple(Requirement(f"{did}-{i}", f"{did}-{i}", did, YPN, "?", level=lv) for i, lv in enumerate(levels))
    return Domain(did, title, reqs)


def framework(*domains: Domain, kind: str = "maturity") -> Framework:
    levels = LEVELS if kind == "maturity" else ()
    return Framework(id="f", version="1", title="F", kind=kind, domains=domains, levels=levels)


def chart(fw: Framework, target_level: int | None = None, width: int = 720, **values: str) -> str:
    """The chart of `fw` answered with `values` (requirement id with '_' for '-')."""
    answers = {rid.replace("_", "-"): Answer(rid.replace("_", "-"), v) for rid, v in values.items()}
    return domain_chart_svg(score(fw, answers, as_of=AS_OF, target_level=target_level), width=width)


def example_chart(name: str, target_level: int | None = None) -> str:
    fw = load_framework_file(EXAMPLES / f"{name}.yaml")
    answers = read_answers_file(EXAMPLES / f"{name}.answers.yaml", fw)
    return domain_chart_svg(score(fw, answers, target_level=target_level))


def rows(svg: str) -> list[ET.Element]:
    """The chart's rows, overall first."""
    return [g for g in ET.fromstring(svg).iter(f"{SVG}g") if "row" in g.get("class", "").split()]


def texts(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text")]


def bars(element: ET.Element) -> list[ET.Element]:
    return [r for r in element.iter(f"{SVG}rect") if r.get("class") == "bar"]


def markers(element: ET.Element) -> list[ET.Element]:
    return [r for r in element.iter(f"{SVG}rect") if r.get("class") == "marker"]


TWO_DOMAINS = framework(domain("A", "Alpha", 1, 1, 2, 2), domain("B", "Beta", 1, 2))
TWO_ANSWERED = {"A_0": "yes", "A_1": "yes", "A_2": "yes", "A_3": "partial", "B_0": "yes", "B_1": "no"}


def test_the_example_has_one_bar_per_domain_in_framework_order():
    found = rows(example_chart("devops-delivery"))
    assert [texts(row)[0] for row in found] == ["Overall", "Continuous integration", "Deployment", "Operations"]
    assert [len(bars(row)) for row in found] == [1, 1, 1, 1]
    assert found[0].get("font-weight") == "bold"
    assert [texts(row)[1:] for row in found] == [
        ["56.3", "L1 Initial"],  # 56.25, half rounded up
        ["87.5", "L1 Initial"],
        ["50.0", "L2 Managed"],
        ["0.0", "L2 Managed"],
    ]


def test_bar_widths_are_proportional_to_scores_on_the_axis():
    svg = chart(TWO_DOMAINS, **TWO_ANSWERED)
    overall, alpha, beta = (bars(row)[0] for row in rows(svg))
    assert (texts(rows(svg)[1])[1], texts(rows(svg)[2])[1]) == ("87.5", "50.0")
    assert float(alpha.get("width")) / float(beta.get("width")) == pytest.approx(87.5 / 50.0)
    # the axis runs from the 0 gridline to the 100 gridline
    lines = [line for line in ET.fromstring(svg).iter(f"{SVG}line") if line.get("x1") == line.get("x2")]
    ticks = sorted(float(line.get("x1")) for line in lines)
    assert len(ticks) == 5
    assert float(alpha.get("x")) == pytest.approx(ticks[0])
    assert float(beta.get("width")) == pytest.approx((ticks[-1] - ticks[0]) / 2, abs=0.01)
    assert [float(ticks[i + 1] - ticks[i]) for i in range(4)] == pytest.approx([ticks[1] - ticks[0]] * 4)


def test_the_axis_is_labelled_0_to_100():
    root = ET.fromstring(chart(TWO_DOMAINS, **TWO_ANSWERED))
    top_level_texts = [t.text for t in root.findall(f"{SVG}text")]
    assert top_level_texts == ["0", "25", "50", "75", "100", "Level"]


def test_a_domain_without_a_score_shows_na_and_no_bar():
    fw = framework(domain("A", "Alpha", 1), domain("N", "Nothing applies", 1, 2))
    overall, alpha, nothing = rows(chart(fw, A_0="yes", N_0="na", N_1="na"))
    assert len(bars(alpha)) == 1
    assert bars(nothing) == []
    assert texts(nothing) == ["Nothing applies", "n/a", "n/a"]


def test_domains_below_target_are_marked_and_explained_in_a_legend():
    found = rows(example_chart("devops-delivery", target_level=2))
    marked = {texts(row)[0]: (bool(markers(row)), bars(row)[0].get("fill")) for row in found}
    assert marked == {
        "Overall": (True, BELOW_TARGET),
        "Continuous integration": (True, BELOW_TARGET),
        "Deployment": (False, ON_TARGET),
        "Operations": (False, ON_TARGET),
    }
    legend = next(
        g for g in ET.fromstring(example_chart("devops-delivery")).iter(f"{SVG}g") if g.get("class") == "legend"
    )
    assert texts(legend) == ["At or above target", "Level below target (L3 Defined)"]


def test_a_compliance_framework_has_no_level_column_marker_or_legend():
    svg = example_chart("itgc-mini")
    root = ET.fromstring(svg)
    assert [texts(row) for row in rows(svg)] == [
        ["Overall", "33.3"],
        ["Access control", "16.7"],
        ["Change management", "50.0"],
    ]
    assert "Level" not in texts(root)
    assert markers(root) == []
    assert all(g.get("class") != "legend" for g in root.iter(f"{SVG}g"))
    assert "level" not in root.find(f"{SVG}desc").text.lower()


def test_the_root_is_an_accessible_image_described_in_words():
    root = ET.fromstring(example_chart("devops-delivery"))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    title_id, desc_id = root.get("aria-labelledby").split()
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    assert by_id[title_id].tag == f"{SVG}title" and by_id[desc_id].tag == f"{SVG}desc"
    assert by_id[title_id].text == "Domain scores: DevOps Delivery Maturity (example)"
    assert by_id[desc_id].text == (
        "Overall 56.3, level 1 Initial, below target. Target level 3 Defined. "
        "Continuous integration 87.5, level 1 Initial, below target. Deployment 50.0, level 2 Managed, below target. "
        "Operations 0.0, level 2 Managed, below target."
    )


def test_hostile_titles_come_out_as_text():
    fw = framework(domain("A", HOSTILE, 1))
    fw = Framework(id="f", version="1", title=HOSTILE, kind="maturity", domains=fw.domains, levels=LEVELS)
    svg = chart(fw, A_0="yes")
    root = ET.fromstring(svg)  # parses
    assert "<script" not in svg and "<a " not in svg and "&lt;script&gt;" in svg
    assert {el.tag.removeprefix(SVG) for el in root.iter()} <= {"svg", "title", "desc", "g", "rect", "line", "text"}
    assert all(not name.endswith("href") for el in root.iter() for name in el.attrib)
    _, row = rows(svg)
    assert row.find(f"{SVG}title").text.startswith(HOSTILE + " 100.0")
    assert texts(row)[0].startswith('<script>alert(1)</script> "&')
    assert root.find(f"{SVG}title").text == f"Domain scores: {HOSTILE}"


def test_no_script_or_external_reference_in_the_output():
    for svg in (example_chart("devops-delivery"), example_chart("itgc-mini")):
        rest = svg.replace('xmlns="http://www.w3.org/2000/svg"', "", 1).lower()
        for word in ("script", "href", "http", "url(", "@import", "<image", "<style", "foreignobject"):
            assert word not in rest


def test_a_long_title_is_cut_with_an_ellipsis_and_kept_whole_in_its_tooltip():
    long_title = "Release management and deployment automation across every product line and region"
    _, row = rows(chart(framework(domain("A", long_title, 1)), A_0="yes"))
    label = texts(row)[0]
    assert label.endswith("\u2026") and long_title.startswith(label[:-1]) and len(label) < len(long_title)
    assert row.find(f"{SVG}title").text.startswith(long_title)


def test_non_ascii_titles_survive_as_character_references():
    svg = chart(framework(domain("A", "Sécurité des données", 1)), A_0="yes")
    assert svg.isascii()
    assert texts(rows(svg)[1])[0] == "Sécurité des données"


def test_the_output_is_deterministic():
    first = chart(TWO_DOMAINS, **TWO_ANSWERED)
    again = chart(framework(domain("A", "Alpha", 1, 1, 2, 2), domain("B", "Beta", 1, 2)), **TWO_ANSWERED)
    assert first == again
    assert example_chart("devops-delivery") == example_chart("devops-delivery")


@pytest.mark.parametrize("count", [1, 60])
def test_one_to_sixty_domains(count):
    fw = framework(*(domain(f"D{i}", f"Domain {i}", 1) for i in range(count)))
    svg = chart(fw, **{f"D{i}_0": ("yes", "partial", "no", "na")[i % 4] for i in range(count)})
    found = rows(svg)
    assert len(found) == count + 1
    assert len([row for row in found if bars(row)]) == 1 + len([i for i in range(count) if i % 4 != 3])


def test_height_grows_by_one_row_per_domain():
    def height(count: int) -> float:
        fw = framework(*(domain(f"D{i}", f"Domain {i}", 1) for i in range(count)))
        return float(ET.fromstring(chart(fw)).get("height"))

    assert height(60) - height(1) == 59 * ROW


def test_width_sets_the_view_box_and_too_narrow_is_refused():
    root = ET.fromstring(chart(TWO_DOMAINS, width=480, **TWO_ANSWERED))
    assert root.get("width") == "480" and root.get("viewBox").startswith("0 0 480 ")
    with pytest.raises(ValueError, match="too narrow"):
        chart(TWO_DOMAINS, width=200)
