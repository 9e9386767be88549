"""The trail's typed events: every event survives its payload and back, the payloads are the form the
writers have always stored, and a payload in another form is refused with a message naming what is wrong."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.domain import events
from assessment.domain.events import (
    UNCHANGED,
    AnswerSaved,
    AssessmentStarted,
    EvidenceLinked,
    EvidenceUnlinked,
    StatusChanged,
    UnreadableEntry,
)
from assessment.domain.trail import canonical_json
from tests.conftest import tries

TEXTS = st.one_of(st.none(), st.text(max_size=20))
IDS = st.integers(1, 2**31 - 1)
REQUIREMENTS = st.from_regex(r"[A-Z]{2,4}-[0-9]{2}", fullmatch=True)
STATUSES = st.sampled_from(["draft", "submitted", "approved", "returned"])
MAYBE = st.one_of(st.just(UNCHANGED), TEXTS)

ANSWERS = st.one_of(
    st.builds(
        AnswerSaved,
        REQUIREMENTS,
        TEXTS,
        TEXTS,
        carried_from=st.one_of(st.none(), IDS),
        imported=st.booleans(),
    ),
    st.builds(AnswerSaved, REQUIREMENTS, MAYBE, MAYBE, first=st.just(False), was_value=MAYBE, was_note=MAYBE),
)
EVENTS = st.one_of(
    ANSWERS,
    st.builds(
        EvidenceLinked, REQUIREMENTS, IDS, st.one_of(st.none(), st.text(max_size=20)), carried_over=st.booleans()
    ),
    st.builds(EvidenceUnlinked, REQUIREMENTS, IDS),
    st.builds(
        AssessmentStarted,
        st.text(min_size=1, max_size=20),
        st.text(min_size=1, max_size=10),
        IDS,
        st.one_of(st.none(), st.integers(0, 5)),
        st.dates().map(lambda d: d.isoformat()),
        STATUSES,
    ),
    st.builds(
        StatusChanged,
        STATUSES,
        STATUSES,
        approved_by=st.one_of(st.none(), st.text(min_size=1, max_size=10)),
        comment=st.one_of(st.none(), st.text(min_size=1, max_size=30)),
        demo=st.booleans(),
    ),
)


@settings(max_examples=tries(500), deadline=None)
@given(EVENTS, IDS)
def test_every_event_survives_its_payload_and_back(event, assessment_id):
    before, after = event.to_payload()
    assert events.from_entry(event.action, event.object_id(assessment_id), before, after) == event


@settings(max_examples=tries(300), deadline=None)
@given(EVENTS, IDS)
def test_the_stored_json_parses_to_the_same_event(event, assessment_id):
    import json

    before, after = (canonical_json(p) for p in event.to_payload())
    parsed = events.from_entry(
        event.action, event.object_id(assessment_id), before and json.loads(before), after and json.loads(after)
    )
    assert parsed == event


def payload(event) -> tuple[str | None, str | None]:
    return tuple(canonical_json(p) for p in event.to_payload())


# Written from the writers before they built events (tests/integration/test_trail_events.py checks the
# services still store these): the same bytes, so the hash chain's form and older trails are unchanged.
TODAY = [
    (AnswerSaved.of("CI-02", "all", "a note"), "answer.saved", "7/CI-02", None, '{"note":"a note","value":"all"}'),
    (
        AnswerSaved.of("CI-02", "some", "a note", ("all", "a note")),
        "answer.saved",
        "7/CI-02",
        '{"value":"all"}',
        '{"value":"some"}',
    ),
    (
        AnswerSaved.of("CI-02", "some", None, ("all", "a note")),
        "answer.saved",
        "7/CI-02",
        '{"note":"a note","value":"all"}',
        '{"note":null,"value":"some"}',
    ),
    (
        AnswerSaved.of("DEP-02", "0.00001", None, carried_from=3),
        "answer.saved",
        "7/DEP-02",
        None,
        '{"carried_over":true,"from":3,"note":null,"value":"0.00001"}',
    ),
    (
        AnswerSaved.of("CI-01", "yes", "é", imported=True),
        "answer.saved",
        "7/CI-01",
        None,
        '{"imported":true,"note":"é","value":"yes"}',
    ),
    (
        EvidenceLinked("CI-02", 12, "CI runs"),
        "evidence.linked",
        "7/CI-02/12",
        None,
        '{"evidence":12,"requirement":"CI-02","title":"CI runs"}',
    ),
    (
        EvidenceLinked("CI-02", 12, carried_over=True),
        "evidence.linked",
        "7/CI-02/12",
        None,
        '{"carried_over":true,"evidence":12,"requirement":"CI-02"}',
    ),
    (EvidenceUnlinked("CI-02", 12), "evidence.unlinked", "7/CI-02/12", '{"evidence":12,"requirement":"CI-02"}', None),
    (
        AssessmentStarted("devops-delivery", "2026.1", 9, 3, "2026-11-21"),
        "assessment.started",
        "7",
        None,
        '{"as_of":"2026-11-21","framework":"devops-delivery","framework_version_id":9,"status":"draft",'
        '"target_level":3,"version":"2026.1"}',
    ),
    (StatusChanged("draft", "submitted"), "assessment.submitted", "7", '{"status":"draft"}', '{"status":"submitted"}'),
    (
        StatusChanged("submitted", "approved", approved_by="lead"),
        "assessment.approved",
        "7",
        '{"status":"submitted"}',
        '{"approved_by":"lead","status":"approved"}',
    ),
    (
        StatusChanged("submitted", "returned", comment="Say more."),
        "assessment.returned",
        "7",
        '{"status":"submitted"}',
        '{"comment":"Say more.","status":"returned"}',
    ),
    (
        StatusChanged("draft", "approved", approved_by="lead", demo=True),
        "assessment.approved",
        "7",
        '{"status":"draft"}',
        '{"approved_by":"lead","demo":true,"status":"approved"}',
    ),
]


@pytest.mark.parametrize(("event", "action", "object_id", "before", "after"), TODAY)
def test_the_payloads_are_the_writers_form_byte_for_byte(event, action, object_id, before, after):
    assert (event.action, event.object_id(7)) == (action, object_id)
    assert payload(event) == (before, after)


def test_actions_the_replay_does_not_read_are_no_events():
    assert events.from_entry("finding.recorded", "7/CI-02/amy", None, {"verdict": "ok"}) is None
    assert events.from_entry("assessment.shared", "7", None, {"auditor": "amy"}) is None
    assert events.from_entry("assessment.next_cycle", "7", None, {"previous": 3}) is None


@pytest.mark.parametrize(
    ("action", "object_id", "before", "after", "message"),
    [
        ("answer.saved", "7/CI-02", None, {"value": 3}, "after.value is 3, not a text or null"),
        ("answer.saved", "7/CI-02", None, ["yes"], "after is ['yes'], not an object"),
        ("answer.saved", "7/CI-02", None, {"value": "yes", "colour": "red"}, "unknown field 'colour'"),
        ("answer.saved", "CI-02", None, {"value": "yes"}, "not the form ASSESSMENT/REQUIREMENT"),
        ("answer.saved", "7/CI-02", None, {"value": "yes", "from": 3}, "'carried_over' and 'from'"),
        ("evidence.linked", "7/CI-02/1", None, {"requirement": "CI-02"}, "lacks the field 'evidence'"),
        ("evidence.linked", "7/CI-02/1", None, {"requirement": "CI-02", "evidence": "1"}, "after.evidence is '1'"),
        ("evidence.linked", "7/CI-02/1", None, {"requirement": "CI-02", "evidence": True}, "not an id"),
        ("evidence.unlinked", "7/CI-02/1", None, None, "before is None, not an object"),
        ("assessment.approved", "7", None, {"status": "approved"}, "before is None"),
        ("assessment.approved", "7", {"status": "submitted"}, {"status": "draft"}, "the action is"),
        ("assessment.started", "7", None, {"status": "draft"}, "lacks the field 'as_of'"),
    ],
)
def test_a_payload_in_another_form_is_refused_with_what_is_wrong(action, object_id, before, after, message):
    with pytest.raises(UnreadableEntry, match=re.escape(message)):
        events.from_entry(action, object_id, before, after)
