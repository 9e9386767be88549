"""Whether this process can do its work: the database answers, the storage folders take files, the job
queue answers. Each check says ok or what failed, in words an operator can act on, naming no secret or path."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as CheckTimedOut
from pathlib import Path

from flask import Flask
from sqlalchemy import text

from ..extensions import db, report_store

# Checks run on their own threads so a database that does not answer costs the probe its timeout, not
# the operating system's connect timeout; a hung check keeps its thread, and the next probe gets another.
_threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


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


def _writable(folder: Path) -> str | None:
    """None when a file can be created (and removed) in the folder, which is created when missing."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".readyz-"):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def storage(app: Flask) -> dict:
    """The evidence folder and the report folder exist (or can be made) and take a new file."""
    store = report_store(app)
    failed = {
        name: why
        for name, folder in (("evidence", store.evidence.root), ("reports", store.folder))
        if (why := _writable(folder)) is not None
    }
    if failed:
        return {
            "ok": False,
            "error": "; ".join(f"the {name} folder is not writable ({why})" for name, why in failed.items()),
        }
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
    return {"database": database(app, timeout), "storage": storage(app), "queue": queue(app, timeout)}
