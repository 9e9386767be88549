"""Flash messages after a change: what happened, its category, and an undo where one is cheap.

Views call `notify("E-12 attached: file.pdf.")` (or Flask's own `flash(text)`, read as a success);
base.html shows them in a polite status region, errors in an alert region.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import flash, get_flashed_messages

SUCCESS = "success"
ERROR = "error"


@dataclass(frozen=True)
class Undo:
    """A button beside a message that reverses the change (a POST with its CSRF token)."""

    action: str
    label: str
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Note:
    """One message as the page shows it."""

    text: str
    category: str = SUCCESS
    undo: Undo | None = None


@dataclass
class Notes:
    """The messages of one page: confirmations first, errors apart (they are announced at once)."""

    done: list[Note] = field(default_factory=list)
    errors: list[Note] = field(default_factory=list)


def notify(text: str, category: str = SUCCESS, undo: Undo | None = None) -> None:
    """Show `text` on the next page; `undo` adds a button that reverses the change."""
    if undo is None:
        flash(text, category)
        return
    flash({"text": text, "undo": {"action": undo.action, "label": undo.label, "fields": list(undo.fields)}}, category)


def flash_messages() -> Notes:
    """The messages waiting for this page, read once (they are gone on the next)."""
    notes = Notes()
    for category, message in get_flashed_messages(with_categories=True):
        if isinstance(message, dict):
            raw = message.get("undo") or {}
            undo = Undo(str(raw["action"]), str(raw["label"]), tuple((str(k), str(v)) for k, v in raw["fields"]))
            note = Note(str(message.get("text", "")), category, undo)
        else:
            note = Note(str(message), category if category in (SUCCESS, ERROR) else SUCCESS)
        (notes.errors if note.category == ERROR else notes.done).append(note)
    return notes
