"""An audit entry's before and after as the fields that changed ("status: draft -> submitted"),
for people reading the trail; the JSON stays the record (the hash chain covers it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_VALUE = 160  # characters of one value shown; the CSV and the chain keep the whole


@dataclass(frozen=True)
class FieldChange:
    """One field of an entry: its value before and after ("—" where there was none)."""

    field: str
    old: str
    new: str

    def as_text(self) -> str:
        """`field: old -> new`, the one written form of a change (page and CSV)."""
        return f"{self.field}: {self.old} -> {self.new}"


def _load(text: str | None) -> Any:
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def show_value(value: Any, limit: int = MAX_VALUE) -> str:
    """A value as the trail shows it: text as it is, None as "—", anything else as compact JSON."""
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def changed_fields(before: str | None, after: str | None, limit: int = MAX_VALUE) -> tuple[FieldChange, ...]:
    """The fields whose value differs between the entry's before and after (canonical JSON texts),
    in the order the after (then the before) names them; a value that is not an object is `value`."""
    old, new = _load(before), _load(after)
    if old is None and new is None:
        return ()
    if not isinstance(old, dict | None) or not isinstance(new, dict | None):
        return (FieldChange("value", show_value(old, limit), show_value(new, limit)),) if old != new else ()
    old, new = old or {}, new or {}
    keys = list(new) + [k for k in old if k not in new]
    return tuple(
        FieldChange(str(k), show_value(old.get(k), limit), show_value(new.get(k), limit))
        for k in keys
        if old.get(k) != new.get(k) or (k in new) != (k in old)
    )
