"""A report an auditor can file (issue 13, points 3 and 4): the sign-off names who submitted, reviewed
and approved, with full names, roles and times, whoever downloads it; a draft is marked DRAFT on every
page; the cover states the scope, organisation, period, framework file and marking; the evidence index
says who attached each item, when and how. On SQLite and, under bin/with-postgres, PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import re
import shutil
import subprocess

import pytest
from sqlalchemy import select, text

from assessment.extensions import db
from assessment.models import Assessment, AuditEntry, Evidence
from tests.integration.helpers import example_version, make_scope, start
from tests.integration.test_report_review import approve, submitted
from tests.integration.test_reports_web import request

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")


@pytest.fixture
def sync(app):
    app.config["REPORTS_SYNC"] = True
    return app


def pdf_pages(client, job, tmp_path) -> list[str]:
    """The downloaded PDF's text, one string per page (pdftotext -layout)."""
    response = client.get(f"/reports/{job}/download")
    assert response.mimetype == "application/pdf"
    path = tmp_path / f"report-{job}.pdf"
    path.write_bytes(response.data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return out.split("\f")[:-1]  # the text ends with a form feed


def row(app, assessment) -> Assessment:
    with app.app_context():
        found = db.session.get(Assessment, assessment)
        db.session.expunge(found)
        return found


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if moment.tzinfo else moment.strftime("%Y-%m-%d %H:%M")


@pytest.mark.slow
def test_approved_report_names_preparer_reviewers_and_approver_not_the_downloader(
    app, client, as_user, devops, sync, tmp_path
):
    assessment, _ = devops
    lead, audrey = submitted(client, as_user, assessment)  # admin submits; audrey records a finding and a verification
    approve(lead, assessment)
    job = request(audrey, assessment, "pdf")  # the auditor asks for it and downloads it
    pages = pdf_pages(audrey, job, tmp_path)
    done = row(app, assessment)
    with app.app_context():
        last_review = db.session.scalar(
            text("SELECT max(recorded_at) FROM review_finding WHERE assessment_id = :a"), {"a": assessment}
        )
    if isinstance(last_review, str):  # SQLite hands back text
        last_review = dt.datetime.fromisoformat(last_review)
    cover = pages[0]
    assert re.search(r"Prepared by\s+Admin, Admin", cover) and "Audrey" not in cover
    assert f"Approved by Lead on {utc(done.approved_at)} UTC" in cover
    assert f"Submitted by Admin on {utc(done.submitted_at)} UTC" in cover
    signoff = next(p for p in pages if "Sign-off" in p and "Signature" in p)
    assert re.search(rf"Prepared by\s+Admin\s+Admin\s+{utc(done.submitted_at)} UTC", signoff), signoff
    assert re.search(rf"Reviewed by\s+Audrey\s+Auditor\s+{utc(last_review)} UTC", signoff), (last_review, signoff)
    assert re.search(rf"Approved by\s+Lead\s+Program lead\s+{utc(done.approved_at)} UTC", signoff)
    assert not any("DRAFT" in page for page in pages)
    # the PDF's author is the preparer, not the auditor who downloaded it
    path = tmp_path / f"report-{job}.pdf"
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Author:\s+Admin$", info, re.M), info


@pytest.mark.slow
def test_a_submitted_report_says_not_yet_approved_and_names_no_approver(app, client, as_user, devops, sync, tmp_path):
    assessment, _ = devops
    submitted(client, as_user, assessment)
    pages = pdf_pages(client, request(client, assessment, "pdf"), tmp_path)
    assert "submitted, not yet approved" in pages[0]
    signoff = next(p for p in pages if "Sign-off" in p and "Signature" in p)
    assert re.search(r"Approved by\s+not approved", signoff)
    assert not any("DRAFT" in page for page in pages)


@pytest.mark.slow
def test_drafts_and_returned_assessments_are_marked_draft_on_every_page(app, client, as_user, devops, sync, tmp_path):
    assessment, _ = devops
    from tests.integration.test_reports_web import prepared

    prepared(client, assessment)
    pages = pdf_pages(client, request(client, assessment, "pdf"), tmp_path)
    assert len(pages) > 3
    assert all("DRAFT" in page for page in pages), [n for n, page in enumerate(pages, 1) if "DRAFT" not in page]
    assert "draft (not submitted, not approved)" in pages[0]
    signoff = next(p for p in pages if "Sign-off" in p and "Signature" in p)
    assert re.search(r"Prepared by\s+not yet submitted", signoff)
    assert re.search(r"Reviewed by\s+no review recorded", signoff)
    # returned for changes: a draft again, on every page
    assert client.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    lead = as_user("lead")
    assert (
        lead.post(f"/assessments/{assessment}/return", data={"confirm": "1", "comment": "Add the SLO."}).status_code
        == 302
    )
    pages = pdf_pages(client, request(client, assessment, "pdf"), tmp_path)
    assert all("DRAFT" in page for page in pages)
    assert "returned for changes" in pages[0]


@pytest.mark.slow
def test_the_cover_states_scope_organisation_period_framework_file_product_and_marking(
    app, client, devops, sync, tmp_path
):
    assessment, _ = devops
    app.config["ORGANISATION"] = "Example Bank AG"
    app.config["CONFIDENTIALITY"] = "Strictly confidential"
    pages = pdf_pages(client, request(client, assessment, "pdf"), tmp_path)
    with app.app_context():
        a = db.session.get(Assessment, assessment)
        sha, description = a.framework_version.content_sha256, a.scope.description
    cover = pages[0]
    assert "Example Bank AG" in cover
    assert re.search(rf"Scope\s+Payments\s+{description}", cover)
    assert "2026-08-23 to 2026-11-21 (as of 2026-11-21)" in cover  # 90 days before as-of, by default
    assert "devops-delivery version 2026.1" in cover and f"SHA-256 {sha}" in cover
    assert f"by assessment {importlib.metadata.version('assessment')}" in cover
    assert all("STRICTLY CONFIDENTIAL" in page for page in pages)  # the cover, and every page's footer
    # an explicit period start, set on the results page
    response = client.post(f"/assessments/{assessment}/period", data={"period_start": "2026-10-01"})
    assert response.status_code == 302
    pages = pdf_pages(client, request(client, assessment, "pdf"), tmp_path)
    assert "2026-10-01 to 2026-11-21 (as of 2026-11-21)" in pages[0]
    # a changed setting makes a new report
    first = request(client, assessment, "pdf")
    app.config["ORGANISATION"] = "Another Bank"
    assert request(client, assessment, "pdf") != first


@pytest.mark.slow
def test_the_evidence_index_says_who_attached_each_item_when_and_how(app, client, as_user, devops, sync, tmp_path):
    from tests.integration.test_evidence import upload

    assessment, _ = devops
    member = as_user("admin")
    assert (
        upload(member, assessment, "CI-01", b"stages: [build]\n", "pipeline.yml", title="Pipeline").status_code == 302
    )
    link = {"url": "https://wiki.example/slo", "title": "SLO page"}
    assert client.post(f"/assessments/{assessment}/requirements/OPS-01/evidence", data=link).status_code == 302
    with app.app_context():
        items = {e.title: e for e in db.session.scalars(select(Evidence))}
        assert (items["Pipeline"].source, items["SLO page"].source) == ("upload", "link")
        times = {title: utc(e.created_at) for title, e in items.items()}
    pages = pdf_pages(client, request(client, assessment, "pdf"), tmp_path)
    index = next(p for p in pages if "Evidence index" in p and "SUPPORTS" in p.upper())
    compact = " ".join(index.split())
    assert re.search(r"E-001 Pipeline upload", compact) and re.search(r"E-002 SLO page link", compact)
    assert compact.count("Admin") >= 2
    for when in times.values():
        assert when.split()[0] in compact and when.split()[1] in compact
    assert "text/plain" in compact or "application/" in compact  # the media type


def test_a_period_start_after_as_of_or_malformed_is_refused_and_changes_nothing(app, client):
    version = example_version(app)
    scope = make_scope(client, "Refusals")
    before = row_count(app)
    for bad, message in (("2026-12-01", "after the as-of date 2026-11-21"), ("21.11.2026", "is not a date")):
        response = client.post(
            f"/scopes/{scope}/assessments",
            data={"framework_version": version, "target_level": "", "as_of": "2026-11-21", "period_start": bad},
        )
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert row_count(app) == before
    assessment = start(client, scope, version)
    trail = trail_count(app)
    for bad, message in (("2026-11-22", "after the as-of date 2026-11-21"), ("yesterday", "is not a date")):
        response = client.post(f"/assessments/{assessment}/period", data={"period_start": bad})
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert row(app, assessment).period_start is None and trail_count(app) == trail
    # a good one is kept and recorded in the trail; empty goes back to the default
    assert client.post(f"/assessments/{assessment}/period", data={"period_start": "2026-09-01"}).status_code == 302
    assert row(app, assessment).period_start == dt.date(2026, 9, 1) and trail_count(app) == trail + 1
    page = client.get(f"/assessments/{assessment}/results").get_data(as_text=True)
    assert "2026-09-01 to 2026-11-21" in page
    assert client.post(f"/assessments/{assessment}/period", data={"period_start": ""}).status_code == 302
    assert row(app, assessment).period_start is None
    assert "2026-08-23 to 2026-11-21" in client.get(f"/assessments/{assessment}/results").get_data(as_text=True)


def test_the_period_is_set_on_create_and_locked_with_the_answers(app, client, as_user):
    version = example_version(app)
    scope = make_scope(client, "Period")
    response = client.post(
        f"/scopes/{scope}/assessments",
        data={"framework_version": version, "target_level": "", "as_of": "2026-11-21", "period_start": "2026-07-01"},
    )
    assert response.status_code == 302
    assessment = int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
    assert row(app, assessment).period_start == dt.date(2026, 7, 1)
    assert client.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    response = client.post(f"/assessments/{assessment}/period", data={"period_start": "2026-08-01"})
    assert response.status_code == 409 and row(app, assessment).period_start == dt.date(2026, 7, 1)
    auditor = as_user("audrey")
    assert auditor.post(f"/assessments/{assessment}/period", data={"period_start": "2026-08-01"}).status_code in (
        403,
        404,
    )


def test_an_import_records_its_evidence_as_imported(app, client):
    import io
    import zipfile

    from tests.conftest import EXAMPLES
    from tests.integration.helpers import example_version

    example_version(app)
    scope = make_scope(client, "Imported")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(EXAMPLES / "devops-delivery.answers.yaml", "bundle/answers.yaml")
        archive.write(EXAMPLES / "evidence" / "pipeline.yml", "bundle/evidence/pipeline.yml")
    response = client.post(
        f"/scopes/{scope}/import",
        data={"file": (io.BytesIO(buffer.getvalue()), "a.zip")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        kinds = {(e.sha256 is not None, e.source) for e in db.session.scalars(select(Evidence))}
    assert kinds == {(True, "import"), (False, "import")}


def row_count(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Assessment.id)).all())


def trail_count(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(AuditEntry.seq)).all())


def test_a_removed_user_is_named_by_user_name_and_the_downloader_is_never_the_preparer(app, client, as_user, devops):
    from assessment.extensions import report_store
    from assessment.models import User
    from assessment.services import reports as report_svc

    assessment, _ = devops
    lead, _ = submitted(client, as_user, assessment)
    approve(lead, assessment)
    with app.app_context():
        db.session.execute(User.__table__.delete().where(User.username == "audrey"))
        db.session.commit()
        meta = report_svc.report_for(db.session.get(Assessment, assessment), report_store(app).evidence).meta
    assert (meta.prepared_by, meta.preparer.role) == ("Admin", "Admin")
    assert [(p.name, p.role) for p in meta.reviewers] == [("audrey", None)]
    assert (meta.approver.name, meta.approver.role) == ("Lead", "Program lead")
    assert meta.signoff_rows[1][:3] == ("Reviewed by", "audrey", "—")
