"""The audit trail's hash chain, as plain functions over plain values.

Each entry's hash is the SHA-256 of a canonical JSON document holding every field of the entry
and the previous entry's hash. Editing a field changes that entry's hash; deleting an entry
leaves a gap in the sequence and a `prev_hash` that no longer matches. Verification walks the
trail once, in sequence order, and names the first entry where either breaks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

# The fields an entry's hash covers, besides the previous hash.
FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "scope_id",
    "assessment_id",
    "before",
    "after",
)


def canonical_json(value: Any) -> str | None:
    """The one textual form of a before/after value: sorted keys, no spaces, dates as ISO text."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(fields: dict[str, Any], prev_hash: str) -> str:
    """The hash of an entry: its fields (strings and integers) chained to the previous hash."""
    document = {name: fields.get(name) for name in FIELDS}
    document["prev_hash"] = prev_hash
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


@dataclass(frozen=True)
class Break:
    """Where the chain first fails, and why."""

    seq: int
    entry_id: int | None
    reason: str


@dataclass(frozen=True)
class Verdict:
    """The result of walking the trail: how many entries, the last hash, and the first break."""

    count: int
    head: str
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_chain(entries: Iterable[dict[str, Any]]) -> Verdict:
    """Walk entries in sequence order; each is a mapping with FIELDS, `id`, `prev_hash` and `hash`."""
    expected_seq, prev, count = 1, GENESIS, 0
    for entry in entries:
        seq = entry["seq"]
        where = {"seq": seq, "entry_id": entry.get("id")}
        if seq != expected_seq:
            missing = f"entry {expected_seq}" if seq == expected_seq + 1 else f"entries {expected_seq} to {seq - 1}"
            return Verdict(count, prev, Break(reason=f"{missing} missing: the sequence jumps to {seq}", **where))
        if entry["prev_hash"] != prev:
            return Verdict(count, prev, Break(reason="its previous-hash does not match the entry before it", **where))
        if entry_hash(entry, entry["prev_hash"]) != entry["hash"]:
            return Verdict(count, prev, Break(reason="its content does not match its hash (altered)", **where))
        prev, expected_seq, count = entry["hash"], seq + 1, count + 1
    return Verdict(count, prev, None)
