"""The audit trail: every change, sign-in and evidence download, appended to a hash chain.

Entries are only ever added. Each takes the next sequence number and the previous entry's hash
inside the same transaction as the change it records, so a rolled-back change leaves no entry
and a committed one always has its entry. Writers take turns: on PostgreSQL through a
transaction-scoped advisory lock, on SQLite by taking its write lock before reading the head.
The unique sequence number is the last guard: two writers can never both append entry N.

Each entry also carries its keyed MAC (the key lives outside the database, see trail_anchor), and
after each commit that added entries a signed checkpoint of its head is appended to the instance's
checkpoint file, so `verify` finds a rewrite with recomputed hashes and a deleted tail.

Nothing expires: there is no code that deletes or rewrites an entry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from ..adapters import trail_anchor
from ..domain.events import Event
from ..domain.trail import FIELDS, GENESIS, Anchor, Verdict, canonical_json, entry_hash, entry_mac, verify_chain
from ..extensions import db
from ..models import AuditEntry

_LOCK_KEY = 0x61756469  # "audi": the advisory lock of the trail on PostgreSQL
_HEAD = "audit_head"
_PENDING = "audit_checkpoint"  # (file, key, seq, hash, first keyed) of the transaction's last entry

current_actor: ContextVar[str] = ContextVar("current_actor", default="system")


@contextlib.contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Record entries made inside the block under `actor` (commands, background work)."""
    token = current_actor.set(actor)
    try:
        yield
    finally:
        current_actor.reset(token)


def now_text() -> str:
    """The time of an entry: UTC, ISO 8601 with microseconds, the same text on every database."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _head(session: Session) -> tuple[int, str]:
    """The last sequence number and hash, read once per transaction under the writers' lock."""
    cached = session.info.get(_HEAD)
    if cached is not None:
        return cached
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    elif dialect == "sqlite":
        # A write that changes nothing takes SQLite's one write lock now (waiting, up to the busy
        # timeout, for a writer that holds it to commit), so the head read next is the latest and
        # stays so until this transaction ends. Read first, two writers would both take entry N.
        session.execute(text("UPDATE audit_entry SET seq = seq WHERE 0"))
    row = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_HEAD, None)
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_commit")
def _checkpoint(session: Session) -> None:
    """After a commit that added entries, sign its head into the checkpoint file.

    The head is this transaction's last entry, which the commit just made durable (another
    writer's later entries get their own line). A failure is logged, not raised: the change is
    committed, and the next checkpoint covers it.
    """
    if session.in_nested_transaction() or _PENDING not in session.info:
        return
    path, key, seq, digest, first_keyed = session.info.pop(_PENDING)
    try:
        trail_anchor.append_checkpoint(path, key, seq, digest, first_keyed)
    except OSError:
        trail_anchor.log.exception("The audit trail checkpoint could not be written to %s", path)


def _first_keyed(session: Session, path: Path, seq: int) -> int:
    """The first entry with a MAC: as the checkpoint file records it, else the database's, else `seq`
    (the entry being added, on a trail keyed from now on)."""
    recorded = trail_anchor.recorded_first_keyed(path)
    if recorded is not None:
        return recorded
    first = session.scalar(select(func.min(AuditEntry.seq)).where(AuditEntry.mac.is_not(None)))
    return first if first is not None else seq


def _key_and_checkpoints(create: bool = True) -> tuple[bytes | None, Path]:
    app = current_app
    key = trail_anchor.trail_key(app.config, app.instance_path, create=create)
    return key, trail_anchor.checkpoints_file(app.config, app.instance_path)


def ensure_key() -> None:
    """Make the trail's key now if the instance has none (`assessment init`)."""
    _key_and_checkpoints()


def record(
    action: str,
    object_type: str,
    object_id: Any,
    *,
    before: Any = None,
    after: Any = None,
    scope_id: int | None = None,
    assessment_id: int | None = None,
    actor: str | None = None,
) -> AuditEntry:
    """Append one entry to the trail in the current transaction."""
    session = db.session()
    seq, prev = _head(session)
    fields = {
        "seq": seq + 1,
        "at": now_text(),
        "actor": (actor or current_actor.get())[:200],
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id)[:200],
        "scope_id": scope_id,
        "assessment_id": assessment_id,
        "before": canonical_json(before),
        "after": canonical_json(after),
    }
    key, checkpoints = _key_and_checkpoints()
    digest = entry_hash(fields, prev)
    pending = session.info.get(_PENDING)
    first_keyed = pending[4] if pending else _first_keyed(session, checkpoints, fields["seq"])
    entry = AuditEntry(**fields, prev_hash=prev, hash=digest, mac=entry_mac(key, digest))
    session.add(entry)
    session.info[_HEAD] = (entry.seq, entry.hash)
    session.info[_PENDING] = (checkpoints, key, entry.seq, entry.hash, first_keyed)
    return entry


