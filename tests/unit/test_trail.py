"""The audit trail's hash chain, on plain values: any edit, deletion or reordering is found."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from assessment.domain.trail import GENESIS, canonical_json, entry_hash, verify_chain


def chain(n: int) -> list[dict]:
    entries, prev = [], GENESIS
    for seq in range(1, n + 1):
        fields = {
            "seq": seq,
            "at": f"2026-11-22T10:00:{seq:02d}.000000+00:00",
            "actor": "alice",
            "action": "answer.saved",
            "object_type": "answer",
            "object_id": f"1/CI-{seq:02d}",
            "scope_id": 1,
            "assessment_id": 1,
            "before": canonical_json({"value": "no"}),
            "after": canonical_json({"value": "yes", "note": "Seen ✓"}),
        }
        digest = entry_hash(fields, prev)
        entries.append({**fields, "id": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    return entries


def test_an_intact_chain_verifies():
    verdict = verify_chain(chain(5))
    assert verdict.ok and verdict.count == 5 and verdict.head == chain(5)[-1]["hash"]
    assert verify_chain([]).ok and verify_chain([]).head == GENESIS


def test_canonical_json_ignores_key_order():
    assert canonical_json({"b": 1, "a": [1, "x"]}) == canonical_json({"a": [1, "x"], "b": 1}) == '{"a":[1,"x"],"b":1}'
    assert canonical_json(None) is None


@given(
    st.integers(min_value=0, max_value=5), st.sampled_from(["at", "actor", "action", "object_id", "before", "after"])
)
def test_editing_any_field_of_any_entry_names_that_entry(index, name):
    entries = chain(6)
    entries[index] = {**entries[index], name: (entries[index][name] or "") + "x"}
    verdict = verify_chain(entries)
    assert not verdict.ok and verdict.broken.seq == index + 1 and "altered" in verdict.broken.reason


@given(st.integers(min_value=0, max_value=4))
def test_deleting_an_entry_names_the_gap(index):
    entries = chain(6)
    del entries[index]
    verdict = verify_chain(entries)
    assert not verdict.ok and verdict.broken.seq == index + 2 and "missing" in verdict.broken.reason


def test_recomputing_one_hash_after_an_edit_still_breaks_the_next_link():
    entries = chain(4)
    forged = {**entries[1], "after": canonical_json({"value": "forged"})}
    forged["hash"] = entry_hash(forged, forged["prev_hash"])
    entries[1] = forged
    verdict = verify_chain(entries)
    assert verdict.broken.seq == 3 and "previous-hash" in verdict.broken.reason


def test_verdict_is_a_plain_value():
    assert dataclasses.is_dataclass(verify_chain(chain(1)))
