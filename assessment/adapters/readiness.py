"""Whether this process can do its work: the database answers, the storage (folders or S3 bucket) takes
files, the job queue answers. Each check says ok or what failed, in words an operator can act on, naming no
secret or path."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as CheckTimedOut

from flask import Flask
from sqlalchemy import text

from ..extensions import db, report_store

# Checks run on their own threads so a database that does not answer costs the probe its timeout, not
# the operating system's connect timeout; a hung check keeps its thread, and the next probe gets another.
_threads = ThreadPoolExecutor(max_workers=6, thread_name_prefix="readyz")


def _select_one(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def database(app: Flask, timeout: float) -> dict:
    """`SELECT 1` on a connection of the pool, within `timeout` seconds."""
    future = _threads.submit(_select_one, app)
    try:
        future.result(timeout=timeout)
    except CheckTimedOut:
        return {"ok": False, "error": f"no answer within {timeout:g} s"}
    except Exception as exc:  # noqa: BLE001 (any failure is the answer; its text may hold the URL, so only its kind)
        return {"ok": False, "error": f"cannot connect or query ({type(exc).__name__})"}
    return {"ok": True}


def _ask_storage(app: Flask, timeout: float) -> dict:
    """Start the storage checks: the evidence store and the report store, each on a thread of its own."""
    store = report_store(app)
    return {
        name: (blobs.kind, _threads.submit(blobs.check, timeout))
        for name, blobs in (("evidence", store.evidence.blobs), ("reports", store.blobs))
    }


def storage(app: Flask, timeout: float = 2, asked: dict | None = None) -> dict:
    """The evidence store and the report store take files: each folder exists (or can be made) and takes a
    new file, or the S3 bucket answers HeadBucket within `timeout` seconds (both asked at once)."""
    asked = asked if asked is not None else _ask_storage(app, timeout)
    failed = {}
    for name, (kind, future) in asked.items():
        try:
            why = future.result(timeout=timeout)
        except CheckTimedOut:
            why = f"gave no answer within {timeout:g} s"
        if why is not None:
            failed[name] = f"the {name} {kind} {why}"
    if failed:
        return {"ok": False, "error": "; ".join(failed.values())}
    return {"ok": True}


def _queue_state(app: Flask, timeout: float) -> int:
    from . import background

    background.ping(app, timeout)
    return background.depth(app)


def queue(app: Flask, timeout: float) -> dict:
    """The job queue answers within `timeout` seconds (Redis's PING, or the SQLite queue file takes a
    write), with the number of messages waiting on it."""
    from . import background

    kind = background.kind(app)
    future = _threads.submit(_queue_state, app, timeout)
    try:
        waiting = future.result(timeout=timeout + 0.5)
    except CheckTimedOut:
        return {"ok": False, "kind": kind, "error": f"no answer within {timeout:g} s"}
    except Exception as exc:  # noqa: BLE001 (its text may hold the Redis URL or the file's path: only its kind)
        return {"ok": False, "kind": kind, "error": f"cannot reach the queue ({type(exc).__name__})"}
    return {"ok": True, "kind": kind, "depth": waiting}


def check(app: Flask) -> dict[str, dict]:
    """Every dependency's check, by name."""
    timeout = float(app.config.get("READYZ_TIMEOUT_SECONDS") or 2)
    asked = _ask_storage(app, timeout)  # the stores are asked while the database answers
    return {"database": database(app, timeout), "storage": storage(app, timeout, asked), "queue": queue(app, timeout)}