def about(
    assessment: Any,
    action: str,
    object_type: str,
    object_id: Any,
    *,
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    """Append an entry about one assessment (filed under it and its scope, so its trail and its
    scope's readers find it)."""
    return record(
        action,
        object_type,
        object_id,
        before=before,
        after=after,
        scope_id=assessment.scope_id,
        assessment_id=assessment.id,
    )


def emit(assessment: Any, event: Event, *, actor: str | None = None) -> AuditEntry:
    """Append one of the events the as-of replay reads, about `assessment` (its payload in the one
    form `assessment.domain.events` gives and parses)."""
    before, after = event.to_payload()
    return record(
        event.action,
        event.object_type,
        event.object_id(assessment.id),
        before=before,
        after=after,
        scope_id=assessment.scope_id,
        assessment_id=assessment.id,
        actor=actor,
    )


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


@dataclass(frozen=True)
class TrailCheck:
    """What `verify` found: the chain's verdict, the checkpoint file's problems and what it holds."""

    verdict: Verdict
    problems: tuple[str, ...]
    checkpoints: int
    last_checkpoint: Anchor | None
    first_keyed: int | None

    @property
    def ok(self) -> bool:
        return self.verdict.ok and not self.problems


def check(anchors: tuple[Anchor, ...] = (), batch: int = 2000) -> TrailCheck:
    """Verify the trail: the hash chain, every keyed MAC, every signed checkpoint of the instance's
    checkpoint file and the given anchors (from reports), a batch of entries at a time."""
    key, path = _key_and_checkpoints(create=False)
    checkpoints, problems = trail_anchor.read_checkpoints(path, key)
    keyed = sorted({c.first_keyed for c in checkpoints if c.first_keyed is not None})
    if len(keyed) > 1:
        problems.append(f"{path}: its checkpoints disagree on the first keyed entry ({', '.join(map(str, keyed))})")
    columns = [getattr(AuditEntry, name) for name in FIELDS]
    columns += [AuditEntry.id, AuditEntry.prev_hash, AuditEntry.hash, AuditEntry.mac]
    rows = db.session.execute(select(*columns).order_by(AuditEntry.seq).execution_options(yield_per=batch))
    verdict = verify_chain(
        (row._asdict() for row in rows),
        key=key,
        anchors=(*checkpoints, *anchors),
        first_keyed=keyed[0] if keyed else None,
    )
    last = max(checkpoints, key=lambda c: c.seq, default=None)
    return TrailCheck(verdict, tuple(problems), len(checkpoints), last, keyed[0] if keyed else None)


def verify(batch: int = 2000) -> Verdict:
    """The chain's verdict of `check` (hashes, MACs, checkpoints)."""
    return check(batch=batch).verdict


def head() -> Anchor:
    """The committed trail's head as an anchor (count, last entry and its hash), for reports."""
    row = db.session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, digest = (row.seq, row.hash) if row else (0, GENESIS)
    return Anchor(seq, digest, seq, "the report")


# --- reading the trail ------------------------------------------------------------------------


@dataclass(frozen=True)
class TrailFilter:
    """What the audit page asks for; empty fields do not filter."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    assessment_id: int | None = None
    scope_id: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def _visible(stmt, visible_scopes: list[int] | None, visible_assessments: list[int] | None):
    if visible_scopes is not None or visible_assessments is not None:
        stmt = stmt.where(
            AuditEntry.scope_id.in_(visible_scopes or []) | AuditEntry.assessment_id.in_(visible_assessments or [])
        )
    return stmt


@dataclass(frozen=True)
class TrailChoices:
    """What the audit page's filters offer: the actors, actions and object kinds of the entries the
    reader may see (so a filter is chosen, not guessed), and the range of their dates."""

    actors: tuple[str, ...]
    actions: tuple[str, ...]
    object_types: tuple[str, ...]
    first_day: str | None
    last_day: str | None


def choices(visible_scopes: list[int] | None, visible_assessments: list[int] | None) -> TrailChoices:
    """The distinct actors, actions and object kinds present in the visible trail, sorted."""

    def distinct(column) -> tuple[str, ...]:
        stmt = _visible(select(column).distinct(), visible_scopes, visible_assessments)
        return tuple(sorted(v for v in db.session.scalars(stmt) if v))

    first, last = db.session.execute(
        _visible(select(func.min(AuditEntry.at), func.max(AuditEntry.at)), visible_scopes, visible_assessments)
    ).one()
    return TrailChoices(
        distinct(AuditEntry.actor),
        distinct(AuditEntry.action),
        distinct(AuditEntry.object_type),
        first[:10] if first else None,
        last[:10] if last else None,
    )


def query(
    where: TrailFilter,
    visible_scopes: list[int] | None,
    visible_assessments: list[int] | None,
    *,
    oldest_first: bool = False,
):
    """The select of entries matching `where`, newest first (or oldest first), limited to what the
    reader may see.

    `visible_scopes` / `visible_assessments` of None mean everything (admin, program lead);
    otherwise only entries about those scopes or assessments are returned.
    """
    stmt = _visible(select(AuditEntry), visible_scopes, visible_assessments)
    if where.actor:
        stmt = stmt.where(AuditEntry.actor == where.actor)
    if where.action:
        stmt = stmt.where(AuditEntry.action.startswith(where.action))
    if where.object_type:
        stmt = stmt.where(AuditEntry.object_type == where.object_type)
    if where.assessment_id is not None:
        stmt = stmt.where(AuditEntry.assessment_id == where.assessment_id)
    if where.scope_id is not None:
        stmt = stmt.where(AuditEntry.scope_id == where.scope_id)
    if where.since is not None:
        stmt = stmt.where(AuditEntry.at >= where.since.isoformat())
    if where.until is not None:
        stmt = stmt.where(AuditEntry.at < (where.until + dt.timedelta(days=1)).isoformat())
    return stmt.order_by(AuditEntry.seq if oldest_first else AuditEntry.seq.desc())


def for_assessment(assessment_id: int) -> list[AuditEntry]:
    """An assessment's own trail, oldest first (for its report)."""
    return list(
        db.session.scalars(select(AuditEntry).where(AuditEntry.assessment_id == assessment_id).order_by(AuditEntry.seq))
    )
