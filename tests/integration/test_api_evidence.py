"""/api/v1 evidence: uploads under the web's limits and type checks, links under its URL rule, the list, and
the download with the web's headers and trail entry; hostile uploads store nothing."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import Assessment, AuditEntry, Evidence, EvidenceLink
from assessment.services import audit, review
from tests.integration.helpers import stored_keys
from tests.integration.test_api import token_for


@pytest.fixture
def draft(app, devops):
    """The devops draft, its scope's team alice, shared with the auditor audrey: the assessment's id."""
    assessment, scope = devops
    with app.app_context(), audit.acting_as("test-setup"):
        review.add_member(db.session.get(Assessment, assessment).scope, "alice")
        review.share(db.session.get(Assessment, assessment), "audrey", "lead")
        db.session.commit()
    return assessment


def upload(client, headers, assessment, data: bytes, name: str, rid: str = "CI-01", **form):
    return client.post(
        f"/api/v1/assessments/{assessment}/requirements/{rid}/evidence",
        data={"file": (io.BytesIO(data), name), **form},
        headers=headers,
        content_type="multipart/form-data",
    )


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def trail(app, action: str) -> list[tuple[str, str]]:
    with app.app_context():
        return list(
            db.session.execute(select(AuditEntry.actor, AuditEntry.object_id).where(AuditEntry.action == action))
        )


def test_upload_list_and_download_as_the_web(app, anonymous, draft):
    alice = token_for(app, "alice")
    data = b"stages: [build, test]\n"
    response = upload(
        anonymous, alice, draft, data, "pipeline.yml", title="Pipeline", effective="2026-01-01", expires="2027-01-01"
    )
    assert response.status_code == 201, response.get_data(True)
    item = response.json
    digest = hashlib.sha256(data).hexdigest()
    assert {k: item[k] for k in ("requirement_id", "kind", "title", "file_name", "sha256", "size", "added_by")} == {
        "requirement_id": "CI-01",
        "kind": "file",
        "title": "Pipeline",
        "file_name": "pipeline.yml",
        "sha256": digest,
        "size": len(data),
        "added_by": "alice",
    }
    assert (item["effective"], item["expires"], item["url"]) == ("2026-01-01", "2027-01-01", None)
    assert stored_keys(app) == [f"{digest[:2]}/{digest}"]
    assert trail(app, "evidence.added") == [("alice", str(item["id"]))]
    link = anonymous.post(
        f"/api/v1/assessments/{draft}/requirements/DEP-01/links",
        json={"url": "https://ci.example/runs/1"},
        headers=alice,
    )
    assert link.status_code == 201 and link.json["kind"] == "link" and link.json["title"] == "https://ci.example/runs/1"
    listed = anonymous.get(f"/api/v1/assessments/{draft}/evidence", headers=token_for(app, "audrey"))
    assert listed.status_code == 200
    assert [(e["id"], e["requirement_id"], e["kind"]) for e in listed.json] == [
        (item["id"], "CI-01", "file"),
        (link.json["id"], "DEP-01", "link"),
    ]
    download = anonymous.get(f"/api/v1/evidence/{item['id']}/download", headers=token_for(app, "audrey"))
    web = app.test_client()  # the web's download of the same file, for its headers
    from tests.integration.conftest import sign_in_as

    web_download = sign_in_as(web, "audrey").get(f"/evidence/{item['id']}/download")
    assert download.status_code == 200 and download.data == data == web_download.data
    for header in ("Content-Type", "Content-Disposition", "X-Content-Type-Options", "Content-Security-Policy", "ETag"):
        assert download.headers[header] == web_download.headers[header], header
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert trail(app, "evidence.downloaded") == [("audrey", str(item["id"]))] * 2
    assert anonymous.get(f"/api/v1/evidence/{link.json['id']}/download", headers=alice).status_code == 404


def test_hostile_uploads_are_problems_and_store_nothing(app, anonymous, draft):
    alice = token_for(app, "alice")
    app.config["EVIDENCE_MAX_BYTES"] = 1024
    too_big = upload(anonymous, alice, draft, b"x" * 2048, "big.txt")
    assert too_big.status_code == 413 and too_big.mimetype == "application/problem+json"
    assert "larger than the limit" in too_big.json["detail"]
    app.config["MAX_CONTENT_LENGTH"] = 4096  # a body over the server's limit is a problem too, not a page
    over = upload(anonymous, alice, draft, b"x" * 10_000, "big.txt")
    assert over.status_code == 413 and over.mimetype == "application/problem+json"
    refused = {
        "html named as text": (b"<!doctype html><html><script>alert(1)</script></html>", "notes.txt", {}),
        "an active extension": (b"plain words\n", "readme.html", {}),
        "a pdf that is text": (b"plain words\n", "report.pdf", {}),
        "an executable": (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200), "tool.bin", {}),
        "an empty file": (b"", "empty.txt", {}),
    }
    for what, (data, name, form) in refused.items():
        response = upload(anonymous, alice, draft, data, name, **form)
        assert response.status_code == 422 and response.mimetype == "application/problem+json", what
        assert [e["pointer"] for e in response.json["errors"]] == ["/files/file"], (what, response.json)
    fields = {
        "/form/expires": {"effective": "2026-05-01", "expires": "2026-01-01"},
        "/form/effective": {"effective": "May Day"},
        "/form/title": {"title": "t" * 501},
    }
    for pointer, form in fields.items():
        response = upload(anonymous, alice, draft, b"words\n", "a.txt", **form)
        assert response.status_code == 422 and pointer in [e["pointer"] for e in response.json["errors"]], form
    no_file = anonymous.post(
        f"/api/v1/assessments/{draft}/requirements/CI-01/evidence",
        data={"title": "nothing"},
        headers=alice,
        content_type="multipart/form-data",
    )
    assert no_file.status_code == 422 and [e["pointer"] for e in no_file.json["errors"]] == ["/files/file"]
    assert upload(anonymous, alice, draft, b"words\n", "a.txt", rid="NOPE-9").status_code == 404
    assert stored_keys(app) == [] and count(app, Evidence) == 0 and count(app, EvidenceLink) == 0
    # a name with a path is kept as its last part, never a path in the store
    named = upload(anonymous, alice, draft, b"words\n", "../../etc/.passwd.txt")
    assert named.status_code == 201 and named.json["file_name"] == "passwd.txt"
    for url in ("javascript:alert(1)", "file:///etc/passwd", "ftp://x", "https://", "https://x/" + "a" * 2000):
        response = anonymous.post(
            f"/api/v1/assessments/{draft}/requirements/CI-01/links", json={"url": url}, headers=alice
        )
        assert response.status_code == 422 and [e["pointer"] for e in response.json["errors"]] == ["/url"], url
    assert count(app, Evidence) == 1


def test_who_may_upload(app, anonymous, draft):
    data = b"words\n"
    assert upload(anonymous, token_for(app, "bob"), draft, data, "a.txt").status_code == 404  # another scope's
    auditor = upload(anonymous, token_for(app, "audrey"), draft, data, "a.txt")
    assert auditor.status_code == 403 and auditor.mimetype == "application/problem+json"
    read_only = upload(anonymous, token_for(app, "alice", read_only=True), draft, data, "a.txt")
    assert read_only.status_code == 403
    assert count(app, Evidence) == 0 and stored_keys(app) == []
    with app.app_context(), audit.acting_as("test-setup"):
        review.submit(db.session.get(Assessment, draft), "alice")
        db.session.commit()
    locked = upload(anonymous, token_for(app, "alice"), draft, data, "a.txt")
    assert locked.status_code == 409 and count(app, Evidence) == 0 and stored_keys(app) == []


def test_a_failed_commit_removes_the_uploaded_file(app, anonymous, draft, monkeypatch):
    alice = token_for(app, "alice")
    commit = db.session.commit
    calls = []

    def second_fails():  # the token's last use commits first; the operation's commit fails
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("database went away")
        commit()

    monkeypatch.setattr(db.session, "commit", second_fails)
    with pytest.raises(RuntimeError):
        upload(anonymous, alice, draft, b"lost\n", "lost.txt")
    monkeypatch.undo()
    assert stored_keys(app) == [] and count(app, Evidence) == 0
