"""The audit trail's events that the as-of replay reads back, typed and shared by their writers and the replay.

Each event knows its action name, the object it is about, and its payload: `to_payload()` gives the
(before, after) the trail stores, exactly as the services wrote them before these types existed, so
older trails replay unchanged and the hash chain's form does not change. `from_entry()` parses a
stored entry back, checking every key and type; anything else raises `UnreadableEntry`, whose
message says what is wrong. Pure Python: no database here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


class UnreadableEntry(ValueError):
    """A trail entry of a replayed action whose payload is not the form its writer gives."""


class _Unchanged:
    """The marker of an answer field a save left as it was (its key is absent from the entry)."""

    _instance: _Unchanged | None = None

    def __new__(cls) -> _Unchanged:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()
_ANSWER_FIELDS = ("value", "note")


def _dict(payload: Any, where: str, allowed: set[str], required: set[str] = frozenset()) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise UnreadableEntry(f"{where} is {_shown(payload)}, not an object")
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise UnreadableEntry(f"{where} has the unknown field {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    missing = sorted(required - set(payload))
    if missing:
        raise UnreadableEntry(f"{where} lacks the field {missing[0]!r}")
    return payload


def _text(value: Any, where: str, empty: bool = True) -> str | None:
    if (value is None and empty) or isinstance(value, str):
        return value
    raise UnreadableEntry(f"{where} is {_shown(value)}, not a text" + (" or null" if empty else ""))


def _id(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise UnreadableEntry(f"{where} is {_shown(value)}, not an id")


def _true(value: Any, where: str) -> bool:
    if value is True:
        return True
    raise UnreadableEntry(f"{where} is {_shown(value)}; only true is written")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _part(object_id: str, index: int, parts: int, what: str) -> str:
    pieces = str(object_id).split("/")
    if len(pieces) != parts or not all(pieces):
        raise UnreadableEntry(f"the object id {_shown(object_id)} is not the form {what}")
    return pieces[index]


@dataclass(frozen=True)
class AnswerSaved:
    """An answer's stored value text and/or note changed (UNCHANGED: that field was left as it was).

    `first` says there was no answer before (the entry has no before); otherwise `was_value` /
    `was_note` hold the previous texts of the fields that changed. A carried-over answer names the
    assessment it came from; an imported one says so.
    """

    action: ClassVar[str] = "answer.saved"
    object_type: ClassVar[str] = "answer"

    requirement_id: str
    value: str | None = UNCHANGED
    note: str | None = UNCHANGED
    first: bool = True
    was_value: str | None = UNCHANGED
    was_note: str | None = UNCHANGED
    carried_from: int | None = None
    imported: bool = False

    def __post_init__(self) -> None:
        if self.first and (self.was_value is not UNCHANGED or self.was_note is not UNCHANGED):
            raise ValueError("A first save has no previous value or note.")

    @classmethod
    def of(
        cls,
        requirement_id: str,
        value: str | None,
        note: str | None,
        previous: tuple[str | None, str | None] | None = None,
        **extra: Any,
    ) -> AnswerSaved:
        """The save of (value, note) over `previous` (value, note), or over no answer: only what differs."""
        if previous is None:
            return cls(requirement_id, value, note, **extra)
        changed = {
            name: (old, new)
            for name, old, new in zip(_ANSWER_FIELDS, previous, (value, note), strict=True)
            if old != new
        }
        return cls(
            requirement_id,
            changed["value"][1] if "value" in changed else UNCHANGED,
            changed["note"][1] if "note" in changed else UNCHANGED,
            first=False,
            was_value=changed["value"][0] if "value" in changed else UNCHANGED,
            was_note=changed["note"][0] if "note" in changed else UNCHANGED,
            **extra,
        )

    def object_id(self, assessment_id: int) -> str:
        """The entry's object: the assessment's answer to the requirement."""
        return f"{assessment_id}/{self.requirement_id}"

    def to_payload(self) -> tuple[dict | None, dict]:
        """(before, after) as the trail stores them."""
        after = {k: v for k, v in (("value", self.value), ("note", self.note)) if v is not UNCHANGED}
        if self.carried_from is not None:
            after |= {"carried_over": True, "from": self.carried_from}
        if self.imported:
            after["imported"] = True
        if self.first:
            return None, after
        return {k: v for k, v in (("value", self.was_value), ("note", self.was_note)) if v is not UNCHANGED}, after

    @classmethod
    def from_entry(cls, action: str, object_id: str, before: Any, after: Any) -> AnswerSaved:
        """The event of a stored answer.saved entry."""
        after = _dict(after, "after", {"value", "note", "carried_over", "from", "imported"})
        if ("carried_over" in after) != ("from" in after):
            raise UnreadableEntry("after has one of 'carried_over' and 'from' without the other")
        fields: dict[str, Any] = {name: _text(after[name], f"after.{name}") for name in _ANSWER_FIELDS if name in after}
        if "carried_over" in after:
            _true(after["carried_over"], "after.carried_over")
            fields["carried_from"] = _id(after["from"], "after.from")
        if "imported" in after:
            fields["imported"] = _true(after["imported"], "after.imported")
        if before is not None:
            before = _dict(before, "before", set(_ANSWER_FIELDS))
            fields["first"] = False
            for name in _ANSWER_FIELDS:
                if name in before:
                    fields[f"was_{name}"] = _text(before[name], f"before.{name}")
        return cls(_part(object_id, 1, 2, "ASSESSMENT/REQUIREMENT"), **fields)


@dataclass(frozen=True)
class EvidenceLinked:
    """An evidence item began to support a requirement (its title when linked by hand; carried over
    from the previous cycle otherwise)."""

    action: ClassVar[str] = "evidence.linked"
    object_type: ClassVar[str] = "evidence_link"

    requirement_id: str
    evidence_id: int
    title: str | None = None
    carried_over: bool = False

    def object_id(self, assessment_id: int) -> str:
        """The entry's object: the link of the evidence to the assessment's requirement."""
        return f"{assessment_id}/{self.requirement_id}/{self.evidence_id}"

    def to_payload(self) -> tuple[None, dict]:
        """(before, after) as the trail stores them."""
        after: dict[str, Any] = {"requirement": self.requirement_id, "evidence": self.evidence_id}
        if self.title is not None:
            after["title"] = self.title
        if self.carried_over:
            after["carried_over"] = True
        return None, after

    @classmethod
    def from_entry(cls, action: str, object_id: str, before: Any, after: Any) -> EvidenceLinked:
        """The event of a stored evidence.linked entry."""
        if before is not None:
            raise UnreadableEntry("before is set; a link has no before")
        after = _dict(after, "after", {"requirement", "evidence", "title", "carried_over"}, {"requirement", "evidence"})
        return cls(
            _text(after["requirement"], "after.requirement", empty=False),
            _id(after["evidence"], "after.evidence"),
            _text(after.get("title"), "after.title"),
            _true(after["carried_over"], "after.carried_over") if "carried_over" in after else False,
        )


@dataclass(frozen=True)
class EvidenceUnlinked:
    """An evidence item stopped supporting a requirement (the item stays in the scope)."""

    action: ClassVar[str] = "evidence.unlinked"
    object_type: ClassVar[str] = "evidence_link"

    requirement_id: str
    evidence_id: int

    def object_id(self, assessment_id: int) -> str:
        """The entry's object: the link of the evidence to the assessment's requirement."""
        return f"{assessment_id}/{self.requirement_id}/{self.evidence_id}"

    def to_payload(self) -> tuple[dict, None]:
        """(before, after) as the trail stores them."""
        return {"requirement": self.requirement_id, "evidence": self.evidence_id}, None

    @classmethod
    def from_entry(cls, action: str, object_id: str, before: Any, after: Any) -> EvidenceUnlinked:
        """The event of a stored evidence.unlinked entry."""
        if after is not None:
            raise UnreadableEntry("after is set; an unlink has no after")
        before = _dict(before, "before", {"requirement", "evidence"}, {"requirement", "evidence"})
        return cls(
            _text(before["requirement"], "before.requirement", empty=False), _id(before["evidence"], "before.evidence")
        )


@dataclass(frozen=True)
class AssessmentStarted:
    """A draft assessment began, pinned to a framework version."""

    action: ClassVar[str] = "assessment.started"
    object_type: ClassVar[str] = "assessment"

    framework: str
    version: str
    framework_version_id: int
    target_level: int | None
    as_of: str  # ISO date
    status: str = "draft"

    def object_id(self, assessment_id: int) -> str:
        """The entry's object: the assessment."""
        return str(assessment_id)

    def to_payload(self) -> tuple[None, dict]:
        """(before, after) as the trail stores them."""
        return None, {
            "framework": self.framework,
            "version": self.version,
            "framework_version_id": self.framework_version_id,
            "target_level": self.target_level,
            "as_of": self.as_of,
            "status": self.status,
        }

    @classmethod
    def from_entry(cls, action: str, object_id: str, before: Any, after: Any) -> AssessmentStarted:
        """The event of a stored assessment.started entry."""
        keys = {"framework", "version", "framework_version_id", "target_level", "as_of", "status"}
        after = _dict(after, "after", keys, keys)
        level = after["target_level"]
        return cls(
            _text(after["framework"], "after.framework", empty=False),
            _text(after["version"], "after.version", empty=False),
            _id(after["framework_version_id"], "after.framework_version_id"),
            None if level is None else _id(level, "after.target_level"),
            _text(after["as_of"], "after.as_of", empty=False),
            _text(after["status"], "after.status", empty=False),
        )


