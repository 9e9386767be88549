"""`assessment pull` and `assessment gate` against a real server on loopback (the test's app, served by
werkzeug in a thread): the pulled files score as the API scores them; the gate judges the scope's latest
approved assessment, exits 3 under a bar, 0 over it, and 2 with a clear error when there is nothing to judge
or the server refuses."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from assessment.cli_files import files
from assessment.extensions import db, report_store
from assessment.models import Assessment, FrameworkVersion, Scope
from assessment.services import assessments as svc
from assessment.services import audit, review
from assessment.services import evidence as evidence_svc
from tests.conftest import EXAMPLES
from tests.integration.helpers import example_version
from tests.integration.test_api import token_for


@pytest.fixture
def server(app):
    """The test's application served on 127.0.0.1 and a free port; its base URL."""
    from werkzeug.serving import make_server

    served = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=served.serve_forever, name="cli-remote-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{served.server_port}"
    finally:
        served.shutdown()
        served.server_close()
        thread.join(timeout=10)


def _cli(*args: str, token: dict | None = None):
    secret = token["Authorization"].split(" ", 1)[1] if token else ""
    return CliRunner().invoke(files, list(args), env={"ASSESSMENT_TOKEN": secret}, catch_exceptions=False)


def _world(app, *, approve: bool) -> dict:
    """Scope Gamma (alice on its team) with an answered assessment, approved or a draft, and a file evidence."""
    version = example_version(app)
    with app.app_context(), audit.acting_as("test-setup"):
        scope = svc.create_scope("Gamma", "team")
        review.add_member(scope, "alice")
        row = db.session.get(FrameworkVersion, version)
        framework = svc.framework_of(row)
        assessment = svc.start_assessment(scope, row, 3, dt.date(2026, 11, 21))
        for rid, value in (("CI-01", "yes"), ("CI-02", "most"), ("CI-03", "yes"), ("DEP-01", "yes"), ("DEP-02", "30")):
            svc.save_answer(assessment, framework, rid, value, None, 0, "alice")
        evidence_svc.add_file(
            report_store(app).evidence,
            assessment,
            "CI-01",
            io.BytesIO(b"stages: [build]\n"),
            "pipeline.yml",
            "Pipeline",
            None,
            None,
            "alice",
        )
        if approve:
            review.submit(assessment, "alice")
            review.approve(assessment, "lead")
        db.session.commit()
        ids = {"scope": scope.id, "assessment": assessment.id}
        db.session.remove()
    return ids


def test_pull_writes_the_export_files_and_they_score_as_the_api_scores(app, server, tmp_path):
    world = _world(app, approve=False)
    alice = token_for(app, "alice")
    out = tmp_path / "pulled"
    done = _cli("pull", str(world["assessment"]), "--server", server, "-o", str(out), token=alice)
    assert done.exit_code == 0, done.output
    assert "1 of them evidence" in done.output
    assert (out / "framework.yaml").is_file() and (out / "answers.yaml").is_file()
    (pipeline,) = (out / "evidence").rglob("pipeline.yml")
    assert pipeline.read_bytes() == b"stages: [build]\n"
    scored = _cli("score", str(out / "framework.yaml"), str(out / "answers.yaml"), "--format", "json")
    assert scored.exit_code == 0, scored.output
    served = app.test_client().get(f"/api/v1/assessments/{world['assessment']}/score", headers=alice).json
    assert json.loads(scored.output)["overall"] == served["overall"]


def test_pull_refuses_without_a_valid_token_or_an_assessment_to_see(app, server, tmp_path):
    world = _world(app, approve=False)
    out = tmp_path / "pulled"
    missing = _cli("pull", str(world["assessment"]), "--server", server, "-o", str(out))
    assert missing.exit_code == 2 and "ASSESSMENT_TOKEN" in missing.output
    wrong = _cli("pull", str(world["assessment"]), "--server", server, "-o", str(out), token={"Authorization": "B x"})
    assert wrong.exit_code == 2 and "401" in wrong.output
    bob = _cli("pull", str(world["assessment"]), "--server", server, "-o", str(out), token=token_for(app, "bob"))
    assert bob.exit_code == 2 and "404" in bob.output and "no assessment" in bob.output
    assert not out.exists()


