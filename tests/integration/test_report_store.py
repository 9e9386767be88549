"""The report services take their store explicitly: a report is built, queued, rendered and found again
from plain service calls in an application context, with no request, in whatever store they are given."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import has_request_context

from assessment.adapters import report_jobs
from assessment.adapters.blobs import FolderBlobs, S3Blobs, s3_configured
from assessment.extensions import db, report_store
from assessment.services import reports as report_svc
from assessment.services.assessments import get_assessment
from assessment.services.reports import ReportStore
from tests.integration.helpers import autosave
from tests.integration.test_evidence import upload


def elsewhere(app, tmp_path: Path) -> ReportStore:
    """A report store of its own (a folder), away from the store the application's reports use, with the
    application's evidence (its folder, or its bucket under bin/with-stack)."""
    return ReportStore(tmp_path / "elsewhere" / "reports", report_store(app).evidence)


def test_create_app_builds_the_store_once_from_the_instance_folder(app):
    store = report_store(app)
    assert store is report_store(app)
    if s3_configured(app.config):  # under bin/with-stack: both in the bucket, under the test's prefix
        assert isinstance(store.blobs, S3Blobs) and isinstance(store.evidence.blobs, S3Blobs)
        assert store.blobs.prefix == f"{app.config['S3_PREFIX']}/reports/"
        assert store.evidence.blobs.prefix == f"{app.config['S3_PREFIX']}/evidence/"
    else:
        assert isinstance(store.blobs, FolderBlobs) and store.blobs.root == Path(app.instance_path) / "reports"
        assert store.evidence.blobs.root == Path(app.config["EVIDENCE_DIR"])


def test_a_report_is_built_from_a_service_call_without_a_request(app, client, devops, tmp_path):
    assessment, _ = devops
    autosave(client, assessment, "CI-01", "yes")
    upload(client, assessment, "CI-01", b"stages: [build]\n", "pipeline.yml", title="Pipeline")
    store = elsewhere(app, tmp_path)
    with app.app_context():
        assert not has_request_context()
        report = report_svc.report_for(get_assessment(assessment), store.evidence)
    assert report.meta.scope == "Payments" and report.meta.prepared_by == "not yet submitted"  # a draft
    sources = [(e.file_name, e.source) for e in report.evidence if e.source]
    assert [name for name, _ in sources] == ["pipeline.yml"]
    with sources[0][1].open("rb") as stored:
        assert stored.read() == b"stages: [build]\n"  # the stored bytes, from whichever store holds them


@pytest.mark.slow
def test_a_job_is_queued_rendered_and_found_in_the_store_it_is_given(app, client, devops, tmp_path):
    assessment, _ = devops
    autosave(client, assessment, "CI-01", "yes")
    store = elsewhere(app, tmp_path)
    with app.app_context():
        job = report_svc.request_report(get_assessment(assessment), "pdf", "tester", store)
        db.session.commit()
        job_id = job.id
    assert not has_request_context()
    report_jobs.run_job(app, job_id, store)
    with app.app_context():
        job = report_svc.get_job(job_id)
        assert job.status == "done", job.message
        path = report_svc.job_file(job, store)
        assert path.parent == store.blobs.root and path.read_bytes().startswith(b"%PDF")
        assert not (Path(app.instance_path) / "reports").exists()  # nothing in the application's own store
        again = report_svc.request_report(get_assessment(assessment), "pdf", "tester", store)
        assert again.id == job_id  # unchanged and still in this store: reused
        other = report_svc.request_report(get_assessment(assessment), "pdf", "tester", report_store(app))
        assert other.id != job_id  # the application's store does not hold that file: rendered anew
