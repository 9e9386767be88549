"""The status is checked in the write, not when the assessment is read: saves in flight while an
assessment is submitted or approved are refused and never land after it (SQLite and PostgreSQL),
every write path refuses a submitted or approved assessment even through an object read while it
was a draft, and separation of duties covers everyone who submitted the assessment.

Each thread uses its own test client, so each request has its own application context, session
and database connection, as concurrent requests of a server do.
"""

from __future__ import annotations

import io
import json
import random
import threading
import time
from collections.abc import Callable
from functools import partial

import pytest
from sqlalchemy import func, select, update

from assessment.extensions import db, report_store
from assessment.models import (
    Answer,
    Assessment,
    AuditEntry,
    Evidence,
    EvidenceLink,
    FrameworkVersion,
    ReviewFinding,
    Scope,
)
from assessment.services import assessments as svc
from assessment.services import audit, cycles, review
from assessment.services import evidence as evidence_svc
from assessment.services.assessments import LOCKED_MESSAGES
from assessment.services.errors import Conflict, Forbidden, Locked
from assessment.services.library import framework_of
from tests.integration.helpers import autosave, example_version, make_scope, start

CHANGES = ("answer.saved", "answer.confirmed", "evidence.linked", "evidence.unlinked")
HOLD = 0.8  # seconds a submission stays uncommitted while saves queue behind it


@pytest.fixture
def team(app, client):
    """A scope with alice on its team and the devops example framework: (scope id, version id)."""
    version = example_version(app)
    scope = make_scope(client)
    assert client.post(f"/scopes/{scope}/members", data={"username": "alice"}).status_code == 302
    return scope, version


def add_link(client, assessment: int, rid: str, url: str):
    return client.post(
        f"/assessments/{assessment}/requirements/{rid}/evidence",
        data={"url": url, "title": "Link"},
        headers={"X-Requested-With": "fetch"},
    )


def _trail(app, assessment: int) -> list:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEntry.seq, AuditEntry.action, AuditEntry.object_id, AuditEntry.before, AuditEntry.after)
            .where(AuditEntry.assessment_id == assessment)
            .order_by(AuditEntry.seq)
        ).all()
        db.session.remove()
    return rows


def _stored(app, assessment: int) -> tuple[dict, list]:
    """The assessment's answers (value, note) and evidence links, as the database holds them."""
    with app.app_context():
        answers = {
            r.requirement_id: (r.value, r.note)
            for r in db.session.execute(
                select(Answer.requirement_id, Answer.value, Answer.note).where(Answer.assessment_id == assessment)
            )
        }
        links = sorted(
            tuple(r)
            for r in db.session.execute(
                select(EvidenceLink.requirement_id, EvidenceLink.evidence_id).where(
                    EvidenceLink.assessment_id == assessment
                )
            )
        )
        db.session.remove()
    return answers, links


def _replayed(entries: list, until_seq: int) -> tuple[dict, list]:
    """The answers and links the trail records before entry `until_seq`."""
    answers: dict[str, dict] = {}
    links: list[tuple] = []
    for entry in entries:
        if entry.seq >= until_seq:
            break
        after = json.loads(entry.after) if entry.after else {}
        before = json.loads(entry.before) if entry.before else {}
        if entry.action == "answer.saved":
            rid = entry.object_id.split("/", 1)[1]
            answers.setdefault(rid, {"value": None, "note": None}).update(
                {k: v for k, v in after.items() if k in ("value", "note")}
            )
        elif entry.action == "evidence.linked":
            links.append((after["requirement"], after["evidence"]))
        elif entry.action == "evidence.unlinked":
            links.remove((before["requirement"], before["evidence"]))
    return {rid: (v["value"], v["note"]) for rid, v in answers.items()}, sorted(links)


def assert_frozen_from(app, assessment: int, action: str) -> None:
    """No change to answers or evidence is recorded after the first `action` entry, and the database
    holds exactly the answers and links the trail had when it was written."""
    entries = _trail(app, assessment)
    frozen_at = next(e.seq for e in entries if e.action == action)
    late = [(e.seq, e.action, e.object_id) for e in entries if e.seq > frozen_at and e.action in CHANGES]
    assert not late, f"changes recorded after {action} (entry {frozen_at}): {late}"
    assert _stored(app, assessment) == _replayed(entries, frozen_at)


