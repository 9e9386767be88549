"""Reports in the web app: background rendering, reuse while unchanged, bundles and exports."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import time
import zipfile

import pytest
from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import ReportJob
from reports.bundle import verify_bundle
from tests.integration.helpers import autosave
from tests.integration.job_worker import Worker
from tests.integration.test_evidence import upload


def prepared(client, assessment):
    autosave(client, assessment, "CI-01", "yes")
    autosave(client, assessment, "CI-02", "most", note='<img src="file:///etc/passwd">')
    upload(client, assessment, "CI-01", b"stages: [build]\n", "pipeline.yml", title="Pipeline")


def request(client, assessment, kind):
    response = client.post(f"/assessments/{assessment}/reports/{kind}")
    assert response.status_code == 302
    return int(re.search(r"/reports/(\d+)", response.headers["Location"]).group(1))


@pytest.fixture
def sync(app):
    app.config["REPORTS_SYNC"] = True
    return app


@pytest.mark.slow
def test_pdf_is_rendered_and_reused_while_unchanged(app, client, devops, sync, tmp_path):
    assessment, _ = devops
    prepared(client, assessment)
    job = request(client, assessment, "pdf")
    page = client.get(f"/reports/{job}").get_data(as_text=True)
    assert "Ready" in page and f"/reports/{job}/download" in page
    pdf = client.get(f"/reports/{job}/download")
    assert pdf.mimetype == "application/pdf" and pdf.headers["Content-Disposition"].startswith("attachment")
    assert request(client, assessment, "pdf") == job  # unchanged: the same rendering
    autosave(client, assessment, "DEP-01", "yes")
    assert request(client, assessment, "pdf") != job  # changed: rendered again
    if shutil.which("pdftotext"):
        path = tmp_path / "r.pdf"
        path.write_bytes(pdf.data)
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
        assert "Payments" in text and '<imgsrc="file:///etc/passwd">' in "".join(text.split())


@pytest.mark.slow
def test_bundle_from_the_web_verifies(app, client, devops, sync, tmp_path):
    assessment, _ = devops
    prepared(client, assessment)
    job = request(client, assessment, "bundle")
    data = client.get(f"/reports/{job}/download").data
    path = tmp_path / "b.zip"
    path.write_bytes(data)
    assert verify_bundle(path) == []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "evidence/E-001-pipeline.yml" in archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["scope"] == "Payments" and manifest["evidence"][0]["requirement_ids"] == ["CI-01"]


@pytest.mark.slow
def test_background_rendering_does_not_hold_the_request(app, client, devops):
    assessment, _ = devops
    app.config["REPORTS_SYNC"] = False
    started = time.perf_counter()
    job = request(client, assessment, "pdf")
    assert time.perf_counter() - started < 1.0  # the request returned before WeasyPrint ran
    page = client.get(f"/reports/{job}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in page and "Waiting for the renderer" in page  # no worker yet: it waits
    worker = Worker.for_app(app)  # the queued message is taken by a worker process started later
    try:
        for _ in range(240):
            status = client.get(f"/reports/{job}/status").json
            if status["status"] in ("done", "failed"):
                break
            time.sleep(0.25)
    finally:
        worker.stop()
    assert status["status"] == "done" and status["download"] == f"/reports/{job}/download", worker.output()
    assert client.get(f"/reports/{job}/download").data.startswith(b"%PDF")


def test_exports(app, client, devops):
    assessment, _ = devops
    prepared(client, assessment)
    csv_text = client.get(f"/assessments/{assessment}/export/requirements.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("\ufeffdomain_id,domain_title,requirement_id")  # Excel reads it as UTF-8
    assert client.get(f"/assessments/{assessment}/export/results.xlsx").data[:2] == b"PK"
    score = client.get(f"/assessments/{assessment}/export/score.json").json
    assert score["framework"]["id"] == "devops-delivery" and score["scope"] == "Payments"
    assert client.get(f"/assessments/{assessment}/export/backlog.csv").status_code == 200


def test_unknown_report_kind_and_job(app, client, devops):
    assessment, _ = devops
    assert client.post(f"/assessments/{assessment}/reports/docx").status_code == 400
    assert client.get("/reports/999999").status_code == 404
    assert client.get("/reports/999999/download").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReportJob)) == 0


@pytest.mark.slow  # a console-script process or a timed race
def test_the_bundle_and_its_pdf_carry_the_trail_anchor_that_audit_verify_checks(app, client, devops, sync):
    """A copy anyone holds proves the trail up to its anchor: a tail deleted with the checkpoint file
    (someone with the instance folder too) passes every check but the anchor's."""
    from pathlib import Path

    from pypdf import PdfReader
    from sqlalchemy import text

    from assessment.models import AuditEntry
    from tests.integration.helpers import run_cli

    assessment, _ = devops
    prepared(client, assessment)
    job = request(client, assessment, "bundle")
    with zipfile.ZipFile(io.BytesIO(client.get(f"/reports/{job}/download").data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        pdf = archive.read("report.pdf")
    anchor = manifest["audit_trail"]
    with app.app_context():
        head = db.session.execute(select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq == anchor["seq"])).one()
        total = db.session.scalar(select(func.count()).select_from(AuditEntry))
    assert anchor == {"count": head.seq, "seq": head.seq, "head": head.hash, "anchor": f"{head.seq}:{head.hash}"}
    assert total > anchor["count"]  # the download was recorded after the report was built
    pdf_text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    pdf_text = " ".join(pdf_text.split())
    assert f"the application's audit trail held {anchor['count']} entries" in pdf_text
    assert head.hash in pdf_text and f"--anchor {anchor['anchor']}" in pdf_text

    intact = run_cli(app, "audit", "verify", "--anchor", anchor["anchor"])
    assert intact.returncode == 0 and "1 anchor(s)" in intact.stdout, intact.stderr
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_entry WHERE seq >= :seq"), {"seq": anchor["seq"]})
        db.session.commit()
    (Path(app.instance_path) / "audit-checkpoints.jsonl").unlink()
    unanchored = run_cli(app, "audit", "verify")
    assert unanchored.returncode == 0  # the bound: nothing left in the instance knows
    assert "no checkpoint file: a deleted tail is found only against an --anchor" in unanchored.stderr
    cut = run_cli(app, "audit", "verify", "--anchor", anchor["anchor"])
    assert cut.returncode == 2
    assert f"BROKEN at entry {anchor['seq']} (no row), tail check: entry {anchor['seq']} missing" in cut.stderr
    assert "the anchor" in cut.stderr and f"recorded {anchor['count']} entries" in cut.stderr