def test_gate_judges_the_latest_approved_assessment(app, server):
    world = _world(app, approve=True)
    lead = token_for(app, "lead", read_only=True)
    with app.app_context():
        overall = json.loads(
            app.test_client().get(f"/api/v1/assessments/{world['assessment']}/score", headers=lead).data
        )["overall"]
    scope = str(world["scope"])
    passed = _cli("gate", "--server", server, "--scope", scope, "--fail-under-level", str(overall["level"]), token=lead)
    assert passed.exit_code == 0 and "gate passed" in passed.output, passed.output
    high = overall["level"] + 1
    failed = _cli("gate", "--server", server, "--scope", "Gamma", "--fail-under-level", str(high), token=lead)
    assert failed.exit_code == 3 and f"is below {high}" in failed.output, failed.output
    score = _cli("gate", "--server", server, "--scope", scope, "--fail-under-score", "100.1", token=lead)
    assert score.exit_code == 3 and "overall score" in score.output
    # a newer draft of the scope is not judged: the approved one still is
    with app.app_context():
        gamma = db.session.scalar(select(Scope).where(Scope.name == "Gamma"))
        version = db.session.scalar(select(Assessment.framework_version_id).where(Assessment.id == world["assessment"]))
        svc.start_assessment(gamma, db.session.get(FrameworkVersion, version), 3, dt.date(2026, 12, 1))
        db.session.commit()
    again = _cli("gate", "--server", server, "--scope", scope, "--fail-under-level", str(overall["level"]), token=lead)
    assert again.exit_code == 0 and f"assessment {world['assessment']} " in again.output


def test_gate_exits_2_when_there_is_nothing_to_judge_or_the_server_refuses(app, server):
    world = _world(app, approve=False)
    alice = token_for(app, "alice")
    scope = str(world["scope"])
    draft_only = _cli("gate", "--server", server, "--scope", scope, "--fail-under-level", "1", token=alice)
    assert draft_only.exit_code == 2 and "no approved assessment" in draft_only.output
    hidden = _cli("gate", "--server", server, "--scope", scope, "--fail-under-level", "1", token=token_for(app, "bob"))
    assert hidden.exit_code == 2 and "404" in hidden.output
    unknown = _cli("gate", "--server", server, "--scope", "Nowhere", "--fail-under-level", "1", token=alice)
    assert unknown.exit_code == 2 and "no scope named 'Nowhere'" in unknown.output
    no_bar = _cli("gate", "--server", server, "--scope", scope, token=alice)
    assert no_bar.exit_code == 2 and "--fail-under-level" in no_bar.output


def _example(tmp_path) -> Path:
    """The spec's devops example as a folder: framework.yaml beside answers.yaml and its evidence file."""
    folder = tmp_path / "as-code"
    shutil.copytree(EXAMPLES / "evidence", folder / "evidence")
    shutil.copy(EXAMPLES / "devops-delivery.yaml", folder / "framework.yaml")
    shutil.copy(EXAMPLES / "devops-delivery.answers.yaml", folder / "answers.yaml")
    return folder / "answers.yaml"


def test_push_then_pull_round_trips_an_answers_file_with_its_evidence(app, server, tmp_path):
    world = _world(app, approve=True)  # Gamma's approved assessment: push starts a new draft beside it
    alice = token_for(app, "alice")
    answers = _example(tmp_path)
    pushed = _cli("push", str(answers), "--server", server, "--scope", "Gamma", token=alice)
    assert pushed.exit_code == 0, pushed.output
    assert "(started)" in pushed.output and "7 answers saved" in pushed.output and "2 evidence items" in pushed.output
    with app.app_context():
        draft = db.session.scalar(select(func.max(Assessment.id)).where(Assessment.scope_id == world["scope"]))
        db.session.remove()
    assert draft != world["assessment"]
    again = _cli("push", str(answers), "--server", server, "--scope", str(world["scope"]), token=alice)
    assert again.exit_code == 0 and f"assessment {draft}:" in again.output, again.output
    assert "0 answers saved, 7 unchanged, 0 evidence items" in again.output
    out = tmp_path / "pulled"
    assert _cli("pull", str(draft), "--server", server, "-o", str(out), token=alice).exit_code == 0
    served = app.test_client().get(f"/api/v1/assessments/{draft}/score", headers=alice).json
    for folder in (out, answers.parent):
        scored = _cli("score", str(folder / "framework.yaml"), str(folder / "answers.yaml"), "--format", "json")
        assert scored.exit_code == 0, scored.output
        assert json.loads(scored.output)["overall"] == served["overall"]
        assert json.loads(scored.output)["requirements"] == served["requirements"]


def test_push_refuses_an_invalid_file_and_a_reader_without_saving(app, server, tmp_path):
    world = _world(app, approve=False)
    answers = _example(tmp_path)
    answers.write_text(answers.read_text().replace("CI-02: most", "CI-02: always"))
    bad = _cli("push", str(answers), "--server", server, "--scope", "Gamma", token=token_for(app, "alice"))
    assert bad.exit_code == 2 and "CI-02" in bad.output
    answers.write_text(answers.read_text().replace("CI-02: always", "CI-02: most"))
    auditor = _cli("push", str(answers), "--server", server, "--scope", "Gamma", token=token_for(app, "audrey"))
    assert auditor.exit_code == 2 and "no scope named 'Gamma'" in auditor.output
    reader = _cli(
        "push", str(answers), "--server", server, "--scope", "Gamma", token=token_for(app, "alice", read_only=True)
    )
    assert reader.exit_code == 2 and "403" in reader.output
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(Assessment).where(Assessment.scope_id == world["scope"]))
            == 1
        )
        db.session.remove()