def _in_threads(calls: list[Callable]) -> Callable[[], list]:
    """Start each call in its own thread; the function returned waits for them and gives their results."""
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable) -> None:
        try:
            results[index] = call()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()

    def join() -> list:
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a save never finished"
        if errors:
            raise errors[0]
        return results

    return join


# --- saves queued behind a submission that is not yet committed ---------------------------------


@pytest.mark.slow  # a console-script process or a timed race
def test_saves_in_flight_behind_a_submission_and_an_approval_are_refused(app, client, as_user, team):
    """The window made wide on purpose: the submission holds its transaction open while saves that read
    a draft wait behind it; once it commits, every one of them is refused and none lands after it."""
    scope, version = team
    for round_ in range(3):
        assessment = start(client, scope, version, target="3")
        alice = [as_user("alice") for _ in range(3)]
        assert autosave(alice[0], assessment, "CI-02", "some").status_code == 200
        calls = [
            partial(autosave, alice[0], assessment, "CI-02", "most", revision=1),
            partial(autosave, alice[1], assessment, "CI-03", "yes"),
            partial(add_link, alice[2], assessment, "CI-01", f"https://wiki.example.com/late/{round_}"),
        ]
        with app.app_context():
            held = db.session.get(Assessment, assessment)
            with audit.acting_as("alice"):
                review.submit(held, "alice")
                db.session.flush()
            join = _in_threads(calls)
            time.sleep(HOLD)  # the saves have read a draft and now wait for the submission's locks
            db.session.commit()
            with audit.acting_as("lead"):
                review.approve(held, "lead")
                db.session.flush()
                time.sleep(HOLD / 4)
                db.session.commit()
            db.session.remove()
        responses = join()
        assert [r.status_code for r in responses] == [409, 409, 409], [r.get_data(as_text=True) for r in responses]
        assert all(r.json["error"] in LOCKED_MESSAGES.values() for r in responses), [r.json for r in responses]
        assert_frozen_from(app, assessment, "assessment.submitted")


# --- autosaves racing a lead who submits and approves --------------------------------------------


def _keep_saving(client, assessment: int, rid: str, stop: threading.Event) -> int:
    """Autosave one answer, a new note each time, until the assessment is locked or `stop`; returns saves."""
    revision = saved = 0
    while not stop.is_set():
        value = str(saved + 1) if rid == "DEP-02" else "yes" if rid != "CI-02" else ("some", "most")[saved % 2]
        response = autosave(client, assessment, rid, value, revision=revision, note=f"save {saved + 1}")
        if response.status_code == 200:
            revision, saved = response.json["revision"], saved + 1
        elif response.status_code == 409 and response.json.get("outcome") == "conflict":
            revision = response.json["revision"]
        else:
            assert response.status_code == 409 and "error" in response.json, response.get_data(as_text=True)
            break  # locked: it was submitted
    return saved


def _keep_linking(client, assessment: int, rid: str, stop: threading.Event) -> int:
    """Add links as evidence until the assessment is locked or `stop`; returns how many were added."""
    added = 0
    while not stop.is_set():
        response = add_link(client, assessment, rid, f"https://wiki.example.com/{assessment}/{added}")
        if response.status_code != 302:
            assert response.status_code == 409, response.get_data(as_text=True)
            break
        added += 1
    return added


@pytest.mark.slow  # a console-script process or a timed race
def test_autosaves_racing_submit_and_approve_never_land_after_them(app, client, as_user, team):
    """Many rounds of autosaves and evidence links in flight while alice submits and the lead approves
    at once: after each status change, no answer or evidence changes."""
    scope, version = team
    rng = random.Random(12)
    deadline = time.monotonic() + 120
    rounds = 0
    while rounds < 20 and time.monotonic() < deadline:
        assessment = start(client, scope, version, target="3")
        stop = threading.Event()
        workers = [
            partial(_keep_saving, as_user("alice"), assessment, rid, stop) for rid in ("CI-02", "CI-03", "DEP-02")
        ]
        workers.append(partial(_keep_linking, as_user("alice"), assessment, "CI-01", stop))
        submitter, lead = as_user("alice"), as_user("lead")
        join = _in_threads(workers)
        time.sleep(rng.uniform(0.01, 0.08))
        assert submitter.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
        assert lead.post(f"/assessments/{assessment}/approve", data={"confirm": "1"}).status_code == 302
        time.sleep(0.05)
        stop.set()
        join()
        assert_frozen_from(app, assessment, "assessment.submitted")
        assert_frozen_from(app, assessment, "assessment.approved")
        rounds += 1
    assert rounds >= 10


