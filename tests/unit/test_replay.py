"""The as-of replay as a pure function: trail entries written as the services write them replay to the state they left."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.domain import values
from assessment.readmodels.history import replay_entries
from assessment.services.audit import changes
from tests.conftest import tries

REQUIREMENTS = ("CI-01", "CI-02", "DEP-02")
VALUES = st.one_of(
    st.none(),
    st.sampled_from(["yes", "no", "na", "all"]),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("save"), st.sampled_from(REQUIREMENTS), VALUES, st.sampled_from([None, "a note", "other"])),
        st.tuples(st.just("link"), st.sampled_from(REQUIREMENTS), st.integers(1, 4)),
        st.tuples(st.just("unlink"), st.sampled_from(REQUIREMENTS), st.integers(1, 4)),
        st.tuples(st.just("status"), st.sampled_from(["submitted", "returned", "approved", "draft"])),
    ),
    max_size=30,
)
# assessment.started as start_assessment writes it (the replay reads only its status, but parses all of it)
STARTED = {
    "framework": "devops-delivery",
    "version": "2026.1",
    "framework_version_id": 1,
    "target_level": 3,
    "as_of": "2026-11-21",
    "status": "draft",
}


def run(steps):
    """The stored state the steps leave, and the trail entries the services write for them."""
    rows: dict[str, dict] = {}
    links: dict[str, list[int]] = {}
    status = "draft"
    entries = [("assessment.started", "1", None, STARTED)]
    for step in steps:
        if step[0] == "save":
            _, rid, value, note = step
            new = {"value": values.encode(value), "note": note}
            if rid not in rows:
                if new == {"value": None, "note": None}:
                    continue  # saving nothing over nothing writes nothing
                entries.append(("answer.saved", f"1/{rid}", None, new))
            elif rows[rid] != new:
                entries.append(("answer.saved", f"1/{rid}", *changes(rows[rid], new)))
            rows[rid] = new
        elif step[0] == "link":
            _, rid, evidence = step
            if evidence not in links.get(rid, []):
                links.setdefault(rid, []).append(evidence)
                entries.append(
                    ("evidence.linked", f"1/{rid}/{evidence}", None, {"requirement": rid, "evidence": evidence})
                )
        elif step[0] == "unlink":
            _, rid, evidence = step
            if evidence in links.get(rid, []):
                links[rid].remove(evidence)
                entries.append(
                    ("evidence.unlinked", f"1/{rid}/{evidence}", {"requirement": rid, "evidence": evidence}, None)
                )
        else:
            entries.append((f"assessment.{step[1]}", "1", {"status": status}, {"status": step[1]}))
            status = step[1]
    return rows, links, status, entries


@settings(max_examples=tries(300), deadline=None)
@given(STEPS)
def test_replaying_the_trail_gives_the_stored_state(steps):
    rows, links, status, entries = run(steps)
    replayed = replay_entries(entries)
    assert replayed.values == rows
    assert {k: v for k, v in replayed.links.items() if v} == {k: v for k, v in links.items() if v}
    assert replayed.status == status


@settings(max_examples=tries(100), deadline=None)
@given(STEPS, STEPS)
def test_replaying_a_prefix_then_the_rest_is_replaying_everything(first, second):
    entries = run(first + second)[3]
    cut = len(run(first)[3])
    assert entries[:cut] == run(first)[3]
    assert replay_entries(entries[:cut]).values == run(first)[0]  # the end of an earlier day: what stood then


def test_entries_of_other_kinds_change_nothing():
    state = replay_entries([("report.downloaded", "x", None, {"kind": "pdf"}), ("export.downloaded", "1/a", None, {})])
    assert (state.values, state.links, state.status) == ({}, {}, "draft")
