"""Sign-in throttling, counted atomically in the database so it holds across processes and threads.

Two counters see each attempt: one for the account *from this address*, one for the address.
An attempt is reserved (counted, and held as if it will fail) in a short transaction of its
own, committed *before* the password is checked, so N concurrent guesses get exactly the
allowed number of checks; a correct password then clears what it reserved.

- Account and address: `free` attempts, then each further one holds the pair for a delay that
  doubles from `delay` up to `max_delay`. Another address is never affected, so an attacker
  cannot lock the owner out from elsewhere.
- Address: `address_free` attempts (any user names), then each further one holds the address
  for a delay doubling from `address_delay` up to `address_max_delay`; a browser that has signed
  in to the account before (it shows a signed "known device" cookie) is not held by it.

A counter is forgotten `window` after its last attempt or hold.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError

from ..extensions import db
from ..models import SignInThrottle

TABLE = SignInThrottle.__table__


@dataclass(frozen=True)
class Limits:
    """The throttle's rule (config LOGIN_*)."""

    free: int = 5
    delay: dt.timedelta = dt.timedelta(minutes=1)
    max_delay: dt.timedelta = dt.timedelta(hours=1)
    address_free: int = 50
    address_delay: dt.timedelta = dt.timedelta(seconds=1)
    address_max_delay: dt.timedelta = dt.timedelta(minutes=1)
    window: dt.timedelta = dt.timedelta(minutes=15)

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        """The rule as the instance configures it."""
        seconds = dt.timedelta(seconds=1)
        return cls(
            free=int(config["LOGIN_MAX_FAILURES"]),
            delay=int(config["LOGIN_DELAY_SECONDS"]) * seconds,
            max_delay=int(config["LOGIN_MAX_DELAY_SECONDS"]) * seconds,
            address_free=int(config["LOGIN_IP_MAX_FAILURES"]),
            address_delay=int(config["LOGIN_IP_DELAY_SECONDS"]) * seconds,
            address_max_delay=int(config["LOGIN_IP_MAX_DELAY_SECONDS"]) * seconds,
            window=int(config["LOGIN_WINDOW_SECONDS"]) * seconds,
        )


def pair_key(username: str, address: str) -> str:
    """The counter of one account (user name, existing or not) from one address."""
    return f"account {address} {username}"[:300]


def address_key(address: str) -> str:
    """The counter of one address, whatever the user names."""
    return f"address {address}"[:300]


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.replace(tzinfo=dt.UTC) if moment is not None and moment.tzinfo is None else moment


def _hold(attempt: int, free: int, base: dt.timedelta, cap: dt.timedelta) -> dt.timedelta | None:
    if attempt < free:
        return None
    return min(cap, base * 2 ** min(attempt - free, 30))


DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for a transaction chosen to end a deadlock
RESERVE_TRIES = 3


def reserve(username: str, address: str, limits: Limits, *, address_exempt: bool = False) -> dt.timedelta | None:
    """Count one attempt before its password is checked, or return how long the attempt must wait (see _reserve).

    On PostgreSQL, attempts at once can lock the same counters in different orders (the sweep of stale ones
    locks any); the database then ends one of the transactions, which changed nothing, and it is tried again."""
    for attempt in range(RESERVE_TRIES):
        try:
            return _reserve(username, address, limits, address_exempt=address_exempt)
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != DEADLOCK or attempt == RESERVE_TRIES - 1:
                raise
    return None  # not reached: the last try returns or raises


def _reserve(username: str, address: str, limits: Limits, *, address_exempt: bool = False) -> dt.timedelta | None:
    """Count one attempt before its password is checked, or return how long the attempt must wait.

    Runs in a transaction of its own, committed at once: the count must be visible to every other
    process before the password is checked (a named exception to one commit per request; the
    other is views/reports.py, whose job must be committed before its worker starts).
    """
    now = dt.datetime.now(dt.UTC)
    rules = {pair_key(username, address): (limits.free, limits.delay, limits.max_delay)}
    if not address_exempt:
        rules[address_key(address)] = (limits.address_free, limits.address_delay, limits.address_max_delay)
    keys = sorted(rules)
    with db.engine.begin() as connection:
        insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
        rows = []
        for _ in range(3):  # a right password or code deleting the pair's row between the two statements: again
            for key in keys:  # creates the row, or waits for the one writer that holds it (SQLite: the write lock)
                connection.execute(
                    insert(TABLE).values(key=key, attempts=0, last_at=now, held_until=None).on_conflict_do_nothing()
                )
            rows = connection.execute(
                select(TABLE).where(TABLE.c.key.in_(keys)).order_by(TABLE.c.key).with_for_update()
            ).all()
            if len(rows) == len(keys):
                break
        else:
            raise RuntimeError("the sign-in throttle's counters kept disappearing; try again")
        state = {}
        for row in rows:
            last, held = _aware(row.last_at), _aware(row.held_until)
            if now >= max(last, held or last) + limits.window:
                state[row.key] = (0, None)  # quiet for a window: forgotten
            else:
                state[row.key] = (row.attempts, held)
        waits = [held - now for _, held in state.values() if held is not None and held > now]
        if waits:
            return max(waits)
        for key in keys:
            attempt = state[key][0] + 1
            hold = _hold(attempt, *rules[key])
            connection.execute(
                update(TABLE)
                .where(TABLE.c.key == key)
                .values(attempts=attempt, last_at=now, held_until=now + hold if hold is not None else None)
            )
        stale = now - limits.window - max(limits.max_delay, limits.address_max_delay)
        connection.execute(
            delete(TABLE).where(TABLE.c.last_at < stale, or_(TABLE.c.held_until.is_(None), TABLE.c.held_until < now))
        )
    return None


def succeeded(username: str, address: str, limits: Limits, *, address_exempt: bool = False) -> None:
    """A correct password: the pair's counter goes, and the address gets its reserved attempt back
    (in the request's transaction)."""
    db.session.execute(delete(TABLE).where(TABLE.c.key == pair_key(username, address)))
    if not address_exempt:
        key = address_key(address)
        db.session.execute(
            update(TABLE).where(TABLE.c.key == key, TABLE.c.attempts > 0).values(attempts=TABLE.c.attempts - 1)
        )
        db.session.execute(
            update(TABLE)
            .where(and_(TABLE.c.key == key, TABLE.c.attempts < limits.address_free))
            .values(held_until=None)
        )
