"""/api/v1 answers: read all, write one, write many in one all-or-nothing PATCH, and the export zip.

Against the real app and database: the same revision check as the questionnaire (409 with both versions),
every error of a PATCH in one 422 with its pointer and nothing saved, every conflict in one 409 and nothing
saved, one trail entry per changed answer with the token's owner as actor, the web's role rules.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import event, func, select, update

from assessment.extensions import db
from assessment.models import Answer, Assessment, AuditEntry, Scope
from assessment.services import review
from tests.integration.helpers import autosave
from tests.integration.test_api import token_for


@pytest.fixture
def team(app, devops):
    """The devops assessment with alice on its scope's team and shared with audrey: (assessment id, scope id)."""
    assessment, scope = devops
    with app.app_context():
        review.add_member(db.session.get(Scope, scope), "alice")
        review.share(db.session.get(Assessment, assessment), "audrey", "lead")
        db.session.commit()
    return assessment, scope


def _stored(app, assessment: int) -> dict:
    with app.app_context():
        rows = db.session.execute(
            select(Answer.requirement_id, Answer.value, Answer.note, Answer.revision).where(
                Answer.assessment_id == assessment
            )
        ).all()
        db.session.remove()
    return {r.requirement_id: (r.value, r.note, r.revision) for r in rows}


def _trail(app, since: int = 0) -> list[tuple[str, str, str]]:
    with app.app_context():
        entries = db.session.execute(
            select(AuditEntry.action, AuditEntry.object_id, AuditEntry.actor)
            .where(AuditEntry.seq > since)
            .order_by(AuditEntry.seq)
        ).all()
        db.session.remove()
    return [tuple(e) for e in entries]


def _head(app) -> int:
    with app.app_context():
        seq = db.session.scalar(select(func.max(AuditEntry.seq))) or 0
        db.session.remove()
    return seq


def test_answers_read_in_the_framework_order_with_numbers_as_numbers(app, client, anonymous, team):
    assessment, _ = team
    assert autosave(client, assessment, "DEP-02", "36").status_code == 200
    assert autosave(client, assessment, "CI-01", "yes", note="Pipeline").status_code == 200
    response = anonymous.get(f"/api/v1/assessments/{assessment}/answers", headers=token_for(app, "audrey"))
    assert response.status_code == 200
    first, second = response.json
    assert first["requirement_id"] == "CI-01" and second["requirement_id"] == "DEP-02"
    assert (first["value"], first["note"], first["revision"], first["answered_by"]) == ("yes", "Pipeline", 1, "admin")
    assert second["value"] == 36 and first["carried_over"] is False and first["answered_at"]
    paged = anonymous.get(f"/api/v1/assessments/{assessment}/answers?limit=1", headers=token_for(app, "alice"))
    assert [a["requirement_id"] for a in paged.json] == ["CI-01"] and 'rel="next"' in paged.headers["Link"]
    too_many = anonymous.get(f"/api/v1/assessments/{assessment}/answers?limit=2001", headers=token_for(app, "alice"))
    assert too_many.status_code == 422 and too_many.json["errors"][0]["pointer"] == "/query/limit"


