"""Reports of a later cycle: the comparison with the previous cycle and the trend chart, read back
from the PDF, and report ids that change only for reports that have them."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest

from assessment.domain.answers import read_answers_text
from assessment.domain.compare import compare
from assessment.domain.loader import load_framework_file
from assessment.domain.scoring import score
from reports import render
from reports.charts import TrendSeries, trend_chart_svg
from reports.model import CycleComparison, ReportMeta, build_report
from tests.conftest import EXAMPLES
from tests.unit.test_report_pdf import pdf_text

ANSWERS = (EXAMPLES / "devops-delivery.answers.yaml").read_text()
CAPTION = "Overall and per-domain scores of the scope over its cycles."


@pytest.fixture(scope="module")
def framework():
    return load_framework_file(EXAMPLES / "devops-delivery.yaml")


def answers(framework, text: str = ANSWERS, **changes: str):
    """The example's answers with some replaced, e.g. as_of="2026-05-21", CI_02="some"."""
    for key, value in changes.items():
        if key == "as_of":
            text = text.replace("as_of: 2026-11-21", f"as_of: {value}")
        else:
            text = re.sub(rf"^  {key.replace('_', '-')}: \S+$", f"  {key.replace('_', '-')}: {value}", text, flags=re.M)
    return read_answers_text(text, framework, "answers.yaml")


@pytest.fixture(scope="module")
def cycles(framework):
    """Half a year earlier CI-02 was weaker, DEP-03 was met and the SLO document (expiring
    2026-10-31) was current: so CI-02 improved, DEP-03 and OPS-01 regressed."""
    before = answers(framework, as_of="2026-05-21", CI_02="some", DEP_03="yes")
    after = answers(framework)
    return before, after


def comparison(framework, before, after) -> CycleComparison:
    return CycleComparison(dt.date(2026, 5, 21), "2026.1", compare(score(framework, before), score(framework, after)))


def trend(framework, before, after) -> str:
    cards = [score(framework, before), score(framework, after)]
    series = [TrendSeries("Overall", [c.score for c in cards], [f"L{c.level}" for c in cards], bold=True)]
    series += [
        TrendSeries(d.domain.title, [before_d.score, d.score])
        for before_d, d in zip(cards[0].domains, cards[1].domains, strict=True)
    ]
    return trend_chart_svg(["2026-05-21", "2026-11-21"], series, title="Payments platform: DevOps")


@pytest.fixture(scope="module")
def report(framework, cycles):
    before, after = cycles
    return build_report(
        framework,
        after,
        ReportMeta(scope="Payments platform", prepared_by="Dana Auditor"),
        comparison=comparison(framework, before, after),
        trend_svg=trend(framework, before, after),
        trend_caption=CAPTION,
    )


def section(text: str, heading: str, following: str) -> str:
    """From a heading at the start of a line to the next section's heading."""
    start = re.search(rf"^{re.escape(heading)}$", text, re.M)
    assert start, f"no section {heading!r}"
    end = re.search(rf"^{re.escape(following)}$", text[start.end() :], re.M)
    return text[start.end() : start.end() + end.start()]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_pdf_compares_with_the_previous_cycle_and_draws_the_trend(report, tmp_path):
    text = pdf_text(render.render_pdf(report), tmp_path)
    contents = section(text, "Contents", "Executive summary")
    pages = {title: int(page) for title, page in re.findall(r"^\s*(\S.*?)\s{2,}(\d+)$", contents, re.M)}
    assert pages["Executive summary"] < pages["Comparison with the previous cycle"] < pages["Trend"]
    assert pages["Trend"] < pages["Requirements by domain"]
    summary = section(text, "Executive summary", "Top gaps")
    assert "Since the previous cycle, as of 2026-05-21" in summary and "(-14.6)" in summary

    compared = section(text, "Comparison with the previous cycle", "Trend")
    words = " ".join(compared.split())  # the lead paragraph wraps
    assert "The previous cycle, as of 2026-05-21 (version 2026.1), against this assessment, as of 2026-11-21" in words
    assert re.search(
        r"^\s*CI-02\s+Automated tests gate merges\s+Improved\s+Partial\s+Partial\s+0\.50 → 0\.75$", compared, re.M
    ), compared
    assert re.search(r"^\s*DEP-03\s.*Regressed\s+Met\s+Not met\s+1\.00 → 0\.00$", compared, re.M), compared
    assert re.search(r"^\s*OPS-01\s.*Regressed\s+Met\s+Not met\s+1\.00 → 0\.00$", compared, re.M), compared
    assert not re.search(r"^\s*(CI-01|CI-03|DEP-01|DEP-02|OPS-02)\s", compared, re.M)  # unchanged: not listed
    assert re.search(r"Continuous integration CI\s+75\.0\s+87\.5\s+\+12\.5\s+1\s+1\s+0$", compared, re.M), compared
    assert re.search(r"Operations OPS\s+50\.0\s+0\.0\s+-50\.0\s", compared), compared
    assert re.search(r"-14\.6\s+0\n\s*70\.8 → 56\.3\s+1 Initial → 1 Initial", compared), compared
    assert "5 unchanged requirements are not listed." in compared

    drawn = section(text, "Trend", "Requirements by domain")
    assert CAPTION in drawn
    for name in ("Overall", "Continuous integration", "Deployment", "Operations", "2026-05-21", "2026-11-21", "L1"):
        assert name in drawn, name


