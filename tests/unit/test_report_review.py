"""Findings and the audit trail in the report model: how changes read, how findings attach, report ids."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest

from assessment.domain.answers import read_answers_file
from assessment.domain.loader import load_framework_file
from reports.model import FindingEntry, ReportMeta, TrailEntry, build_report
from reports.review import change_text, review_mark, severity_counts, trail_entry, worst_severity
from reports.sources import report_from_files
from tests.conftest import EXAMPLES

AT = dt.datetime(2026, 11, 20, 14, 5, tzinfo=dt.UTC)


def finding(
    rid: str, auditor: str = "audrey", severity: str | None = "minor", comment: str | None = "Gap"
) -> FindingEntry:
    verdict = "verified" if severity is None else "finding"
    return FindingEntry(rid, auditor, verdict, severity, comment, AT)


def devops(meta: ReportMeta | None = None, **extra):
    framework = load_framework_file(EXAMPLES / "devops-delivery.yaml")
    answers = read_answers_file(EXAMPLES / "devops-delivery.answers.yaml", framework)
    return build_report(framework, answers, meta or ReportMeta(scope=answers.scope), **extra)


# --- how a change reads -----------------------------------------------------------------------------


def js(value) -> str:
    """The trail's canonical JSON text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, None, ""),
        (None, js({"value": "yes", "note": None}), 'value: "yes"'),
        (js({"value": "no"}), js({"value": "yes"}), 'value: "no" → "yes"'),
        (js({"note": "a", "value": "no"}), js({"note": "a", "value": "yes"}), 'value: "no" → "yes"'),
        (js({"status": "submitted"}), js({"status": "approved", "approved_by": "lead"}),
         'approved_by: — → "lead"; status: "submitted" → "approved"'),
        (js({"requirement": "CI-01", "evidence": 3}), None, 'evidence: 3 → —; requirement: "CI-01" → —'),
        (js({"value": 36}), js({"value": 12.5}), "value: 36 → 12.5"),
        (js({"disabled": False}), js({"disabled": True}), "disabled: no → yes"),
        (None, js({"tags": ["a", "b"]}), 'tags: ["a","b"]'),
        (None, "not json", '"not json"'),
    ],
)  # fmt: skip
def test_a_change_reads_as_fields_from_old_to_new(before, after, expected):
    assert change_text(before, after) == expected


def test_a_long_note_is_cut_with_an_ellipsis_and_keeps_to_one_line():
    note = "line one\nline two " + "x" * 2000
    text = change_text(js({"note": None}), js({"note": note}))
    assert text.startswith('note: — → "line one line two xxx')
    assert text.endswith('…"') and 290 < len(text) < 330


def test_many_long_fields_are_cut_as_a_whole():
    after = js({f"field{i}": "y" * 500 for i in range(10)})
    text = change_text(None, after)
    assert len(text) <= 900 and text.endswith("…")


def test_a_trail_entry_from_stored_fields():
    entry = trail_entry(7, "2026-11-20T14:05:09.123456+00:00", "alice", "answer.saved", "answer", "4/CI-01",
                        js({"value": "no"}), js({"value": "yes"}))  # fmt: skip
    assert entry == TrailEntry(7, dt.datetime(2026, 11, 20, 14, 5, 9, 123456, tzinfo=dt.UTC), "alice",
                               "answer.saved", "answer 4/CI-01", 'value: "no" → "yes"')  # fmt: skip
    assert entry.at_text == "2026-11-20 14:05:09"


# --- findings ------------------------------------------------------------------------------------


def test_review_marks_name_the_worst_severities_first():
    assert review_mark([]) is None
    assert review_mark([finding("CI-01", severity=None)]) == "Verified"
    assert review_mark([finding("CI-01", severity=None), finding("CI-01", "otto", "minor")]) == "Finding: minor"
    both = [finding("CI-01", severity="observation"), finding("CI-01", "otto", "major")]
    assert review_mark(both) == "Findings: major, observation"
    assert worst_severity(both) == "major" and worst_severity([finding("CI-01", severity=None)]) is None


def test_severity_counts():
    found = [finding("CI-01", severity="major"), finding("CI-02", severity=None), finding("CI-03", severity="major")]
    assert severity_counts(found) == {"major": 2, "minor": 0, "observation": 0, "verified": 1}


def test_findings_attach_to_their_rows_in_framework_order():
    found = (finding("OPS-01", "otto", "major"), finding("CI-02", "otto"), finding("CI-02", "audrey", None))
    report = devops(findings=found)
    assert [(f.requirement_id, f.auditor) for f in report.findings] == [
        ("CI-02", "audrey"),
        ("CI-02", "otto"),
        ("OPS-01", "otto"),
    ]
    rows = {row.requirement.id: row for _, rows in report.domains for row in rows}
    assert [f.auditor for f in rows["CI-02"].findings] == ["audrey", "otto"]
    assert rows["CI-02"].review_mark == "Finding: minor" and rows["OPS-01"].review_mark == "Finding: major"
    assert rows["CI-01"].findings == () and rows["CI-01"].review_mark is None


def test_a_finding_on_an_unknown_requirement_is_kept_not_dropped():
    report = devops(findings=(finding("NOPE-9"), finding("CI-01")))
    assert [f.requirement_id for f in report.findings] == ["CI-01", "NOPE-9"]


# --- report ids -------------------------------------------------------------------------------------


def test_file_reports_keep_their_ids():
    """Reports without findings or review facts hash exactly as before findings existed."""
    devops_report = report_from_files(EXAMPLES / "devops-delivery.yaml", EXAMPLES / "devops-delivery.answers.yaml")
    itgc = report_from_files(EXAMPLES / "itgc-mini.yaml", EXAMPLES / "itgc-mini.answers.yaml")
    assert (devops_report.id, itgc.id) == ("RPT-DEBF-7D98-937A", "RPT-633C-EDD2-6EE9")
    assert devops_report.findings == () and devops_report.trail == ()


def test_findings_and_approval_change_the_report_id_and_the_trail_does_not():
    meta = ReportMeta(scope="Payments platform")
    plain = devops(meta)
    with_finding = devops(meta, findings=(finding("CI-02"),))
    other_comment = devops(meta, findings=(finding("CI-02", comment="Another gap"),))
    assert len({plain.id, with_finding.id, other_comment.id}) == 3
    approved = devops(replace(meta, status="approved", approved_by="lead", approved_at=AT))
    assert approved.id != devops(replace(meta, status="approved")).id
    trail = (TrailEntry(1, AT, "alice", "answer.saved", "answer 1/CI-01", 'value: "yes"'),)
    assert devops(meta, trail=trail).id == plain.id
    assert devops(meta, trail=trail).trail == trail


def test_approval_text():
    meta = ReportMeta(scope="x", status="approved", approved_by="lead", approved_at=AT)
    assert meta.approval_text == "Approved by lead on 2026-11-20 14:05 UTC"
    assert ReportMeta(scope="x", status="submitted").approval_text is None
    naive = replace(meta, approved_at=dt.datetime(2026, 11, 20, 14, 5))  # SQLite hands back naive UTC
    assert naive.approval_text == meta.approval_text
    local = replace(meta, approved_at=dt.datetime(2026, 11, 20, 15, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    assert local.approval_text == meta.approval_text
