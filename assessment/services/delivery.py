"""A scope's delivery data: events added all-or-nothing, kept once per id, and read back for the metrics.

Every way in (an uploaded file read by a job, an API batch, a webhook delivery) ends in `add_events`,
which checks the batch with the domain's reader against what the scope already keeps, in the
transaction that writes it: references may point at stored events; an id already stored with the same
content adds nothing (a batch sent again is harmless); an open incident may be resolved by a later copy
of itself; any other difference is an error at that line. Nothing of a refused batch is stored. One trail
entry a batch says who added how many events, from where, with the batch's SHA-256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import delete, func, insert, select, update

from ..domain.delivery import EventSet, event_to_dict, read_event_objects, read_events
from ..domain.delivery.events import Gate, Incident
from ..domain.errors import InvalidFile, Problem
from ..extensions import db
from ..models import DELIVERY_SOURCES, DeliveryEvent, Scope
from . import audit

MAX_BATCH_EVENTS = 10_000  # an API batch; a larger set goes as several batches or as a file
MAX_FILE_BYTES = 64 * 1024 * 1024  # an uploaded events file
_IN_CHUNK = 500  # ids asked of the database at a time (SQLite's and PostgreSQL's parameter limits)


@dataclass(frozen=True)
class Added:
    """What a batch did: events added, found already stored, and open incidents resolved."""

    added: int
    unchanged: int
    resolved: int
    batch: str

    def sentence(self) -> str:
        """The outcome in words, for a page or a job's message."""
        parts = [f"{self.added:,} event{'s' if self.added != 1 else ''} added"]
        if self.unchanged:
            parts.append(f"{self.unchanged:,} already stored")
        if self.resolved:
            parts.append(f"{self.resolved:,} incident{'s' if self.resolved != 1 else ''} resolved")
        return ", ".join(parts) + "."


