"""The audit trail's hash chain, as plain functions over plain values.

Each entry's hash is the SHA-256 of a canonical JSON document holding every field of the entry
and the previous entry's hash. Editing a field changes that entry's hash; deleting an entry
leaves a gap in the sequence and a `prev_hash` that no longer matches. Verification walks the
trail once, in sequence order, and names the first entry where either breaks.

Anyone can compute those hashes, so they alone cannot tell a rewrite whose later hashes were
recomputed, nor a trail whose last entries were deleted. Two things kept outside the database do:

- a key (the caller passes it in): each entry also carries `mac`, the HMAC-SHA256 of its hash
  under the key. A rewrite without the key leaves a MAC that no longer matches. Entries written
  before the trail was keyed have no MAC; from the first keyed entry on, every entry must have one;
- anchors: a (sequence number, head hash) pair taken at some moment, from a signed checkpoint line
  (also under the key) or printed in a report. The entry at that number must still have that hash,
  and the trail must reach at least that far: a deleted tail is found back to the latest anchor.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
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


def entry_mac(key: bytes, digest: str) -> str:
    """The keyed MAC of an entry: HMAC-SHA256 of its hash (which covers its fields and the chain before it)."""
    return hmac.new(key, b"entry:" + digest.encode("ascii"), hashlib.sha256).hexdigest()


_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Anchor:
    """The trail as it stood once: `count` entries, the last one `seq` with hash `head`.

    `source` says where the anchor comes from, for messages ("checkpoint line 12", "--anchor").
    `first_keyed` (checkpoints only) is the first entry that carries a MAC.
    """

    seq: int
    head: str
    count: int
    source: str = "the anchor"
    at: str | None = None
    first_keyed: int | None = None

    @property
    def text(self) -> str:
        """The form printed in reports and given to `assessment audit verify --anchor`: SEQ:HEAD."""
        return f"{self.seq}:{self.head}"


def parse_anchor(text: str, source: str = "the anchor") -> Anchor:
    """`SEQ:HEAD` (as printed in a report or a bundle manifest) as an Anchor; ValueError saying what is wrong."""
    seq_text, sep, head = text.strip().partition(":")
    if not sep or not seq_text.isdigit() or len(seq_text) > 18 or int(seq_text) < 1:
        raise ValueError(f"{text!r} is not an anchor: expected SEQ:HEAD, an entry number and its 64-digit hash")
    if not _HEX64.fullmatch(head.lower()):
        raise ValueError(f"{text!r} is not an anchor: the hash after the colon must be 64 hexadecimal digits")
    seq = int(seq_text)
    return Anchor(seq, head.lower(), seq, source)


def _checkpoint_document(anchor: Anchor) -> str:
    return canonical_json(
        {
            "seq": anchor.seq,
            "head": anchor.head,
            "count": anchor.count,
            "at": anchor.at,
            "first_keyed": anchor.first_keyed,
        }
    )


def checkpoint_line(key: bytes, anchor: Anchor) -> str:
    """One line of the checkpoint file (with its newline): the anchor's facts and their HMAC under `key`."""
    document = _checkpoint_document(anchor)
    signature = hmac.new(key, b"checkpoint:" + document.encode(), hashlib.sha256).hexdigest()
    return document[:-1] + f',"sig":"{signature}"}}\n'


def parse_checkpoint(line: str, key: bytes | None, source: str) -> Anchor:
    """A checkpoint line as an Anchor, its signature checked; ValueError saying what is wrong with it."""
    try:
        data = json.loads(line)
    except ValueError:
        raise ValueError(f"{source}: not a checkpoint (not one JSON object; a cut or hand-made line)") from None
    if not isinstance(data, dict) or set(data) != {"seq", "head", "count", "at", "first_keyed", "sig"}:
        raise ValueError(f"{source}: not a checkpoint (expected seq, head, count, at, first_keyed and sig)")
    seq, head, count, first_keyed = data["seq"], data["head"], data["count"], data["first_keyed"]
    if not (
        type(seq) is int
        and type(count) is int
        and 0 <= seq == count
        and isinstance(head, str)
        and (_HEX64.fullmatch(head) or (seq == 0 and head == GENESIS))
        and isinstance(data["at"], str)
        and (first_keyed is None or (type(first_keyed) is int and first_keyed >= 1))
        and isinstance(data["sig"], str)
    ):
        raise ValueError(f"{source}: not a checkpoint (a field has the wrong type or value)")
    anchor = Anchor(seq, head, count, source, data["at"], first_keyed)
    if key is None:
        raise ValueError(f"{source}: its signature cannot be checked: no trail key")
    expected = checkpoint_line(key, anchor)
    if not hmac.compare_digest(expected, line.rstrip("\n") + "\n"):
        raise ValueError(f"{source}: its signature does not match (a forged or altered checkpoint)")
    return anchor