def test_put_saves_one_answer_and_a_stale_revision_gets_both_versions(app, anonymous, team):
    assessment, _ = team
    alice = token_for(app, "alice")
    url = f"/api/v1/assessments/{assessment}/answers/CI-02"
    head = _head(app)
    saved = anonymous.put(url, json={"value": "most", "note": "Most services", "revision": 0}, headers=alice)
    assert saved.status_code == 200, saved.json
    assert (saved.json["value"], saved.json["revision"], saved.json["answered_by"]) == ("most", 1, "alice")
    assert _trail(app, head) == [("answer.saved", f"{assessment}/CI-02", "alice")]
    number = anonymous.put(
        f"/api/v1/assessments/{assessment}/answers/DEP-02", json={"value": 12.5, "revision": 0}, headers=alice
    )
    assert number.status_code == 200 and number.json["value"] == 12.5
    # someone who read revision 0 too, and would overwrite alice's answer
    stale = anonymous.put(url, json={"value": "all", "revision": 0}, headers=token_for(app, "admin"))
    assert stale.status_code == 409 and stale.mimetype == "application/problem+json"
    assert stale.json["yours"] == {"value": "all", "note": None}
    assert stale.json["theirs"] == {"value": "most", "note": "Most services", "revision": 1, "answered_by": "alice"}
    assert _stored(app, assessment)["CI-02"] == ("most", "Most services", 1)
    bad = anonymous.put(url, json={"value": "always", "revision": 1}, headers=alice)
    assert bad.status_code == 422 and [e["pointer"] for e in bad.json["errors"]] == ["/value"]
    assert "always" in bad.json["errors"][0]["detail"]
    missing = anonymous.put(
        f"/api/v1/assessments/{assessment}/answers/NOPE-9", json={"value": "yes", "revision": 0}, headers=alice
    )
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_patch_saves_many_answers_in_one_request_with_a_trail_entry_each(app, anonymous, team):
    assessment, _ = team
    alice = token_for(app, "alice")
    url = f"/api/v1/assessments/{assessment}/answers"
    anonymous.put(f"{url}/CI-01", json={"value": "yes", "revision": 0}, headers=alice)
    head = _head(app)
    body = {
        "answers": {
            "DEP-02": {"value": 30, "revision": 0},
            "CI-01": {"value": "yes", "revision": 1},  # as it is: unchanged, no entry
            "CI-02": {"value": "some", "note": "Two services", "revision": 0},
            "OPS-02": {"value": "no", "revision": 0},
        }
    }
    response = anonymous.patch(url, json=body, headers=alice)
    assert response.status_code == 200, response.json
    assert response.json["saved"] == ["CI-02", "DEP-02", "OPS-02"] and response.json["unchanged"] == ["CI-01"]
    assert [a["requirement_id"] for a in response.json["answers"]] == ["CI-01", "CI-02", "DEP-02", "OPS-02"]
    assert response.json["answers"][2]["value"] == 30 and response.json["answers"][1]["revision"] == 1
    assert _trail(app, head) == [
        ("answer.saved", f"{assessment}/{rid}", "alice") for rid in ("CI-02", "DEP-02", "OPS-02")
    ]
    again = anonymous.patch(url, json={"answers": {"CI-02": {"value": "all", "revision": 1}}}, headers=alice)
    assert again.json["saved"] == ["CI-02"] and _stored(app, assessment)["CI-02"] == ("all", None, 2)


def test_patch_names_every_error_at_once_and_saves_nothing(app, anonymous, team):
    assessment, _ = team
    alice = token_for(app, "alice")
    before, head = _stored(app, assessment), _head(app)
    body = {
        "answers": {
            "CI-01": {"value": "yes", "revision": 0},  # valid, but not saved with the others refused
            "CI-02": {"value": "always", "revision": 0},
            "DEP-02": {"value": "soon", "revision": 0},
            "OPS-02": {"value": "na", "revision": 0},  # na is not allowed there
            "CI-03": {"value": "yes", "note": "x" * 20_001, "revision": 0},
            "DEP-01": {"value": "yes"},
            "DEP-03": {"value": True, "revision": "1"},
            "OPS-01": {"value": "yes", "revision": 4},  # never saved: no revision 4
            "NOPE-1": {"value": "yes", "revision": 0},
            "OPS-03": "yes",
        }
    }
    response = anonymous.patch(f"/api/v1/assessments/{assessment}/answers", json=body, headers=alice)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    pointers = {e["pointer"] for e in response.json["errors"]}
    assert pointers == {
        "/answers/CI-02/value",
        "/answers/DEP-02/value",
        "/answers/OPS-02/value",
        "/answers/CI-03/note",
        "/answers/DEP-01/revision",
        "/answers/DEP-03/value",
        "/answers/DEP-03/revision",
        "/answers/OPS-01/revision",
        "/answers/NOPE-1",
        "/answers/OPS-03",
    }, response.json
    assert _stored(app, assessment) == before and _trail(app, head) == []
    empty = anonymous.patch(f"/api/v1/assessments/{assessment}/answers", json={"answers": {}}, headers=alice)
    assert empty.status_code == 422 and empty.json["errors"][0]["pointer"] == "/answers"
    flood = {"answers": {f"X-{i}": {"value": "yes", "revision": 0} for i in range(5001)}}
    refused = anonymous.patch(f"/api/v1/assessments/{assessment}/answers", json=flood, headers=alice)
    assert refused.status_code == 422 and refused.json["errors"][0]["pointer"] == "/answers"


