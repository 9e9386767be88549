"""One level text: "2 Managed" reads the same on the command line, the pages, the reports and the charts."""

from __future__ import annotations

import re

from assessment.cli_files import format_scorecard
from assessment.domain.display import level_of, level_text
from assessment.views.presenters import level_text as page_level_text
from reports.charts import domain_chart_svg
from reports.render import _domain_views, _env, render_html
from tests.unit.test_exports import example_report

REPORT = example_report()
CARD = REPORT.card
FRAMEWORK = REPORT.framework


def test_the_example_reaches_a_named_level():
    assert CARD.level is not None and CARD.level_name
    assert level_text(CARD.level, CARD.level_name) == f"{CARD.level} {CARD.level_name}"


def test_every_place_writes_the_level_the_same_way():
    expected = level_text(CARD.level, CARD.level_name)
    assert page_level_text(CARD, CARD.level) == expected
    assert f"Level: {expected}" in format_scorecard(CARD)
    assert REPORT.level_text == expected
    assert level_of(CARD.level, FRAMEWORK) == expected
    assert level_of(CARD.level, {CARD.level: CARD.level_name}) == expected
    assert _env.from_string("{{ n|level(fw) }}").render(n=CARD.level, fw=FRAMEWORK) == expected
    assert f"L{expected}" in domain_chart_svg(CARD)
    html = render_html(REPORT)
    assert f"maturity level <strong>{expected}</strong>" in html
    floor = FRAMEWORK.levels[0]
    assert f"The floor level, {floor.number} {floor.name}, needs nothing." in html


def test_a_domain_level_reads_the_same_in_the_report_and_on_the_page():
    for view, domain in zip(_domain_views(REPORT), CARD.domains, strict=True):
        missing = "n/a" if domain.level is None else None
        assert view["level_text"] == (missing or page_level_text(CARD, domain.level))


def test_the_app_registers_the_level_filter_for_pages(tmp_path):
    from assessment import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/a.db"})
    template = app.jinja_env.from_string("{{ n|level(fw) }}|{{ none|level(fw) }}|{{ n|level(names) }}")
    assert template.render(n=2, fw=FRAMEWORK, names={2: "Managed"}) == f"2 {FRAMEWORK.level_name(2)}|—|2 Managed"


def test_missing_levels_and_unnamed_levels():
    assert level_text(None) == "—"
    assert level_text(None, missing="n/a") == "n/a"
    assert level_text(3) == "3"
    assert level_text(3, "Defined", prefix="L") == "L3 Defined"


def test_no_place_builds_the_text_by_hand():
    """The seven hand-made forms (f"{n} {name}", "L{n}", "{{ n }} {{ name }}") are gone from the code and templates."""
    from tests.conftest import ROOT

    pattern = re.compile(r"""level_name\(|\.levels\[0\]\.name|upcoming\.name""")
    allowed = {"assessment/domain/framework.py", "assessment/domain/scoring.py", "assessment/domain/display.py"}
    offenders = []
    for path in [*ROOT.joinpath("assessment").rglob("*.py"), *ROOT.joinpath("reports").rglob("*.py")]:
        for line in path.read_text().splitlines():
            if pattern.search(line) and "level_text(" not in line and "level_of(" not in line:
                name = str(path.relative_to(ROOT))
                if name not in allowed and "{n: framework.level_name(n)" not in line:
                    offenders.append(f"{name}: {line.strip()}")
    for path in ROOT.joinpath("templates").rglob("*.html"):
        text = path.read_text()
        if re.search(r"level_name\(|\.levels\[0\]\.name|trend\.levels\.get", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
