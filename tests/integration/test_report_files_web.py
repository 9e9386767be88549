"""One report, one file, in the web app: the PDF in a bundle is the PDF downloaded for the same state,
whichever was asked for first; download names carry scope, framework, as-of date and report id; and
with ASSESSMENT_SIGNING_KEY and ASSESSMENT_SIGNING_CERT both are signed."""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from assessment import create_app
from assessment.extensions import REPORTS, db
from assessment.models import ReportJob
from reports.bundle_check import check_bundle
from reports.report_check import verify_report
from reports.signing import SigningConfig, SigningError, load_trust
from tests.conftest import EXAMPLES
from tests.integration.conftest import _config
from tests.integration.helpers import autosave
from tests.integration.test_reports_web import prepared, request
from tests.support.pki import make_pki

pytestmark = pytest.mark.slow  # renders PDFs


@pytest.fixture
def sync(app):
    app.config["REPORTS_SYNC"] = True
    return app


def download(client, job: int) -> tuple[bytes, str]:
    response = client.get(f"/reports/{job}/download")
    assert response.status_code == 200
    return response.data, response.headers["Content-Disposition"]


def bundled_pdf(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("report.pdf")


def test_the_bundle_packs_the_pdf_that_was_downloaded(app, client, devops, sync, tmp_path):
    assessment, _ = devops
    prepared(client, assessment)
    pdf, disposition = download(client, request(client, assessment, "pdf"))
    bundle, bundle_disposition = download(client, request(client, assessment, "bundle"))
    assert bundled_pdf(bundle) == pdf
    report_id = PdfReader(io.BytesIO(pdf)).metadata["/Subject"].removeprefix("Assessment report ")
    assert disposition == f"attachment; filename=Payments-devops-delivery-2026-11-21-{report_id}.pdf"
    assert bundle_disposition == f"attachment; filename=Payments-devops-delivery-2026-11-21-{report_id}-bundle.zip"
    path = tmp_path / "b.zip"
    path.write_bytes(bundle)
    assert check_bundle(path)[0] == []


def test_a_bundle_first_keeps_its_pdf_as_the_download_of_that_state(app, client, devops, sync):
    assessment, _ = devops
    prepared(client, assessment)
    bundle, _ = download(client, request(client, assessment, "bundle"))
    job = request(client, assessment, "pdf")
    with app.app_context():
        assert db.session.get(ReportJob, job).status == "done"  # reused, not rendered again
    pdf, _ = download(client, job)
    assert pdf == bundled_pdf(bundle)
    autosave(client, assessment, "DEP-01", "yes")  # a change: a new state, a new file
    changed, _ = download(client, request(client, assessment, "bundle"))
    assert bundled_pdf(changed) != pdf


def test_a_web_report_verifies_from_its_attachments(app, client, devops, sync, tmp_path):
    assessment, _ = devops
    prepared(client, assessment)
    pdf, _ = download(client, request(client, assessment, "pdf"))
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    outcome = verify_report(path, EXAMPLES / "devops-delivery.yaml")
    assert outcome.ok, outcome.problems
    assert outcome.checked[0] == "attachments: score.json, answers.yaml, evidence-manifest.json, audit-trail.json"
    assert any("gives score.json exactly" in line for line in outcome.checked)
    assert outcome.checked[-1] == "signature: unsigned"


def test_a_configured_key_signs_the_pdf_and_the_bundle(app, client, devops, sync, tmp_path):
    pki = make_pki(tmp_path / "pki")
    app.extensions[REPORTS].signing = SigningConfig(pki.signer.key, pki.signer.cert)
    assessment, _ = devops
    prepared(client, assessment)
    bundle, _ = download(client, request(client, assessment, "bundle"))
    pdf, _ = download(client, request(client, assessment, "pdf"))
    assert pdf == bundled_pdf(bundle)
    (tmp_path / "r.pdf").write_bytes(pdf)
    (tmp_path / "b.zip").write_bytes(bundle)
    trust = load_trust(pki.ca.cert)
    outcome = verify_report(tmp_path / "r.pdf", trust=trust)
    assert outcome.ok, outcome.problems
    assert outcome.checked[-1] == "signature: signed by CN=Ada Auditor,O=Test Audit Co, trusted"
    problems, signature = check_bundle(tmp_path / "b.zip", trust)
    assert problems == [] and signature.ok and signature.signer == "CN=Ada Auditor,O=Test Audit Co"
    with app.app_context():
        kinds = [job.kind for job in db.session.scalars(select(ReportJob).order_by(ReportJob.id))]
    assert kinds == ["bundle", "pdf"]  # the bundle's rendering was kept as the PDF job


def test_the_signing_settings_are_checked_when_the_app_starts(tmp_path):
    pki = make_pki(tmp_path / "pki")
    base = _config(tmp_path / "instance", f"sqlite:///{tmp_path / 'x.db'}")
    app = create_app(base | {"SIGNING_KEY": str(pki.signer.key), "SIGNING_CERT": str(pki.signer.cert)})
    assert app.extensions[REPORTS].signing.cert == pki.signer.cert
    with pytest.raises(SigningError, match="set ASSESSMENT_SIGNING_CERT too"):
        create_app(base | {"SIGNING_KEY": str(pki.signer.key)})
    with pytest.raises(SigningError, match="is not the certificate of the key"):
        create_app(base | {"SIGNING_KEY": str(pki.stranger.key), "SIGNING_CERT": str(pki.signer.cert)})
    with pytest.raises(SigningError, match="no signing key"):
        create_app(base | {"TIMESTAMP_URL": "http://127.0.0.1:9/"})
    assert create_app(base).extensions[REPORTS].signing is None