def test_patch_with_a_conflict_saves_nothing_and_gives_every_conflict(app, client, anonymous, team):
    assessment, _ = team
    alice = token_for(app, "alice")
    assert autosave(client, assessment, "CI-01", "no").status_code == 200
    assert autosave(client, assessment, "CI-02", "none", note="Nothing yet").status_code == 200
    before, head = _stored(app, assessment), _head(app)
    body = {
        "answers": {
            "CI-01": {"value": "yes", "revision": 0},
            "CI-02": {"value": "all", "revision": 0},
            "DEP-01": {"value": "yes", "revision": 0},  # would be saved, but the request is one change
        }
    }
    response = anonymous.patch(f"/api/v1/assessments/{assessment}/answers", json=body, headers=alice)
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert response.json["conflicts"] == [
        {
            "requirement_id": "CI-01",
            "yours": {"value": "yes", "note": None},
            "theirs": {"value": "no", "note": None, "revision": 1, "answered_by": "admin"},
        },
        {
            "requirement_id": "CI-02",
            "yours": {"value": "all", "note": None},
            "theirs": {"value": "none", "note": "Nothing yet", "revision": 1, "answered_by": "admin"},
        },
    ]
    assert _stored(app, assessment) == before and _trail(app, head) == []


def test_patch_confirms_a_carried_over_answer_sent_as_it_stands(app, anonymous, team):
    assessment, _ = team
    alice = token_for(app, "alice")
    url = f"/api/v1/assessments/{assessment}/answers"
    anonymous.put(f"{url}/CI-01", json={"value": "yes", "revision": 0}, headers=alice)
    with app.app_context():  # as the next cycle leaves an answer it carried over from the last one
        db.session.execute(update(Answer).where(Answer.requirement_id == "CI-01").values(carried_over=True))
        db.session.commit()
    head = _head(app)
    response = anonymous.patch(url, json={"answers": {"CI-01": {"value": "yes", "revision": 1}}}, headers=alice)
    assert response.status_code == 200 and response.json["saved"] == ["CI-01"]
    (answer,) = response.json["answers"]
    assert (answer["carried_over"], answer["revision"], answer["answered_by"]) == (False, 2, "alice")
    assert _trail(app, head) == [("answer.confirmed", f"{assessment}/CI-01", "alice")]


def test_a_patch_reads_and_writes_in_a_constant_number_of_statements(app, anonymous, team):
    assessment, _ = team
    alice = token_for(app, "alice")
    url = f"/api/v1/assessments/{assessment}/answers"
    counted: list[int] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        # the trail's entries are the ORM's to batch (one INSERT a row on SQLite, which cannot order RETURNING)
        if not statement.startswith("INSERT INTO audit_entry"):
            counted.append(1)

    def statements(body) -> int:
        counted.clear()
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                assert anonymous.patch(url, json=body, headers=alice).status_code == 200
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
        return len(counted)

    few = statements({"answers": {"CI-01": {"value": "yes", "revision": 0}}})
    ids = ["CI-02", "CI-03", "DEP-01", "DEP-03", "OPS-01", "OPS-02"]
    many = statements({"answers": {rid: {"value": "no" if rid != "CI-02" else "none", "revision": 0} for rid in ids}})
    assert many <= few, (few, many)  # not one more statement an answer (the first also records the token's use)


