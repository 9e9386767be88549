"""The PDF of a later cycle: the comparison with the cycle it started from and the scope's trend,
never a cycle after it, and a fresh rendering when an earlier cycle changes."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import pytest

from assessment.extensions import db, report_store
from assessment.models import Assessment
from assessment.readmodels import trends
from assessment.services import reports as report_svc
from tests.integration.helpers import autosave
from tests.integration.test_cycles import next_cycle, two_cycles
from tests.integration.test_reports_web import request

pytestmark = pytest.mark.slow  # PDF rendering

needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)


@pytest.fixture
def sync(app):
    """Reports render within the request (as in test_reports_web)."""
    app.config["REPORTS_SYNC"] = True
    return app


def pdf_text(client, job: int, tmp_path) -> str:
    response = client.get(f"/reports/{job}/download")
    assert response.mimetype == "application/pdf", response.get_data(as_text=True)[:500]
    path = tmp_path / f"job-{job}.pdf"
    path.write_bytes(response.data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def section(text: str, heading: str, following: str) -> str:
    """The text of a section: from its heading at the start of a line to the next section's heading."""
    start = re.search(rf"^{re.escape(heading)}$", text, re.M)
    assert start, f"no section {heading!r}"
    end = re.search(rf"^{re.escape(following)}$", text[start.end() :], re.M)
    return text[start.end() : start.end() + end.start()] if end else text[start.end() :]


def fingerprint(app, assessment: int) -> str:
    with app.app_context():
        return report_svc.fingerprint(db.session.get(Assessment, assessment), "pdf")


@needs_pdftotext
def test_a_later_cycles_pdf_compares_with_the_previous_and_draws_the_trend(app, client, devops, sync, tmp_path):
    first, second = two_cycles(app, client, devops)
    text = pdf_text(client, request(client, second, "pdf"), tmp_path)
    contents = section(text, "Contents", "Executive summary")
    assert "Comparison with the previous cycle" in contents and "Trend" in contents
    compared = section(text, "Comparison with the previous cycle", "Trend")
    assert "as of 2026-11-21" in compared and "as of 2027-05-21" in compared
    assert re.search(r"^\s*CI-01\s.*Regressed", compared, re.M), compared
    assert re.search(r"^\s*CI-02\s.*Improved", compared, re.M), compared
    assert not re.search(r"^\s*CI-03\s", compared, re.M)  # unanswered in both: unchanged, not listed
    assert re.search(r"Continuous integration\s+CI\s+[\d.]+\s+[\d.]+\s+[+-]\d+\.\d", compared), compared
    trend = section(text, "Trend", "Requirements by domain")
    for name in ("Overall", "Continuous integration", "Deployment", "Operations", "2026-11-21", "2027-05-21"):
        assert name in trend, name
    assert "Since the previous cycle, as of 2026-11-21" in section(text, "Executive summary", "Top gaps")


@needs_pdftotext
def test_a_first_cycles_pdf_shows_neither_the_comparison_nor_a_later_cycle(app, client, devops, sync, tmp_path):
    first, second = two_cycles(app, client, devops)
    text = pdf_text(client, request(client, first, "pdf"), tmp_path)
    assert "Comparison with the previous cycle" not in text
    assert not re.search(r"^Trend$", text, re.M)  # one cycle up to its as-of date: no trend to draw
    assert "2027-05-21" not in text


@needs_pdftotext
def test_the_trend_of_a_middle_cycle_stops_at_its_date(app, client, devops, sync, tmp_path):
    first, second = two_cycles(app, client, devops)
    third = next_cycle(client, second, "2027-11-21")
    text = pdf_text(client, request(client, second, "pdf"), tmp_path)
    trend = section(text, "Trend", "Requirements by domain")
    assert "2 cycles" in trend and "2027-05-21" in trend and "2027-11-21" not in text
    later = pdf_text(client, request(client, third, "pdf"), tmp_path)
    assert "3 cycles" in section(later, "Trend", "Requirements by domain")
    assert "as of 2027-05-21" in section(later, "Comparison with the previous cycle", "Trend")


def test_a_change_to_the_previous_cycle_makes_a_new_rendering(app, client, devops, sync):
    first, second = two_cycles(app, client, devops)
    job = request(client, second, "pdf")
    assert request(client, second, "pdf") == job
    unchanged = fingerprint(app, second)
    client.get(f"/reports/{job}/download")  # a read changes nothing
    assert fingerprint(app, second) == unchanged
    autosave(client, first, "DEP-01", "yes")
    assert fingerprint(app, second) != unchanged
    assert request(client, second, "pdf") != job
    # a later cycle is not in the second cycle's report: adding one leaves its rendering alone
    again = fingerprint(app, second)
    next_cycle(client, second, "2027-11-21")
    assert fingerprint(app, second) == again


def test_the_report_carries_the_web_pages_trend_svg_and_the_comparison(app, client, devops):
    first, second = two_cycles(app, client, devops)
    _, scope = devops
    page = client.get(f"/scopes/{scope}/trends").get_data(as_text=True)
    with app.app_context():
        assessment = db.session.get(Assessment, second)
        report = report_svc.report_for(assessment, report_store(app).evidence)
        assert report.trend_svg == trends.scope_trend(assessment.scope, "devops-delivery").svg
    assert report.trend_svg in page  # the very same SVG as the trend page
    cycle = report.comparison
    assert (cycle.previous_as_of, cycle.previous_label) == (dt.date(2026, 11, 21), "2026.1")
    assert [(c.requirement_id, c.kind) for c in cycle.changed] == [("CI-01", "regressed"), ("CI-02", "improved")]
    assert cycle.comparison.after.as_of == dt.date(2027, 5, 21)