@dataclass(frozen=True)
class Break:
    """Where the chain first fails, which check failed, and why."""

    seq: int
    entry_id: int | None
    reason: str
    check: str = "chain"  # sequence, chain, hash, key, mac, anchor, tail


@dataclass(frozen=True)
class Verdict:
    """The result of walking the trail: how many entries, the last hash, and the first break."""

    count: int
    head: str
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_chain(
    entries: Iterable[dict[str, Any]],
    *,
    key: bytes | None = None,
    anchors: Iterable[Anchor] = (),
    first_keyed: int | None = None,
) -> Verdict:
    """Walk entries in sequence order; each is a mapping with FIELDS, `id`, `prev_hash` and `hash`
    (and `mac`, when the trail is keyed).

    With `key`, every MAC present is checked, and every entry from `first_keyed` on (or, without
    it, from the first entry that has a MAC) must have one. Each anchor's entry must still have
    the anchor's hash, and the trail must reach the last anchor: a shorter trail lost its tail.
    """
    wanted: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        wanted.setdefault(anchor.seq, []).append(anchor)
    keyed_from = first_keyed
    expected_seq, prev, count = 1, GENESIS, 0
    for entry in entries:
        seq = entry["seq"]
        where = {"seq": seq, "entry_id": entry.get("id")}
        if seq != expected_seq:
            missing = f"entry {expected_seq}" if seq == expected_seq + 1 else f"entries {expected_seq} to {seq - 1}"
            return Verdict(
                count, prev, Break(reason=f"{missing} missing: the sequence jumps to {seq}", check="sequence", **where)
            )
        if entry["prev_hash"] != prev:
            return Verdict(count, prev, Break(reason="its previous-hash does not match the entry before it", **where))
        if entry_hash(entry, entry["prev_hash"]) != entry["hash"]:
            return Verdict(
                count, prev, Break(reason="its content does not match its hash (altered)", check="hash", **where)
            )
        mac = entry.get("mac")
        if mac is not None and keyed_from is None:
            keyed_from = seq
        if mac is None and keyed_from is not None and seq >= keyed_from:
            reason = f"its keyed MAC is missing, but every entry from {keyed_from} on has one (stripped or forged)"
            return Verdict(count, prev, Break(reason=reason, check="mac", **where))
        if mac is not None and key is None:
            reason = "it carries a keyed MAC but there is no trail key to check it with"
            return Verdict(count, prev, Break(reason=reason, check="key", **where))
        if mac is not None and not hmac.compare_digest(mac, entry_mac(key, entry["hash"])):
            reason = "its keyed MAC does not match (rewritten and rehashed without the key, or a different key)"
            return Verdict(count, prev, Break(reason=reason, check="mac", **where))
        for anchor in wanted.get(seq, ()):
            if anchor.head != entry["hash"]:
                reason = (
                    f"its hash is not the {anchor.head[:12]}… that {anchor.source} recorded "
                    "(this entry or one before it was rewritten)"
                )
                return Verdict(count, prev, Break(reason=reason, check="anchor", **where))
        prev, expected_seq, count = entry["hash"], seq + 1, count + 1
    if wanted:
        last = max(wanted)
        if last >= expected_seq:
            anchor = wanted[last][0]
            missing = f"entry {last}" if last == expected_seq else f"entries {expected_seq} to {last}"
            reason = (
                f"{missing} missing: the trail ends at entry {expected_seq - 1}, but {anchor.source} "
                f"recorded {anchor.count} entries (its last entries were deleted)"
            )
            return Verdict(count, prev, Break(expected_seq, None, reason, "tail"))
    return Verdict(count, prev, None)
