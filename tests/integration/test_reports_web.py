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
    assert 'http-equiv="refresh"' in page or "Ready" in page
    for _ in range(120):
        status = client.get(f"/reports/{job}/status").json
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.25)
    assert status["status"] == "done" and status["download"] == f"/reports/{job}/download"
    assert client.get(f"/reports/{job}/download").data.startswith(b"%PDF")


def test_exports(app, client, devops):
    assessment, _ = devops
    prepared(client, assessment)
    csv_text = client.get(f"/assessments/{assessment}/export/requirements.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("domain_id,domain_title,requirement_id")
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