@dataclass(frozen=True)
class StatusChanged:
    """An assessment went from one status to another (submitted, approved, returned with a comment)."""

    object_type: ClassVar[str] = "assessment"

    was: str
    status: str
    approved_by: str | None = None
    comment: str | None = None
    demo: bool = False

    @property
    def action(self) -> str:
        """assessment.<new status>."""
        return f"assessment.{self.status}"

    def object_id(self, assessment_id: int) -> str:
        """The entry's object: the assessment."""
        return str(assessment_id)

    def to_payload(self) -> tuple[dict, dict]:
        """(before, after) as the trail stores them."""
        after: dict[str, Any] = {"status": self.status}
        if self.approved_by is not None:
            after["approved_by"] = self.approved_by
        if self.comment is not None:
            after["comment"] = self.comment
        if self.demo:
            after["demo"] = True
        return {"status": self.was}, after

    @classmethod
    def from_entry(cls, action: str, object_id: str, before: Any, after: Any) -> StatusChanged:
        """The event of a stored assessment.<status> entry."""
        before = _dict(before, "before", {"status"}, {"status"})
        after = _dict(after, "after", {"status", "approved_by", "comment", "demo"}, {"status"})
        status = _text(after["status"], "after.status", empty=False)
        if action != f"assessment.{status}":
            raise UnreadableEntry(f"after.status is {status!r}, but the action is {action!r}")
        return cls(
            _text(before["status"], "before.status", empty=False),
            status,
            _text(after["approved_by"], "after.approved_by", empty=False) if "approved_by" in after else None,
            _text(after["comment"], "after.comment", empty=False) if "comment" in after else None,
            _true(after["demo"], "after.demo") if "demo" in after else False,
        )


Event = AnswerSaved | EvidenceLinked | EvidenceUnlinked | AssessmentStarted | StatusChanged
_BY_ACTION = {cls.action: cls for cls in (AnswerSaved, EvidenceLinked, EvidenceUnlinked, AssessmentStarted)}


def from_entry(action: str, object_id: str, before: Any, after: Any) -> Event | None:
    """The event of a stored entry, or None for an action the replay does not read (sign-ins,
    findings, shares, exports...); UnreadableEntry if its payload is not the form its writer gives."""
    kind = _BY_ACTION.get(action)
    if kind is not None:
        return kind.from_entry(action, object_id, before, after)
    if action.startswith("assessment.") and isinstance(after, dict) and "status" in after:
        return StatusChanged.from_entry(action, object_id, before, after)
    return None