# --- every write path, given an object read while the assessment was a draft ---------------------


@pytest.fixture
def answered(app, client, team) -> tuple[int, int]:
    """A draft with answers to CI-01 (a link as evidence) and CI-02: (assessment id, evidence id)."""
    scope, version = team
    assessment = start(client, scope, version, target="3")
    assert autosave(client, assessment, "CI-01", "yes").status_code == 200
    assert autosave(client, assessment, "CI-02", "some").status_code == 200
    assert add_link(client, assessment, "CI-01", "https://wiki.example.com/pipeline").status_code == 302
    with app.app_context():
        evidence_id = db.session.scalar(
            select(EvidenceLink.evidence_id).where(EvidenceLink.assessment_id == assessment)
        )
    return assessment, evidence_id


def _everything(app, assessment: int) -> tuple:
    """What any write to the assessment would change: its row, answers, links, evidence, findings, trail."""
    with app.app_context():
        row = db.session.get(Assessment, assessment)
        answers = db.session.execute(
            select(Answer.requirement_id, Answer.value, Answer.note, Answer.revision, Answer.carried_over)
            .where(Answer.assessment_id == assessment)
            .order_by(Answer.requirement_id)
        ).all()
        counts = tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (EvidenceLink, Evidence, ReviewFinding, AuditEntry)
        )
        result = (
            row.status,
            row.updated_at,
            row.submitted_by,
            row.approved_by,
            row.review_comment,
            tuple(tuple(a) for a in answers),
            _stored(app, assessment)[1],
            counts,
        )
        db.session.remove()
    return result


def _move_to(app, assessment: int, status: str, carry: bool = False) -> None:
    """Another request (its own context and session) submits, approves or returns the assessment;
    with `carry`, CI-02 then looks carried over from a last cycle, so confirming it would change something."""
    with app.app_context():
        row = db.session.get(Assessment, assessment)
        with audit.acting_as("alice"):
            review.submit(row, "alice")
        if status == "approved":
            with audit.acting_as("lead"):
                review.approve(row, "lead")
        elif status == "returned":
            with audit.acting_as("lead"):
                review.return_for_changes(row, "lead", "Attach the Q3 review")
        if carry:
            db.session.execute(
                update(Answer)
                .where(Answer.assessment_id == assessment, Answer.requirement_id == "CI-02")
                .values(carried_over=True)
            )
        db.session.commit()
        db.session.remove()


def _store(app):
    return report_store(app).evidence


EDITS: dict[str, Callable] = {
    "save a new answer": lambda app, a, f, e: svc.save_answer(a, f, "CI-03", "yes", None, 0, "alice"),
    "change an answer": lambda app, a, f, e: svc.save_answer(a, f, "CI-01", "no", "late", 1, "alice"),
    "confirm a carried-over answer": lambda app, a, f, e: cycles.confirm(a, ["CI-02"], "alice"),
    "save a carried-over answer as it stands": lambda app, a, f, e: svc.save_answer(
        a, f, "CI-02", "some", None, 1, "alice"
    ),
    "add a link": lambda app, a, f, e: evidence_svc.add_link(
        a, "CI-02", "https://wiki.example.com/x", "X", None, None, "alice"
    ),
    "add a file": lambda app, a, f, e: evidence_svc.add_file(
        _store(app), a, "CI-02", io.BytesIO(b"%PDF-1.4\n%late\n"), "late.pdf", "Late", None, None, "alice"
    ),
    "reuse evidence": lambda app, a, f, e: evidence_svc.reuse(a, "CI-02", e),
    "unlink evidence": lambda app, a, f, e: evidence_svc.unlink(a, "CI-01", e),
}