def _moment(event: Any) -> float:
    if isinstance(event, Incident):
        return event.started
    if isinstance(event, Gate):
        return event.entered
    return event.time


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _stored_bodies(scope_id: int, kind: str, ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """The stored row id and body of each of these ids of one type."""
    found: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(ids):
        rows = db.session.execute(
            select(DeliveryEvent.event_id, DeliveryEvent.id, DeliveryEvent.body).where(
                DeliveryEvent.scope_id == scope_id, DeliveryEvent.kind == kind, DeliveryEvent.event_id.in_(chunk)
            )
        )
        for event_id, row_id, body in rows:
            found[event_id] = (row_id, body)
    return found


def _referenced(items: list[tuple[str, int, Any]]) -> dict[str, set[str]]:
    """The change and deployment ids the batch's objects name (read loosely: the reader checks them)."""
    wanted: dict[str, set[str]] = {"change": set(), "deployment": set()}
    for _file, _line, obj in items:
        if not isinstance(obj, dict):
            continue
        for key, kind in (("changes", "change"), ("caused_by", "deployment")):
            value = obj.get(key)
            if isinstance(value, list):
                wanted[kind].update(v for v in value if isinstance(v, str))
        for key in ("rollback_of", "deployment"):
            value = obj.get(key)
            if isinstance(value, str):
                wanted["deployment"].add(value)
    return wanted


def _existing(scope_id: int, wanted: dict[str, set[str]]) -> dict[str, dict[str, float | None]]:
    """Of the ids the batch names, those the scope keeps, with each change's time."""
    existing: dict[str, dict[str, float | None]] = {"change": {}, "deployment": {}}
    for kind, ids in wanted.items():
        for chunk in _chunks(sorted(ids)):
            rows = db.session.execute(
                select(DeliveryEvent.event_id, DeliveryEvent.at).where(
                    DeliveryEvent.scope_id == scope_id, DeliveryEvent.kind == kind, DeliveryEvent.event_id.in_(chunk)
                )
            )
            for event_id, at in rows:
                existing[kind][event_id] = at if kind == "change" else None
    return existing


def _body(event: Any) -> str:
    return msgspec.json.encode(event_to_dict(event)).decode()


def add_events(
    scope: Scope, items: list[tuple[str, int, Any]], *, source: str, actor: str, batch: str | None = None
) -> Added:
    """Check and store a batch of parsed events, each (file, line, object), into the scope: all or nothing.

    Raises InvalidFile with every problem (the reader's, and ids stored with other content).
    The caller has checked that `actor` may add to the scope, in this transaction.
    """
    if source not in DELIVERY_SOURCES:
        raise ValueError(f"unknown source {source!r}")
    batch = batch or hashlib.sha256(msgspec.json.encode([obj for _f, _l, obj in items])).hexdigest()
    events = read_event_objects(items, existing=_existing(scope.id, _referenced(items)))
    where = {}
    for file, line, obj in items:
        if isinstance(obj, dict) and isinstance(obj.get("id"), str):
            where.setdefault((obj.get("type"), obj["id"]), (file, line))
    problems: list[Problem] = []
    rows, resolved, unchanged = [], [], 0
    for kind, by_id in events.by_type().items():
        stored = _stored_bodies(scope.id, kind, list(by_id))
        for event_id, event in by_id.items():
            body = _body(event)
            kept = stored.get(event_id)
            if kept is None:
                rows.append(
                    {"scope_id": scope.id, "kind": kind, "event_id": event_id, "service": event.service,
                     "at": _moment(event), "body": body, "source": source, "batch": batch, "added_by": actor[:200]}
                )  # fmt: skip
            elif kept[1] == body:
                unchanged += 1
            elif kind == "incident" and _resolves(kept[1], event):
                resolved.append((kept[0], body))
            else:
                file, line = where.get((kind, event_id), ("batch", 1))
                problems.append(
                    Problem(file, line, "$.id", f"a {kind} with id {event_id!r} is already stored with other "
                            "content; an event is kept once, so send it with its first content or a new id")
                )  # fmt: skip
    if problems:
        raise InvalidFile(problems)
    for start in range(0, len(rows), 2000):
        db.session.execute(insert(DeliveryEvent), rows[start : start + 2000])
    _rewrite(resolved)
    outcome = Added(len(rows), unchanged, len(resolved), batch)
    if rows or resolved:
        audit.record(
            "delivery_events_added", "scope", scope.id, scope_id=scope.id, actor=actor,
            after={"added": outcome.added, "resolved": outcome.resolved, "unchanged": unchanged, "source": source,
                   "batch": batch},
        )  # fmt: skip
    return outcome


_SET_ASIDE = "resolved-old"  # no event's type: a resolved incident's old row, deleted in the same transaction
_KEPT_COLUMNS = ("scope_id", "kind", "event_id", "service", "at", "source", "batch", "added_by", "added_at")


def _rewrite(resolved: list[tuple[int, str]]) -> None:
    """Store each resolved incident's new body in a new row in place of its old one (keeping how and when
    it came in): the scope's largest row id then moves, so `scope_state` sees the change, as it sees an
    added event, and the pages cached by that state are built again. The new row is added before the old
    one goes (SQLite would give a row added after the delete the largest id again): the old row is first
    set aside under a kind no event has, out of the way of the unique id, all in the batch's transaction."""
    columns = [getattr(DeliveryEvent, name) for name in _KEPT_COLUMNS]
    for row_id, body in resolved:
        kept = db.session.execute(select(*columns).where(DeliveryEvent.id == row_id)).one()
        db.session.execute(update(DeliveryEvent).where(DeliveryEvent.id == row_id).values(kind=_SET_ASIDE))
        db.session.execute(insert(DeliveryEvent), [{**dict(zip(_KEPT_COLUMNS, kept, strict=True)), "body": body}])
        db.session.execute(delete(DeliveryEvent).where(DeliveryEvent.id == row_id))


def _resolves(stored_body: str, incident: Incident) -> bool:
    """Whether `incident` is the stored open incident, now resolved, and otherwise the same."""
    before = msgspec.json.decode(stored_body)
    if "resolved" in before or incident.resolved is None:
        return False
    after = event_to_dict(incident)
    after.pop("resolved")
    return after == before


def add_file(scope: Scope, name: str, data: bytes, *, source: str, actor: str) -> Added:
    """Check and store the events of one JSON Lines file (the upload job's work)."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidFile([Problem(name, 1, "$", f"the file is larger than {MAX_FILE_BYTES // 2**20} MB")])
    items, malformed = [], False
    for number, raw in enumerate(data.split(b"\n"), 1):
        if raw.strip():
            try:
                items.append((name, number, msgspec.json.decode(raw)))
            except msgspec.DecodeError:
                malformed = True
    if malformed:  # the domain's reader words every problem of the file, the lines that are not JSON first
        read_events([(name, data)], existing=_existing(scope.id, _referenced(items)))
    return add_events(scope, items, source=source, actor=actor, batch=hashlib.sha256(data).hexdigest())


def scope_state(scope_id: int) -> tuple[int, int]:
    """How many events the scope keeps and the largest row id: changes whenever its data does (an added
    event adds a row; a resolved incident is rewritten into a new row, see `_rewrite`)."""
    count, largest = db.session.execute(
        select(func.count(DeliveryEvent.id), func.max(DeliveryEvent.id)).where(DeliveryEvent.scope_id == scope_id)
    ).one()
    return int(count or 0), int(largest or 0)


def scope_bodies(scope_id: int) -> list[str]:
    """The stored body of every event the scope keeps, in the order they were stored (one JSON object each)."""
    return list(
        db.session.scalars(
            select(DeliveryEvent.body).where(DeliveryEvent.scope_id == scope_id).order_by(DeliveryEvent.id)
        )
    )


def events_of(scope_id: int, bodies: Sequence[str]) -> EventSet:
    """Stored bodies (`scope_bodies`) read back through the domain's reader."""
    return read_events([(f"scope {scope_id}", "\n".join(bodies))])


def scope_events(scope_id: int) -> EventSet:
    """Every event the scope keeps, read back through the domain's reader (metrics need them all:
    an incident or a rollback of any service can fail a deployment)."""
    return events_of(scope_id, scope_bodies(scope_id))


def pending_changes(scope_id: int, service: str, until: float) -> list[str]:
    """The service's stored changes made up to `until` that no successful production deployment has
    taken live yet: what a webhook's deployment (which names one commit) takes live, read trunk-based."""
    rows = db.session.execute(
        select(DeliveryEvent.kind, DeliveryEvent.event_id, DeliveryEvent.at, DeliveryEvent.body).where(
            DeliveryEvent.scope_id == scope_id,
            DeliveryEvent.service == service,
            DeliveryEvent.kind.in_(("change", "deployment")),
        )
    ).all()
    live: set[str] = set()
    waiting = []
    for kind, event_id, at, body in rows:
        if kind == "change":
            if at <= until:
                waiting.append((at, event_id))
            continue
        deployment = msgspec.json.decode(body)
        if deployment.get("status") == "success" and deployment.get("environment") == "production":
            live.update(deployment.get("changes", ()))
    return [event_id for _at, event_id in sorted(waiting) if event_id not in live]


def services_of(scope_id: int) -> list[str]:
    """The services the scope's events name, sorted."""
    return list(
        db.session.scalars(
            select(DeliveryEvent.service)
            .where(DeliveryEvent.scope_id == scope_id)
            .distinct()
            .order_by(DeliveryEvent.service)
        )
    )


__all__ = [
    "MAX_BATCH_EVENTS",
    "MAX_FILE_BYTES",
    "Added",
    "add_events",
    "add_file",
    "events_of",
    "pending_changes",
    "scope_bodies",
    "scope_events",
    "scope_state",
    "services_of",
]
