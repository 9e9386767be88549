"""Errors of a submitted form, kept for the page that shows the form again (status 422).

A form a person filled in is never thrown away for one bad field: the view catches the service's
InvalidInput, keeps what was submitted, and renders the same page with each message beside its
field and a summary at the top linking to each one (the macros `error_summary` and `field` of
templates/_partials.html read this object).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..app import abandon_changes

__all__ = ["UNPROCESSABLE", "FormErrors", "abandon_changes"]

UNPROCESSABLE = 422


@dataclass
class FormErrors:
    """The messages of one form, by the id of the field each belongs to, and the values submitted."""

    messages: dict[str, str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)

    def add(self, field_id: str, message: str) -> None:
        """Record `message` against the field `field_id` (the first message of a field wins)."""
        self.messages.setdefault(field_id, message)

    def of(self, field_id: str) -> str | None:
        """The message of a field, or None when it is fine."""
        return self.messages.get(field_id)

    def value(self, name: str, default: str = "") -> str:
        """What the person submitted in the field `name`, to show it again."""
        return self.values.get(name, default) or default

    def aria(self, field_id: str) -> dict[str, str]:
        """The attributes that mark a WTForms field invalid and described by its message (none when fine)."""
        if field_id not in self.messages:
            return {}
        return {"aria-invalid": "true", "aria-describedby": f"{field_id}-error"}

    @property
    def summary(self) -> list[tuple[str, str]]:
        """(field id, message) pairs in the order they were found, for the summary's links."""
        return list(self.messages.items())

    def __bool__(self) -> bool:
        return bool(self.messages)
