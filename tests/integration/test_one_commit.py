"""One commit per request, in one place (assessment/app.py, AssessmentApp): a view that returns is
committed once; a request that ends in an error commits nothing; views do not commit themselves,
but for the few named exceptions."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from assessment.extensions import db
from assessment.models import Answer, AuditEntry, BacklogItem, Evidence
from tests.integration.helpers import autosave

VIEWS = Path(__file__).resolve().parents[2] / "assessment" / "views"

# (module, view) -> why that view commits at a particular moment itself.
ALLOWED_COMMITS = {
    ("reports.py", "request_report"): "the report worker must find the job committed",
}


@pytest.fixture
def commits():
    """The session commits made while the test runs, as a list that grows (one entry per commit);
    a savepoint released (begin_nested) is not a commit."""
    made: list[int] = []

    def count(session) -> None:
        if not session.in_nested_transaction():
            made.append(1)

    event.listen(Session, "after_commit", count)
    yield made
    event.remove(Session, "after_commit", count)


def once(commits: list[int], send):
    """The response of `send()`, checking it made exactly one commit."""
    commits.clear()
    response = send()
    assert len(commits) == 1, (response.status_code, len(commits))
    return response


def rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_each_writing_request_commits_once(app, client, devops, commits):
    assessment, _ = devops
    saved = once(commits, lambda: autosave(client, assessment, "CI-02", "most"))
    assert saved.status_code == 200
    once(commits, lambda: autosave(client, assessment, "DEP-01", "yes"))
    link = once(
        commits,
        lambda: client.post(
            f"/assessments/{assessment}/requirements/CI-01/evidence", data={"url": "https://a.example/ci"}
        ),
    )
    assert link.status_code == 302 and rows(app, Evidence) == 1
    once(commits, lambda: client.post(f"/assessments/{assessment}/backlog/generate"))
    with app.app_context():
        item_id = db.session.scalar(select(BacklogItem.id).order_by(BacklogItem.id))
    updated = once(
        commits,
        lambda: client.post(f"/assessments/{assessment}/backlog/{item_id}", data={"status": "do", "owner": ""}),
    )
    assert updated.status_code == 302
    with app.app_context():
        assert db.session.get(BacklogItem, item_id).status == "do"
    submitted = once(commits, lambda: client.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}))
    assert submitted.status_code == 302


def test_a_download_commits_its_trail_entry_once(app, client, devops, commits):
    assessment, _ = devops
    form = {"file": (io.BytesIO(b"%PDF-1.4 scan"), "scan.pdf"), "title": ""}
    client.post(f"/assessments/{assessment}/requirements/CI-01/evidence", data=form, content_type="multipart/form-data")
    with app.app_context():
        evidence_id = db.session.scalar(select(Evidence.id))

    def downloads() -> int:
        with app.app_context():
            return db.session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "evidence.downloaded")
            )

    assert downloads() == 0
    response = once(commits, lambda: client.get(f"/evidence/{evidence_id}/download"))
    assert response.status_code == 200 and response.data == b"%PDF-1.4 scan"
    response.close()
    assert downloads() == 1
    once(commits, lambda: client.get(f"/assessments/{assessment}/export/score.json"))


def test_a_request_ending_in_an_error_commits_nothing(app, client, devops, commits):
    assessment, _ = devops
    client.post(f"/assessments/{assessment}/backlog/generate")
    with app.app_context():
        item_id = db.session.scalar(select(BacklogItem.id).order_by(BacklogItem.id))
    trail, evidence, answers = rows(app, AuditEntry), rows(app, Evidence), rows(app, Answer)
    commits.clear()
    forged = client.post(f"/assessments/{assessment}/backlog/{item_id}", data={"status": "finished", "owner": "Eve"})
    assert forged.status_code == 400
    # a form shown again with its errors (422) commits nothing either
    bad_link = client.post(f"/assessments/{assessment}/requirements/CI-01/evidence", data={"url": "javascript:x"})
    assert bad_link.status_code == 422
    missing = client.get("/evidence/999999/download")
    assert missing.status_code == 404
    assert commits == []
    assert (rows(app, AuditEntry), rows(app, Evidence), rows(app, Answer)) == (trail, evidence, answers)
    with app.app_context():
        item = db.session.get(BacklogItem, item_id)
        assert (item.status, item.owner) == ("plan", None)


def _commits_in(path: Path) -> list[str]:
    """The views (functions) of a module that call `.commit(`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Attribute)
                    and inner.func.attr == "commit"
                ):
                    found.append(node.name)
    return found


def test_views_commit_only_in_the_named_exceptions():
    seen = {(path.name, view) for path in sorted(VIEWS.glob("*.py")) for view in _commits_in(path)}
    assert seen == set(ALLOWED_COMMITS), "a view commits itself: the application commits once per request"
    source = "".join(path.read_text(encoding="utf-8") for path in VIEWS.glob("*.py"))
    assert source.count(".commit(") == len(ALLOWED_COMMITS)
