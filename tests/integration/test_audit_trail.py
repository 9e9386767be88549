"""The audit trail in the application: what it records, the page, and `assessment audit verify`
on the demo workspace, before and after a row is altered or deleted directly in the database."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from assessment.domain.trail import FIELDS
from assessment.extensions import db
from assessment.models import AuditEntry
from tests.integration.helpers import autosave, run_cli
from tests.integration.test_evidence import upload


def trail(app, **where) -> list[AuditEntry]:
    with app.app_context():
        stmt = select(AuditEntry).order_by(AuditEntry.seq)
        for name, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, name) == value)
        rows = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return rows


def test_changes_are_recorded_with_actor_object_before_and_after(app, client, as_user, devops):
    assessment, scope = devops
    client.post(f"/scopes/{scope}/members", data={"username": "alice"})
    alice = as_user("alice")
    assert autosave(alice, assessment, "CI-02", "some", note="first").status_code == 200
    assert autosave(alice, assessment, "CI-02", "most", revision=1, note="first").status_code == 200
    upload(alice, assessment, "CI-01", b"stages: [build]\n", "pipeline.yml", title="Pipeline")
    saved = trail(app, action="answer.saved")
    assert [(e.actor, e.object_id) for e in saved] == [("alice", f"{assessment}/CI-02")] * 2
    assert json.loads(saved[0].after) == {"value": "some", "note": "first"} and saved[0].before is None
    assert json.loads(saved[1].before) == {"value": "some"} and json.loads(saved[1].after) == {"value": "most"}
    assert saved[1].assessment_id == assessment and saved[1].scope_id == scope
    (added,) = trail(app, action="evidence.added")
    assert json.loads(added.after)["name"] == "pipeline.yml" and len(json.loads(added.after)["sha256"]) == 64
    assert trail(app, action="evidence.linked")[0].object_id.startswith(f"{assessment}/CI-01/")
    # reading is recorded too: the evidence download
    with app.app_context():
        evidence_id = json.loads(trail(app, action="evidence.linked")[0].after)["evidence"]
    client.get(f"/evidence/{evidence_id}/download").close()
    (download,) = trail(app, action="evidence.downloaded")
    assert download.actor == "admin" and download.object_id == str(evidence_id)
    # status changes and scope membership
    alice.post(f"/assessments/{assessment}/submit", data={"confirm": "1"})
    (submitted,) = trail(app, action="assessment.submitted")
    assert json.loads(submitted.before) == {"status": "draft"} and json.loads(submitted.after) == {
        "status": "submitted"
    }
    assert trail(app, action="scope.member_added")[0].actor == "admin"
    # a framework import (new content: the library itself outlives each test on PostgreSQL)
    from assessment.domain.loader import load_framework_text
    from assessment.services.library import store_framework
    from tests.conftest import EXAMPLES

    text = (EXAMPLES / "devops-delivery.yaml").read_text().replace('version: "2026.1"', 'version: "2099.audit"')
    with app.app_context():
        store_framework(load_framework_text(text), text, "devops-delivery.yaml")
        db.session.commit()
    (imported,) = [e for e in trail(app, action="framework.imported") if "2099.audit" in e.after]
    assert json.loads(imported.after)["framework"] == "devops-delivery"


def test_the_trail_page_filters_and_shows_each_person_only_theirs(app, client, as_user, devops):
    assessment, scope = devops
    client.post(f"/scopes/{scope}/members", data={"username": "alice"})
    autosave(as_user("alice"), assessment, "CI-02", "some")
    page = client.get("/audit?action=answer&actor=alice").get_data(as_text=True).split("<tbody>", 1)[1]
    assert "answer.saved" in page and f"{assessment}/CI-02" in page and "scope.member_added" not in page
    assert "answer.saved" in as_user("alice").get(f"/audit?assessment={assessment}").get_data(as_text=True)
    assert "answer.saved" in as_user("lead").get("/audit").get_data(as_text=True)
    for outsider in ("bob", "otto"):
        body = as_user(outsider).get("/audit").get_data(as_text=True)
        assert "answer.saved" not in body and "user.created" not in body, outsider
    assert "No entries match" in client.get("/audit?since=2999-01-01").get_data(as_text=True)
    assert client.get("/audit?since=yesterday").status_code == 400


def test_a_rolled_back_change_leaves_no_entry(app, client, devops):
    assessment, _ = devops
    before = len(trail(app))
    response = autosave(client, assessment, "CI-02", "not-a-value")
    assert response.status_code == 400 and len(trail(app)) == before


def test_writers_at_the_same_moment_take_turns_and_lose_nothing(app):
    """Three writers appending at once, as three people saving answers: every change and its entry
    land, and the chain holds (on SQLite the second writer used to take the same entry number and fail)."""
    from assessment.services import audit

    errors: list[str] = []
    start = threading.Barrier(3)
    path = Path(app.instance_path) / "audit-checkpoints.jsonl"
    lines = len(path.read_text().splitlines()) if path.exists() else 0

    def writer(n: int) -> None:
        with app.app_context():
            start.wait()
            for i in range(30):
                try:
                    audit.record("test.write", "thing", f"{n}-{i}")
                    time.sleep(0.001)  # the rest of the change, while its entry is pending
                    db.session.commit()
                except Exception as exc:
                    db.session.rollback()
                    errors.append(repr(exc)[:200])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(trail(app, action="test.write")) == 90
    with app.app_context():
        assert audit.verify().broken is None
        result = audit.check()  # one checkpoint line a commit, none cut or interleaved
        assert result.ok and result.checkpoints == lines + 90, result.problems
        assert result.last_checkpoint.seq == len(trail(app))


@pytest.fixture
def demo(app):
    """The instance as `make run` leaves it: the library, the demo workspace and its users."""
    with app.app_context():  # the demo adds its people to an instance that has none
        db.session.execute(text("DELETE FROM user_account"))
        db.session.commit()
    result = run_cli(app, "init")
    assert result.returncode == 0, result.stderr
    assert "auditor" in result.stdout and "auditor-demo-pass" in result.stdout
    return app


@pytest.mark.slow
def test_audit_verify_passes_on_the_demo_and_names_an_altered_row(demo):
    intact = run_cli(demo, "audit", "verify")
    assert intact.returncode == 0 and "audit trail intact" in intact.stdout, intact.stderr
    target = trail(demo, action="answer.saved")[3]
    with demo.app_context():
        db.session.execute(
            text("UPDATE audit_entry SET after = :after WHERE id = :id"),
            {"after": '{"note":null,"value":"tampered"}', "id": target.id},
        )
        db.session.commit()
    broken = run_cli(demo, "audit", "verify")
    assert broken.returncode == 2 and not broken.stdout
    assert f"BROKEN at entry {target.seq} (row id {target.id})" in broken.stderr and "altered" in broken.stderr


@pytest.mark.slow
def test_audit_verify_names_a_deleted_row(demo):
    target = trail(demo)[10]
    with demo.app_context():
        db.session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": target.id})
        db.session.commit()
    broken = run_cli(demo, "audit", "verify")
    assert broken.returncode == 2 and f"entry {target.seq} missing" in broken.stderr


# --- the keyed trail and its anchors outside the database -----------------------------------------


def checkpoints(app) -> Path:
    return Path(app.instance_path) / "audit-checkpoints.jsonl"


@pytest.mark.slow  # a console-script process or a timed race
def test_audit_verify_names_a_deleted_tail_against_the_last_checkpoint(demo):
    rows = trail(demo)
    intact = run_cli(demo, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert f"audit trail intact: {len(rows)} entries, head {rows[-1].hash}" in intact.stdout
    with demo.app_context():
        db.session.execute(text("DELETE FROM audit_entry WHERE seq > :seq"), {"seq": rows[-4].seq})
        db.session.commit()
    broken = run_cli(demo, "audit", "verify")
    assert broken.returncode == 2 and not broken.stdout
    assert f"BROKEN at entry {rows[-3].seq} (no row), tail check: entries {rows[-3].seq} to {rows[-1].seq} missing" in (
        broken.stderr
    )
    assert "its last entries were deleted" in broken.stderr and "audit-checkpoints.jsonl line" in broken.stderr
    assert "last checkpoint at entry" in intact.stdout


@pytest.mark.slow  # a console-script process or a timed race
def test_audit_verify_names_an_entry_rewritten_with_every_later_hash_recomputed(demo):
    from assessment.domain.trail import entry_hash

    rows = trail(demo)
    target = rows[5]
    prev = target.prev_hash
    with demo.app_context():
        for row in rows[5:]:
            fields = {name: getattr(row, name) for name in FIELDS}
            if row.id == target.id:
                fields["actor"] = "mallory"
            digest = entry_hash(fields, prev)
            db.session.execute(
                text("UPDATE audit_entry SET actor = :actor, prev_hash = :prev, hash = :hash WHERE id = :id"),
                {"actor": fields["actor"], "prev": prev, "hash": digest, "id": row.id},
            )
            prev = digest
        db.session.commit()
    broken = run_cli(demo, "audit", "verify")
    assert broken.returncode == 2
    assert f"BROKEN at entry {target.seq} (row id {target.id}), mac check: its keyed MAC does not match" in (
        broken.stderr
    )


@pytest.mark.slow  # a console-script process or a timed race
def test_audit_verify_names_stripped_macs(demo):
    with demo.app_context():
        db.session.execute(text("UPDATE audit_entry SET mac = NULL"))
        db.session.commit()
    broken = run_cli(demo, "audit", "verify")
    first = trail(demo)[0]
    assert broken.returncode == 2 and f"BROKEN at entry {first.seq} (row id {first.id}), mac check" in broken.stderr
    assert "keyed MAC is missing" in broken.stderr


@pytest.mark.slow  # a console-script process or a timed race
def test_audit_verify_names_a_forged_checkpoint_line(demo):
    lines = checkpoints(demo).read_text().splitlines()
    assert lines and all(json.loads(line)["sig"] for line in lines)
    forged = json.loads(lines[-1])
    forged["seq"] = forged["count"] = forged["seq"] + 5  # claims entries that never were, with the old signature
    with checkpoints(demo).open("a") as f:
        f.write(json.dumps(forged, separators=(",", ":")) + "\n")
    broken = run_cli(demo, "audit", "verify")
    assert broken.returncode == 2
    assert f"audit-checkpoints.jsonl line {len(lines) + 1}: its signature does not match" in broken.stderr
    assert "BROKEN at entry" not in broken.stderr  # a forged line is not taken as an anchor


@pytest.mark.slow  # a console-script process or a timed race
def test_the_trail_key_file_is_private_and_kept(app):
    from assessment.domain.trail import entry_mac

    key_file = Path(app.instance_path) / "trail_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text()
    result = run_cli(app, "users", "create", "carol", "--role", "member", "--password-stdin", stdin="a long password\n")
    assert result.returncode == 0, result.stderr
    assert key_file.read_text() == key and len(key.strip()) == 64
    (created,) = trail(app, action="user.created", object_id="carol")
    assert created.mac == entry_mac(key.strip().encode(), created.hash)
    assert run_cli(app, "audit", "verify").returncode == 0


def test_the_key_is_made_once_even_by_writers_starting_together(tmp_path):
    import secrets

    from assessment.keyfiles import write_once

    paths = [tmp_path / "trail_key"] * 8
    start = threading.Barrier(len(paths))

    def make(path: Path) -> None:
        start.wait()
        write_once(path, secrets.token_hex(32) + "\n")  # as the trail's key is made

    threads = [threading.Thread(target=make, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [p.name for p in tmp_path.iterdir()] == ["trail_key"] and len((tmp_path / "trail_key").read_text()) == 65


@pytest.mark.slow  # a console-script process or a timed race
def test_the_environment_key_wins_over_the_file(app, monkeypatch):
    from assessment.domain.trail import entry_mac
    from assessment.services import audit

    env_key = "e" * 40
    monkeypatch.setenv("ASSESSMENT_TRAIL_KEY", env_key)
    with app.app_context():
        entry = audit.record("test.write", "thing", "env")
        db.session.commit()
        assert entry.mac == entry_mac(env_key.encode(), entry.hash)
    file_key = (Path(app.instance_path) / "trail_key").read_text().strip()
    assert entry.mac != entry_mac(file_key.encode(), entry.hash)
    monkeypatch.setenv("ASSESSMENT_TRAIL_KEY", "short")
    refused = run_cli(app, "audit", "verify")
    assert refused.returncode == 2 and "ASSESSMENT_TRAIL_KEY is 5 characters long; it needs at least 32" in (
        refused.stderr
    )


@pytest.mark.slow  # a console-script process or a timed race
def test_entries_from_before_the_key_are_kept_and_the_first_keyed_one_is_recorded(app):
    """An instance upgraded to the keyed trail: its entries have no MAC and it has no checkpoints."""
    from assessment.services import audit

    with app.app_context():
        db.session.execute(text("UPDATE audit_entry SET mac = NULL"))
        db.session.commit()
    checkpoints(app).unlink(missing_ok=True)
    before = len(trail(app))
    with app.app_context():
        audit.record("test.write", "thing", "first keyed")
        db.session.commit()
    (line,) = checkpoints(app).read_text().splitlines()
    assert json.loads(line)["first_keyed"] == before + 1 and json.loads(line)["count"] == before + 1
    intact = run_cli(app, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    if before:
        assert f"entries 1 to {before} predate the trail key" in intact.stdout
    with app.app_context():  # stripping the new MAC too would pass for an old entry, but the checkpoint knows
        db.session.execute(text("UPDATE audit_entry SET mac = NULL"))
        db.session.commit()
    broken = run_cli(app, "audit", "verify")
    assert broken.returncode == 2 and f"BROKEN at entry {before + 1}" in broken.stderr and "mac check" in broken.stderr


@pytest.mark.slow  # a console-script process or a timed race
def test_a_malformed_anchor_is_refused_and_nothing_is_checked(app):
    result = run_cli(app, "audit", "verify", "--anchor", "12")
    assert result.returncode == 2 and "is not an anchor: expected SEQ:HEAD" in result.stderr and not result.stdout
