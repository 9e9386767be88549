"""The audit trail's hash chain, on plain values: any edit, deletion or reordering is found."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assessment.domain.trail import (
    GENESIS,
    Anchor,
    Break,
    canonical_json,
    checkpoint_line,
    entry_hash,
    entry_mac,
    parse_anchor,
    parse_checkpoint,
    verify_chain,
)


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


# --- the keyed chain and its anchors ------------------------------------------------------------

KEY = b"k" * 32


def keyed(n: int, key: bytes = KEY, legacy: int = 0) -> list[dict]:
    """A chain of n entries whose entries after the first `legacy` ones carry their MAC under `key`."""
    return [{**e, "mac": entry_mac(key, e["hash"]) if e["seq"] > legacy else None} for e in chain(n)]


def rehashed(entries: list[dict], index: int, **change) -> list[dict]:
    """An attacker's rewrite: change one entry and recompute every later public hash, MACs left as they were."""
    out, prev = [dict(e) for e in entries[:index]], entries[index]["prev_hash"]
    for position, entry in enumerate(entries[index:]):
        entry = {**entry, **(change if position == 0 else {}), "prev_hash": prev}
        entry["hash"] = entry_hash(entry, prev)
        out.append(entry)
        prev = entry["hash"]
    return out


def test_a_keyed_chain_verifies_and_its_mac_depends_on_the_key():
    assert verify_chain(keyed(5), key=KEY).ok
    assert entry_mac(KEY, GENESIS) != entry_mac(b"j" * 32, GENESIS) and len(entry_mac(KEY, GENESIS)) == 64


@given(st.integers(min_value=0, max_value=5))
def test_a_rewrite_with_recomputed_public_hashes_names_the_rewritten_entry(index):
    entries = rehashed(keyed(6), index, after=canonical_json({"value": "forged"}))
    assert verify_chain([{k: v for k, v in e.items() if k != "mac"} for e in entries]).ok  # the public chain: blind
    verdict = verify_chain(entries, key=KEY)
    assert (
        verdict.broken.seq == index + 1
        and verdict.broken.check == "mac"
        and "MAC does not match" in (verdict.broken.reason)
    )


def test_a_rewrite_of_an_entry_from_before_the_key_is_found_at_the_first_keyed_entry():
    entries = rehashed(keyed(6, legacy=3), 1, actor="mallory")
    verdict = verify_chain(entries, key=KEY, first_keyed=4)
    assert verdict.broken.seq == 4 and verdict.broken.check == "mac"


def test_stripping_macs_is_named_against_the_recorded_first_keyed_entry_and_the_rule_once_keyed_always():
    stripped = [{**e, "mac": None} for e in keyed(6)]
    verdict = verify_chain(stripped, key=KEY, first_keyed=1)
    assert verdict.broken.seq == 1 and verdict.broken.check == "mac" and "missing" in verdict.broken.reason
    assert verify_chain(stripped, key=KEY).ok  # without a record of the first keyed entry: looks pre-key
    partly = keyed(6)
    partly[4] = {**partly[4], "mac": None}
    assert verify_chain(partly, key=KEY).broken.seq == 5  # an entry without a MAC after one with it
    assert verify_chain(keyed(6, legacy=2), key=KEY, first_keyed=3).ok


def test_another_key_or_no_key_is_named():
    assert verify_chain(keyed(3), key=b"j" * 32).broken.check == "mac"
    verdict = verify_chain(keyed(3))
    assert verdict.broken.seq == 1 and verdict.broken.check == "key" and "no trail key" in verdict.broken.reason


def test_a_deleted_tail_is_named_against_an_anchor():
    entries = keyed(8)
    anchor = parse_anchor(f"8:{entries[-1]['hash']}", "the report")
    assert verify_chain(entries, key=KEY, anchors=[anchor]).ok
    verdict = verify_chain(entries[:5], key=KEY, anchors=[anchor])
    assert verdict.broken == Break(
        6,
        None,
        "entries 6 to 8 missing: the trail ends at entry 5, but the report recorded 8 entries "
        "(its last entries were deleted)",
        "tail",
    )
    assert verify_chain(entries[:7], key=KEY, anchors=[anchor]).broken.reason.startswith("entry 8 missing")
    assert verify_chain([], anchors=[anchor]).broken.seq == 1


def test_an_anchor_whose_entry_has_another_hash_names_that_entry():
    entries = keyed(5)
    anchor = Anchor(3, entries[1]["hash"], 3, "the anchor given")
    verdict = verify_chain(entries, key=KEY, anchors=[anchor])
    assert verdict.broken.seq == 3 and verdict.broken.check == "anchor"
    # a rewrite by someone holding the key, MACs recomputed too: only an anchor kept elsewhere sees it
    forged = [{**e, "mac": entry_mac(KEY, e["hash"])} for e in rehashed(entries, 1, actor="mallory")]
    assert verify_chain(forged, key=KEY).ok
    old_head = Anchor(5, entries[-1]["hash"], 5, "the report")
    assert verify_chain(forged, key=KEY, anchors=[old_head]).broken.seq == 5


@pytest.mark.parametrize(
    "text",
    ["", "12", "x:" + "a" * 64, "0:" + "a" * 64, "3:" + "a" * 63, "3:" + "g" * 64, "-1:" + "a" * 64, "3 " + "a" * 64],
)
def test_a_malformed_anchor_is_refused_with_a_reason(text):
    with pytest.raises(ValueError, match="is not an anchor"):
        parse_anchor(text)


def test_parse_anchor_reads_the_printed_form():
    assert parse_anchor(" 12:" + "AB" * 32 + "\n").text == "12:" + "ab" * 32


def test_a_checkpoint_line_round_trips_and_a_forged_one_is_named():
    anchor = Anchor(7, "ab" * 32, 7, at="2026-12-01T00:00:00.000000+00:00", first_keyed=3)
    line = checkpoint_line(KEY, anchor)
    assert line.endswith("}\n") and line.count("\n") == 1
    read = parse_checkpoint(line, KEY, "line 1")
    assert (read.seq, read.head, read.count, read.first_keyed, read.source) == (7, "ab" * 32, 7, 3, "line 1")
    forged = line.replace('"count":7', '"count":9').replace('"seq":7', '"seq":9')
    with pytest.raises(ValueError, match="line 2: its signature does not match"):
        parse_checkpoint(forged, KEY, "line 2")
    with pytest.raises(ValueError, match="signature does not match"):
        parse_checkpoint(line, b"j" * 32, "line 1")
    with pytest.raises(ValueError, match="not a checkpoint"):
        parse_checkpoint(line[:40], KEY, "line 3")
    with pytest.raises(ValueError, match="wrong type"):
        parse_checkpoint(line.replace('"count":7', '"count":8'), KEY, "line 4")
