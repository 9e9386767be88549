"""The report's delivery section: the assessed service's four metrics over the window with their bands,
the weekly trend charts and the control charts, in the HTML and read back from the PDF."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from assessment.domain.answers import read_answers_text
from assessment.domain.delivery import DeliveryIndex, Window, read_events
from assessment.domain.loader import load_framework_file
from reports import render
from reports.delivery_section import delivery_section, value_text
from reports.model import ReportMeta, build_report
from tests.conftest import EXAMPLES
from tests.unit.test_report_cycles import section
from tests.unit.test_report_pdf import pdf_text

DELIVERY = EXAMPLES / "delivery"
SHIPPED = Path(__file__).resolve().parents[2] / "frameworks" / "devops-delivery-maturity.yaml"
WINDOW = Window(dt.date(2026, 11, 1), dt.date(2026, 11, 30))


@pytest.fixture(scope="module")
def framework():
    return load_framework_file(SHIPPED)


@pytest.fixture(scope="module")
def index():
    return DeliveryIndex(read_events([("checkout.events.jsonl", (DELIVERY / "checkout.events.jsonl").read_text())]))


@pytest.fixture(scope="module")
def expected():
    return json.loads((DELIVERY / "checkout.expected.json").read_text())["services"][0]


def test_the_section_prints_the_spec_figures_of_the_window_with_their_bands(framework, index, expected):
    made = delivery_section(index, "checkout", WINDOW, framework, WINDOW.last)
    rows = {row.metric: row for row in made.rows}
    for metric in ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore"):
        assert rows[metric].value_text == value_text(metric, expected[metric])
    assert rows["lead_time"].value_text == "5.0 h" and rows["change_failure_rate"].value_text == "33.3 %"
    assert rows["deployment_frequency"].basis == "3 deployments" and rows["lead_time"].basis == "3 changes"
    assert rows["time_to_restore"].basis == "1 restored incident"
    assert all(row.band for row in made.rows)  # the shipped framework names each metric's bands
    assert made.deployments == 3 and made.window_text == "2026-11-01 to 2026-11-30 (30 days)"
    kinds = [chart.kind for chart in made.charts]
    assert kinds == ["weekly"] * 4 + ["control"] * 2
    assert all("<svg" in chart.svg for chart in made.charts)
    assert "Centre line" in made.charts[4].words or "No limits" in made.charts[4].words


def test_a_service_without_events_has_dashes_not_zeroes(framework, index):
    made = delivery_section(index, "nobody", WINDOW, framework, WINDOW.last)
    rows = {row.metric: row for row in made.rows}
    assert rows["lead_time"].value_text == "—" and rows["lead_time"].band is None
    assert rows["deployment_frequency"].value_text == "0.0 a week"


def _report(framework, index, with_delivery: bool):
    answers = read_answers_text(
        f'framework: {framework.id}\nversion: "{framework.version}"\nas_of: 2026-11-30\nanswers: {{}}\n',
        framework,
        "a.yaml",
    )
    meta = ReportMeta(scope="Payments", prepared_by="Dana")
    made = delivery_section(index, "checkout", WINDOW, framework, WINDOW.last) if with_delivery else None
    return build_report(framework, answers, meta, delivery=made)


def test_the_section_changes_the_reports_id_and_its_html_holds_the_charts(framework, index):
    plain, drawn = _report(framework, index, False), _report(framework, index, True)
    assert plain.id != drawn.id and _report(framework, index, True).id == drawn.id
    html = render.render_html(drawn)
    assert 'id="delivery"' in html and 'id="delivery"' not in render.render_html(plain)
    for chart in drawn.delivery.charts:
        assert chart.svg in html


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_the_pdf_lists_the_section_and_prints_its_figures_and_charts(framework, index, tmp_path):
    text = pdf_text(render.render_pdf(_report(framework, index, True)), tmp_path)
    contents = section(text, "Contents", "Executive summary")
    assert "Delivery metrics" in contents
    printed = section(text, "Delivery metrics", "Requirements by domain")
    words = " ".join(printed.split())
    assert "Service checkout, window 2026-11-01 to 2026-11-30 (30 days): 3 production deployments." in words
    assert "Lead time for changes 5.0 h" in words and "Change failure rate 33.3 %" in words
    assert "Week by week" in words and "Control charts" in words
    assert "control chart of the weekly values" in words
