"""Review in reports: the approver, auditors' findings and the trail in the PDF and the exports, and
reports reused while only reads (downloads, exports) happened."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from assessment.extensions import db
from assessment.models import Assessment, Evidence
from assessment.services import audit
from assessment.services import reports as report_svc
from tests.integration.test_reports_web import prepared, request

COMMENT = "Tests are not a required check on the release branch."


@pytest.fixture
def sync(app):
    app.config["REPORTS_SYNC"] = True
    return app


def record(client, assessment, rid, verdict, severity="", comment=""):
    data = {"requirement_id": rid, "verdict": verdict, "severity": severity, "comment": comment}
    response = client.post(f"/assessments/{assessment}/findings", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)


def submitted(client, as_user, assessment):
    """Answers and evidence, submitted by admin and shared with audrey, who records a minor finding;
    returns the clients of lead and audrey."""
    prepared(client, assessment)
    assert client.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    lead, audrey = as_user("lead"), as_user("audrey")
    assert lead.post(f"/assessments/{assessment}/shares", data={"username": "audrey"}).status_code == 302
    record(audrey, assessment, "CI-02", "finding", "minor", COMMENT)
    record(audrey, assessment, "CI-01", "verified")
    return lead, audrey


def approve(lead, assessment):
    assert lead.post(f"/assessments/{assessment}/approve", data={"confirm": "1"}).status_code == 302


def approved_text(app, assessment) -> str:
    with app.app_context():
        row = db.session.get(Assessment, assessment)
        assert row.status == "approved" and row.approved_by == "lead"
        return f"Approved by Lead on {row.approved_at:%Y-%m-%d %H:%M} UTC"  # the full name, not the user name


def fingerprint(app, assessment) -> str:
    with app.app_context():
        return report_svc.fingerprint(db.session.get(Assessment, assessment), "pdf")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_approved_pdf_names_the_approver_the_findings_and_the_trail(app, client, as_user, devops, sync, tmp_path):
    assessment, _ = devops
    lead, _ = submitted(client, as_user, assessment)
    approve(lead, assessment)
    job = request(lead, assessment, "pdf")
    pdf = lead.get(f"/reports/{job}/download")
    assert pdf.mimetype == "application/pdf"
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    pages = text.split("\f")
    assert approved_text(app, assessment) in pages[0]  # the cover
    assert "Submitted by Admin on" in pages[0]
    raw = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    compact = "".join(raw.split())  # table cells wrap their text
    assert "".join(COMMENT.split()) in compact and "Finding:minor" in compact and "audrey" in text
    signoff = next(p for p in pages if "Sign-off" in p and "Signature" in p)
    assert re.search(r"Approved by\s+Lead", signoff)
    trail = text[text.rindex("Audit trail") :]
    for action in (
        "answer.saved",
        "evidence.linked",
        "assessment.submitted",
        "finding.recorded",
        "assessment.approved",
    ):
        assert action in trail, action
    # the download itself went into the trail, and the same rendering is still offered
    assert request(lead, assessment, "pdf") == job


def test_reads_leave_the_fingerprint_and_review_changes_it(app, client, as_user, devops):
    assessment, _ = devops
    lead, audrey = submitted(client, as_user, assessment)
    before = fingerprint(app, assessment)
    with app.app_context():
        evidence_id = db.session.scalar(select(Evidence.id))
    assert audrey.get(f"/evidence/{evidence_id}/download").status_code == 200  # the scope's trail
    assert client.get(f"/assessments/{assessment}/export.zip").status_code == 200  # the assessment's
    assert client.get(f"/assessments/{assessment}/export/results.xlsx").status_code == 200
    with app.app_context():
        assert [e.action for e in audit.for_assessment(assessment)[-2:]] == ["assessment.exported", "export.downloaded"]
    assert fingerprint(app, assessment) == before
    record(audrey, assessment, "OPS-01", "finding", "observation", "The SLO document expired.")
    after_finding = fingerprint(app, assessment)
    assert after_finding != before
    record(audrey, assessment, "OPS-01", "finding", "major", "The SLO document expired.")  # the same one, graver
    assert fingerprint(app, assessment) != after_finding
    after_finding = fingerprint(app, assessment)
    approve(lead, assessment)
    assert fingerprint(app, assessment) != after_finding


def test_exports_hold_the_findings(app, client, as_user, devops):
    assessment, _ = devops
    lead, _ = submitted(client, as_user, assessment)
    approve(lead, assessment)
    text = client.get(f"/assessments/{assessment}/export/requirements.csv").get_data(as_text=True)
    rows = {row["requirement_id"]: row for row in csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))}
    assert (rows["CI-02"]["review"], rows["CI-02"]["severity"]) == ("audrey: finding (minor)", "minor")
    assert rows["CI-02"]["review_comment"] == f"audrey: {COMMENT}"
    assert (rows["CI-01"]["review"], rows["CI-01"]["severity"]) == ("audrey: verified", "")
    assert rows["DEP-01"]["review"] == ""
    workbook = load_workbook(io.BytesIO(client.get(f"/assessments/{assessment}/export/results.xlsx").data))
    findings = list(workbook["Findings"].iter_rows(min_row=2, values_only=True))
    assert [(f[0], f[3], f[4], f[5], f[6]) for f in findings] == [
        ("CI-01", "audrey", "verified", None, None),
        ("CI-02", "audrey", "finding", "minor", COMMENT),
    ]
    summary = {r[0]: r[1] for r in workbook["Summary"].iter_rows(min_row=2, max_col=2, values_only=True) if r[0]}
    assert (summary["Status"], summary["Approved by"]) == ("approved", "Lead")  # the full name
    score = client.get(f"/assessments/{assessment}/export/score.json").get_data(as_text=True)
    assert "audrey" not in score and "finding" not in score and COMMENT not in score
