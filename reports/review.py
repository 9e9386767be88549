"""The review side of a report: auditors' findings and the assessment's audit trail, as plain values.

The database (or any other source) hands over plain fields; this module turns them into what a
report prints. A trail entry's before/after are the trail's canonical JSON text; the report shows
a short reading of the change (`value: "no" → "yes"`) rather than the JSON itself, with long
text cut, so one autosaved essay does not fill a page. The full values stay in the application's
trail, which the entry's number finds.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SEVERITY_ORDER = ("major", "minor", "observation")  # most severe first
MAX_VALUE_CHARS = 300  # a value longer than this is cut, with an ellipsis
MAX_CHANGE_CHARS = 900  # and so is a whole change text
ABSENT = "—"


@dataclass(frozen=True)
class FindingEntry:
    """One auditor's verdict on one requirement: verified, or a finding with a severity and a comment."""

    requirement_id: str
    auditor: str
    verdict: str  # "verified" or "finding"
    severity: str | None  # major, minor or observation for a finding; None when verified
    comment: str | None
    recorded_at: dt.datetime

    @property
    def label(self) -> str:
        """'Verified' or 'Finding: minor'."""
        return "Verified" if self.verdict == "verified" else f"Finding: {self.severity}"

    @property
    def recorded_text(self) -> str:
        """When it was recorded, as printed (UTC)."""
        return utc_text(self.recorded_at)


@dataclass(frozen=True)
class TrailEntry:
    """One entry of the assessment's audit trail, as the report lists it."""

    seq: int
    at: dt.datetime
    actor: str
    action: str
    object: str  # "answer 12/CI-01"
    change: str  # `value: "no" → "yes"`, or empty

    @property
    def at_text(self) -> str:
        """When, to the second (UTC)."""
        return utc_text(self.at, seconds=True)


def utc_text(moment: dt.datetime, *, seconds: bool = False) -> str:
    """A moment as 'YYYY-MM-DD HH:MM' in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def review_mark(findings: Iterable[FindingEntry]) -> str | None:
    """The marker of a requirement in the detail table: 'Finding: major', 'Findings: major, minor',
    'Verified' when every auditor verified it, None when nobody reviewed it."""
    findings = list(findings)
    severities = [s for s in SEVERITY_ORDER if any(f.verdict == "finding" and f.severity == s for f in findings)]
    if severities:
        return f"Finding{'s' if len(severities) > 1 else ''}: {', '.join(severities)}"
    return "Verified" if findings else None


def worst_severity(findings: Iterable[FindingEntry]) -> str | None:
    """The most severe severity among the findings, or None."""
    present = {f.severity for f in findings if f.verdict == "finding"}
    return next((s for s in SEVERITY_ORDER if s in present), None)


def severity_counts(findings: Iterable[FindingEntry]) -> dict[str, int]:
    """How many findings of each severity, and how many verifications, in that order."""
    counts = dict.fromkeys((*SEVERITY_ORDER, "verified"), 0)
    for f in findings:
        key = "verified" if f.verdict == "verified" else f.severity
        if key in counts:
            counts[key] += 1
    return counts


def trail_entry(
    seq: int,
    at: str | dt.datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: str | None,
    after: str | None,
) -> TrailEntry:
    """A trail entry from the trail's stored fields (`at` as ISO text, before/after as JSON text)."""
    moment = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(at)
    return TrailEntry(seq, moment, actor, action, f"{object_type} {object_id}".strip(), change_text(before, after))


def change_text(before: str | None, after: str | None) -> str:
    """A short reading of a change: `key: old → new` for each field that differs, `key: new` for
    fields of a new object, `key: old → —` for fields that went away; '; ' between fields."""
    old, new = _parse(before), _parse(after)
    if old is None and new is None:
        return ""
    if isinstance(old, dict | None) and isinstance(new, dict | None):
        if old is None:
            pieces = [f"{key}: {_value(value)}" for key, value in new.items() if value is not None]
        else:
            new = new or {}
            keys = [*new, *(key for key in old if key not in new)]
            pieces = [
                f"{key}: {_value(old.get(key))} → {_value(new.get(key))}"
                for key in keys
                if old.get(key) != new.get(key)
            ]
        return _cut("; ".join(pieces))
    return _cut(_value(new) if old is None else f"{_value(old)} → {_value(new)}")


def _parse(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # not JSON after all: shown as it is


def _value(value: Any) -> str:
    """One value as printed: text quoted, none as a dash, anything else as compact JSON; cut when long."""
    if value is None:
        return ABSENT
    if isinstance(value, str):
        text = value if len(value) <= MAX_VALUE_CHARS else value[: MAX_VALUE_CHARS - 1].rstrip() + "…"
        return f'"{text}"'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return format(value, "g") if isinstance(value, float) else str(value)
    return _shorten(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str), MAX_VALUE_CHARS)


def _cut(text: str) -> str:
    return _shorten(" ".join(text.split()), MAX_CHANGE_CHARS)  # newlines of notes would waste rows


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