def test_the_html_holds_the_trend_svg_as_given(report):
    html = render.render_html(report)
    assert report.trend_svg in html  # the very SVG the web trend page shows, not a redrawing
    assert html.count("<svg") == 2  # with the summary's domain chart


def test_only_reports_with_a_comparison_or_trend_get_a_new_id(framework, cycles):
    before, after = cycles
    meta = ReportMeta(scope="Payments platform", generated_at=dt.datetime(2026, 11, 22, tzinfo=dt.UTC))
    plain = build_report(framework, after, meta)
    assert build_report(framework, after, meta, comparison=None, trend_svg=None).id == plain.id
    compared = build_report(framework, after, meta, comparison=comparison(framework, before, after))
    assert compared.id != plain.id
    assert build_report(framework, after, meta, comparison=comparison(framework, before, after)).id == compared.id
    other = answers(framework, as_of="2026-05-21", CI_02="none")
    assert build_report(framework, after, meta, comparison=comparison(framework, other, after)).id != compared.id
    svg = trend(framework, before, after)
    drawn = build_report(framework, after, meta, trend_svg=svg, trend_caption=CAPTION)
    assert drawn.id not in (plain.id, compared.id)
    assert build_report(framework, after, meta, trend_svg=svg.replace("L1", "L2"), trend_caption=CAPTION).id != drawn.id


def test_a_comparison_must_end_at_the_reports_own_scorecard(framework, cycles):
    before, after = cycles
    elsewhere = comparison(framework, before, answers(framework, as_of="2027-01-01"))
    with pytest.raises(ValueError, match="as of 2027-01-01, not this report's .* as of 2026-11-21"):
        build_report(framework, after, ReportMeta(scope="Payments platform"), comparison=elsewhere)


def test_long_change_lists_are_chunked_and_only_the_first_part_has_the_heading(report, monkeypatch):
    monkeypatch.setattr(render, "CHUNK_ROWS", 2)
    parts = [p for p in render.plan(report) if p.kind == "comparison"]
    assert [[row["id"] for row in p.items] for p in parts] == [["CI-02", "DEP-03"], ["OPS-01"]]
    context = render._context(report)
    first, second = (render.render_part(report, p, context) for p in parts)
    assert "<h2>Comparison with the previous cycle</h2>" in first and "<h2>" not in second
    assert "unchanged requirements are not listed" in second and "not listed" not in first
    titles = [e["title"] for e in render._toc_entries(render.plan(report), {})]
    assert titles.count("Comparison with the previous cycle") == 1 and titles.count("Trend") == 1


def test_nothing_changed_says_so(framework, cycles):
    _, after = cycles
    same = CycleComparison(dt.date(2026, 5, 21), "2026.1", compare(score(framework, after), score(framework, after)))
    report = build_report(framework, after, ReportMeta(scope="Payments platform"), comparison=same)
    html = render.render_html(report)
    assert "No requirement improved, regressed, came or went." in html
    assert 'id="trend"' not in html  # no trend given: no trend section
