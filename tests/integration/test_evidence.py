"""Evidence: uploads stored by SHA-256, links, reuse, limits and hostile names."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import Evidence, EvidenceLink
from tests.integration.helpers import autosave, stored_keys


def upload(client, assessment, rid, data: bytes, name: str, **fields):
    form = {"file": (io.BytesIO(data), name), "title": fields.pop("title", ""), **fields}
    return client.post(
        f"/assessments/{assessment}/requirements/{rid}/evidence", data=form, content_type="multipart/form-data"
    )


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def files_in(app) -> list[str]:
    """The keys of the stored evidence files (the folder's or, under bin/with-stack, the bucket's)."""
    return stored_keys(app)


def test_upload_is_stored_by_sha256_and_supports_the_answer(app, client, devops):
    assessment, _ = devops
    data = b"%PDF-1.4 scan of the pipeline\n"
    response = upload(client, assessment, "CI-01", data, "scan.pdf", title="Scan", effective="2026-01-01")
    assert response.status_code == 302 and response.headers["Location"].endswith("#req-CI-01")
    digest = hashlib.sha256(data).hexdigest()
    assert files_in(app) == [f"{digest[:2]}/{digest}"]
    with app.app_context():
        item = db.session.scalar(select(Evidence))
        assert (item.sha256, item.size, item.original_name, item.media_type) == (
            digest,
            len(data),
            "scan.pdf",
            "application/pdf",
        )
    # the required evidence now supports a "yes"
    assert autosave(client, assessment, "CI-01", "yes").json["status"] == "met"
    download = client.get(f"/evidence/{item.id}/download")
    assert download.data == data
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_same_content_twice_is_one_file(app, client, devops):
    assessment, _ = devops
    upload(client, assessment, "CI-01", b"same", "a.txt")
    upload(client, assessment, "OPS-01", b"same", "b.txt")
    assert len(files_in(app)) == 1 and count(app, Evidence) == 2


def test_file_name_with_a_path_is_stored_safely(app, client, devops):
    assessment, _ = devops
    upload(client, assessment, "CI-01", b"x", "../../etc/passwd")
    upload(client, assessment, "CI-01", b"y", "..\\..\\windows\\evil.txt")
    with app.app_context():
        names = sorted(db.session.scalars(select(Evidence.original_name)))
    assert "passwd" in names and len(names) == 2
    assert all("/" not in n and "\\" not in n and not n.startswith(".") for n in names)
    assert all(re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{64}", key) for key in files_in(app))  # named by hash alone
    assert not (Path(app.instance_path).parent / "etc").exists()


def test_upload_over_the_limit_stores_nothing(app, client, devops):
    assessment, _ = devops
    app.config["EVIDENCE_MAX_BYTES"] = 1024
    response = upload(client, assessment, "CI-01", b"x" * 2048, "big.bin")
    assert response.status_code == 413
    assert "larger than the limit" in response.get_data(as_text=True)
    assert files_in(app) == [] and count(app, Evidence) == 0 and count(app, EvidenceLink) == 0


def test_request_over_the_limit_gets_a_clear_message(app, client, devops):
    assessment, _ = devops
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = upload(client, assessment, "CI-01", b"x" * 10_000, "big.bin")
    assert response.status_code == 413 and "nothing was stored" in response.get_data(as_text=True)
    assert files_in(app) == [] and count(app, Evidence) == 0


def test_failed_upload_leaves_no_orphan_file_and_no_row(app, client, devops):
    """A database failure after the file was written removes the file again."""
    assessment, _ = devops
    response = upload(client, assessment, "NOPE-9", b"orphan?", "o.txt")
    assert response.status_code == 404
    bad_dates = upload(client, assessment, "CI-01", b"orphan?", "o.txt", effective="2026-05-01", expires="2026-01-01")
    assert bad_dates.status_code == 422 and "before the effective date" in bad_dates.get_data(as_text=True)
    assert files_in(app) == [] and count(app, Evidence) == 0


def test_commit_failure_discards_the_new_file(app, client, devops, monkeypatch):
    assessment, _ = devops

    def fail():
        raise RuntimeError("database went away")

    monkeypatch.setattr(db.session, "commit", fail)
    app.testing = False  # take the production error path: a page, not an exception
    response = upload(client, assessment, "CI-01", b"lost", "lost.txt")
    assert response.status_code == 500 and "nothing was changed" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    monkeypatch.undo()
    assert files_in(app) == [] and count(app, Evidence) == 0


def test_link_evidence_and_reuse_across_requirements(app, client, devops):
    assessment, _ = devops
    response = client.post(
        f"/assessments/{assessment}/requirements/OPS-01/evidence",
        data={"url": "https://wiki.example.com/slo", "title": "SLO doc", "expires": "2027-01-01"},
    )
    assert response.status_code == 302
    with app.app_context():
        evidence_id = db.session.scalar(select(Evidence.id))
    reuse = client.post(
        f"/assessments/{assessment}/requirements/CI-01/evidence/reuse", data={"evidence_id": evidence_id}
    )
    assert reuse.status_code == 302
    assert count(app, Evidence) == 1 and count(app, EvidenceLink) == 2
    page = client.get(f"/assessments/{assessment}/domains/2").get_data(as_text=True)
    assert "SLO doc" in page and "https://wiki.example.com/slo" in page
    remove = client.post(
        f"/assessments/{assessment}/requirements/CI-01/evidence/{evidence_id}/remove", data={"confirm": "1"}
    )
    assert remove.status_code == 302 and count(app, EvidenceLink) == 1 and count(app, Evidence) == 1


def test_only_http_links(app, client, devops):
    assessment, _ = devops
    for url in ("javascript:alert(1)", "file:///etc/passwd", "ftp://x", "https://"):
        response = client.post(f"/assessments/{assessment}/requirements/CI-01/evidence", data={"url": url})
        assert response.status_code == 422, url
    assert count(app, Evidence) == 0


def test_expired_evidence_is_shown_as_not_current(app, client, devops):
    assessment, _ = devops
    client.post(
        f"/assessments/{assessment}/requirements/CI-01/evidence",
        data={"url": "https://wiki.example.com/old", "title": "Old", "expires": "2026-01-01"},
    )
    assert autosave(client, assessment, "CI-01", "yes").json == {
        "outcome": "saved",
        "revision": 1,
        "status": "not_met",
        "unsupported": True,
        "unsupported_reason": "Yes, but no current evidence: evidence expired on 2026-01-01.",
        "answered": 1,
        "total": 3,
        "overall_answered": 1,
        "overall_total": 8,
    }
    assert "Not current at 2026-11-21" in client.get(f"/assessments/{assessment}/domains/0").get_data(as_text=True)


def test_evidence_of_another_scope_cannot_be_reused(app, client, devops):
    from tests.integration.helpers import example_version, make_scope, start

    assessment, _ = devops
    client.post(f"/assessments/{assessment}/requirements/CI-01/evidence", data={"url": "https://a.example/x"})
    with app.app_context():
        evidence_id = db.session.scalar(select(Evidence.id))
    other = start(client, make_scope(client, "Other"), example_version(app))
    response = client.post(
        f"/assessments/{other}/requirements/CI-01/evidence/reuse", data={"evidence": f"#{evidence_id}"}
    )
    assert response.status_code == 404 and count(app, EvidenceLink) == 1


def test_evidence_page_and_saving_before_going_there(app, client, devops):
    assessment, _ = devops
    client.post(
        f"/assessments/{assessment}/requirements/OPS-01/evidence", data={"url": "https://a.example/slo", "title": "SLO"}
    )
    page = client.get(f"/assessments/{assessment}/requirements/CI-01/evidence").get_data(as_text=True)
    assert "Evidence for <code>CI-01</code>" in page and "#1 SLO" in page  # the scope's evidence, to reuse
    assert client.get(f"/assessments/{assessment}/requirements/NOPE/evidence").status_code == 404
    # the questionnaire's button saves the page first, then opens the evidence page
    response = client.post(
        f"/assessments/{assessment}/domains/0", data={"CI-02": "most", "rev/CI-02": "0", "go": "evidence:CI-02"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/assessments/{assessment}/requirements/CI-02/evidence"
    )
    assert autosave(client, assessment, "CI-02", "most", revision=1).json["outcome"] == "unchanged"