@pytest.mark.parametrize("status", ["submitted", "approved"])
@pytest.mark.parametrize("edit", list(EDITS))
def test_every_write_path_refuses_a_locked_assessment_read_as_a_draft(app, answered, edit, status):
    """The request read a draft; the assessment was submitted (or approved) before it wrote. The write
    is refused with Locked and, even if its transaction were committed, nothing has changed."""
    assessment, evidence_id = answered
    with app.app_context():
        stale = db.session.get(Assessment, assessment)
        framework = framework_of(stale.framework_version)
        assert stale.status == "draft"
        _move_to(app, assessment, status, carry=True)
        frozen = _everything(app, assessment)
        with audit.acting_as("alice"), pytest.raises(Locked) as refused:
            EDITS[edit](app, stale, framework, evidence_id)
        assert ("submitted for review" if status == "submitted" else "approved and locked") in refused.value.message
        db.session.commit()  # whatever the service wrote before refusing would be kept now
        db.session.remove()
    assert _everything(app, assessment) == frozen


TRANSITIONS: dict[str, tuple[str, str, Callable]] = {
    # name: (status as read, status meanwhile, the call)
    "submit again": ("draft", "submitted", lambda a: review.submit(a, "bob")),
    "approve twice": ("submitted", "approved", lambda a: review.approve(a, "admin")),
    "return an approved one": ("submitted", "approved", lambda a: review.return_for_changes(a, "admin", "Redo it")),
    "approve a returned one": ("submitted", "returned", lambda a: review.approve(a, "admin")),
    "finding on a returned one": (
        "submitted",
        "returned",
        lambda a: review.record_finding(a, "CI-01", "audrey", "finding", "major", "No sign-off"),
    ),
}


@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_status_changes_and_findings_check_the_status_they_change(app, answered, name):
    """A status change (or a finding) decided on a status read earlier is refused once another request
    changed it, and changes nothing."""
    assessment, _ = answered
    read_as, meanwhile, call = TRANSITIONS[name]
    if read_as == "submitted":
        _move_to(app, assessment, "submitted")
    with app.app_context():
        stale = db.session.get(Assessment, assessment)
        assert stale.status == read_as
        if read_as == "draft":
            _move_to(app, assessment, meanwhile)
        else:
            with app.app_context():
                row = db.session.get(Assessment, assessment)
                with audit.acting_as("lead"):
                    if meanwhile == "approved":
                        review.approve(row, "lead")
                    else:
                        review.return_for_changes(row, "lead", "Attach the Q3 review")
                db.session.commit()
                db.session.remove()
        frozen = _everything(app, assessment)
        with pytest.raises(Conflict):
            call(stale)
        db.session.commit()
        db.session.remove()
    assert _everything(app, assessment) == frozen


# --- separation of duties -------------------------------------------------------------------------


def test_nobody_who_submitted_the_assessment_may_approve_it(app, team):
    """alice submitted, the lead returned it, bob submitted it again: neither may approve, the lead may."""
    scope, version = team
    with app.app_context():
        assessment = svc.start_assessment(
            db.session.get(Scope, scope), db.session.get(FrameworkVersion, version), 3, None
        )
        review.submit(assessment, "alice")
        review.return_for_changes(assessment, "lead", "Attach the Q3 review")
        review.submit(assessment, "bob")
        db.session.commit()
        for submitter in ("alice", "bob"):
            with pytest.raises(Forbidden, match="separation of duties"):
                review.approve(assessment, submitter)
            db.session.rollback()
        assert db.session.get(Assessment, assessment.id).status == "submitted"
        review.approve(assessment, "lead")
        db.session.commit()
        assert (assessment.status, assessment.approved_by) == ("approved", "lead")
        db.session.remove()


def test_an_admin_who_submitted_before_a_return_cannot_approve_on_the_web(app, client, as_user, team):
    """The admin (who may submit and approve) submitted; it was returned and alice submitted it again."""
    scope, version = team
    assessment = start(client, scope, version, target="3")
    assert client.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    lead, alice = as_user("lead"), as_user("alice")
    assert (
        lead.post(
            f"/assessments/{assessment}/return", data={"confirm": "1", "comment": "Attach the Q3 review"}
        ).status_code
        == 302
    )
    assert alice.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    response = client.post(f"/assessments/{assessment}/approve", data={"confirm": "1"})
    assert response.status_code == 403 and "separation of duties" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Assessment, assessment).status == "submitted"
    assert lead.post(f"/assessments/{assessment}/approve", data={"confirm": "1"}).status_code == 302