def test_who_may_read_and_write_answers(app, anonymous, team):
    assessment, _ = team
    url = f"/api/v1/assessments/{assessment}/answers"
    body = {"answers": {"CI-01": {"value": "yes", "revision": 0}}}
    read_only = token_for(app, "alice", read_only=True)
    assert anonymous.get(url, headers=read_only).status_code == 200
    for refused in (
        anonymous.patch(url, json=body, headers=read_only),
        anonymous.put(f"{url}/CI-01", json=body["answers"]["CI-01"], headers=read_only),
    ):
        assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    bob = token_for(app, "bob")  # a member of another scope: the assessment does not exist for him
    assert anonymous.get(url, headers=bob).status_code == 404
    assert anonymous.patch(url, json=body, headers=bob).status_code == 404
    audrey = token_for(app, "audrey")  # the auditor it is shared with reads, and may not answer
    assert anonymous.get(url, headers=audrey).status_code == 200
    assert anonymous.patch(url, json=body, headers=audrey).status_code == 403
    assert anonymous.put(f"{url}/CI-01", json=body["answers"]["CI-01"], headers=audrey).status_code == 403
    assert anonymous.get(url, headers=token_for(app, "otto")).status_code == 404  # not shared with him
    assert _stored(app, assessment) == {}


def test_a_submitted_assessment_refuses_answers_and_a_large_body_is_refused_unread(app, anonymous, team):
    assessment, _ = team
    alice = token_for(app, "alice")
    url = f"/api/v1/assessments/{assessment}/answers"
    app.config["API_JSON_MAX_BYTES"] = 1000
    big = anonymous.patch(
        url, json={"answers": {"CI-01": {"value": "yes", "note": "x" * 2000, "revision": 0}}}, headers=alice
    )
    assert (
        big.status_code == 413 and big.mimetype == "application/problem+json" and "fewer answers" in big.json["detail"]
    )
    del app.config["API_JSON_MAX_BYTES"]
    with app.app_context():
        review.submit(db.session.get(Assessment, assessment), "alice")
        db.session.commit()
    locked = anonymous.patch(url, json={"answers": {"CI-01": {"value": "yes", "revision": 0}}}, headers=alice)
    assert locked.status_code == 409 and "submitted" in locked.json["detail"]
    assert _stored(app, assessment) == {}


def test_the_export_is_the_web_export_zip_and_is_on_the_trail(app, client, anonymous, team):
    assessment, _ = team
    assert autosave(client, assessment, "CI-01", "yes").status_code == 200
    audrey = token_for(app, "audrey")
    head = _head(app)
    response = anonymous.get(f"/api/v1/assessments/{assessment}/export", headers=audrey)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert {"framework.yaml", "answers.yaml"} <= set(names)
    web = zipfile.ZipFile(io.BytesIO(client.get(f"/assessments/{assessment}/export.zip").data))
    assert web.read("answers.yaml") == zipfile.ZipFile(io.BytesIO(response.data)).read("answers.yaml")
    assert _trail(app, head) == [("assessment.exported", str(assessment), who) for who in ("audrey", "admin")]


def test_the_score_read_again_after_a_change_is_the_changed_score(app, client, anonymous, team):
    assessment, _ = team
    alice = token_for(app, "alice")
    url = f"/api/v1/assessments/{assessment}"
    first = anonymous.get(f"{url}/score", headers=alice)
    assert first.status_code == 200 and anonymous.get(f"{url}/score", headers=alice).json == first.json  # kept
    revision = 0
    for value in ("yes", "no", "yes"):  # within a second or two: updated_at alone would not tell them apart
        saved = anonymous.put(f"{url}/answers/CI-01", json={"value": value, "revision": revision}, headers=alice)
        revision = saved.json["revision"]
        score = anonymous.get(f"{url}/score", headers=alice)
        assert score.json == client.get(f"/assessments/{assessment}/export/score.json").json
    assert score.json != first.json
