"""What keeps the audit trail honest outside the database: its key and its checkpoint file.

The key: `ASSESSMENT_TRAIL_KEY` from the environment (or `TRAIL_KEY` in instance/config.py) when
set, else the file `instance/trail_key` (`TRAIL_KEY_FILE`), created on first use, mode 0600,
atomically: a complete file is linked into place, so two processes starting at once both end up
with the one that won and nobody ever reads a half-written key. Its text is the key: copying the
file's line into the environment variable gives the same key.

The checkpoints: `instance/audit-checkpoints.jsonl` (`TRAIL_CHECKPOINTS_FILE`), one signed line
per commit that added entries (seq, head hash, count, time, first keyed entry, HMAC signature).
Each line is appended with one write on a descriptor opened with O_APPEND, so lines written by
several processes at once never interleave. A line is written after its commit: a process that
dies between the two leaves those entries covered by the next checkpoint only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from ..domain.trail import Anchor, checkpoint_line, parse_checkpoint
from ..keyfiles import write_once

KEY_ENV = "ASSESSMENT_TRAIL_KEY"
MIN_KEY_CHARS = 32

log = logging.getLogger(__name__)
_keys: dict[str, bytes] = {}
_keys_lock = threading.Lock()


class TrailKeyError(RuntimeError):
    """The trail key cannot be used: the message says what to fix."""


def key_file(config: Any, instance_path: str) -> Path:
    """Where the key file of an application lives."""
    return Path(config.get("TRAIL_KEY_FILE") or Path(instance_path) / "trail_key")


def checkpoints_file(config: Any, instance_path: str) -> Path:
    """Where the checkpoint file of an application lives."""
    return Path(config.get("TRAIL_CHECKPOINTS_FILE") or Path(instance_path) / "audit-checkpoints.jsonl")


def _checked(text: str, where: str) -> bytes:
    text = text.strip()
    if len(text) < MIN_KEY_CHARS:
        raise TrailKeyError(
            f"The audit trail key in {where} is {len(text)} characters long; it needs at least {MIN_KEY_CHARS} "
            "(a random one: python -c 'import secrets; print(secrets.token_hex(32))')."
        )
    return text.encode("utf-8")


def trail_key(config: Any, instance_path: str, *, create: bool = True) -> bytes | None:
    """The trail's key: the environment's (or the configuration's) when set, else the instance's key
    file, made on first use when `create`. None when there is none and `create` is false."""
    text = os.environ.get(KEY_ENV) or config.get("TRAIL_KEY")
    if text:
        return _checked(str(text), KEY_ENV if os.environ.get(KEY_ENV) else "the configuration (TRAIL_KEY)")
    path = key_file(config, instance_path)
    cached = _keys.get(str(path))
    if cached is not None:
        return cached
    with _keys_lock:
        if not path.exists():
            if not create:
                return None
            write_once(path, secrets.token_hex(32) + "\n")
        try:
            key = _checked(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError) as error:
            raise TrailKeyError(f"The audit trail key {path} cannot be read: {error}") from None
        _keys[str(path)] = key
        return key


def append_checkpoint(path: Path, key: bytes, seq: int, head: str, first_keyed: int | None) -> None:
    """Append one signed checkpoint line (one write, O_APPEND: concurrent writers never interleave)."""
    at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    line = checkpoint_line(key, Anchor(seq, head, seq, at=at, first_keyed=first_keyed)).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"only {written} of {len(line)} bytes of a checkpoint were written")
    finally:
        os.close(fd)


def recorded_first_keyed(path: Path) -> int | None:
    """The first keyed entry as the checkpoint file's first line records it; None without a usable line."""
    try:
        with path.open(encoding="utf-8") as f:
            first = f.readline()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        value = json.loads(first).get("first_keyed")
    except (ValueError, AttributeError):
        return None
    return value if type(value) is int else None


def read_checkpoints(path: Path, key: bytes | None) -> tuple[list[Anchor], list[str]]:
    """Every valid checkpoint of the file, and one line per problem (a forged, altered or cut line)."""
    anchors: list[Anchor] = []
    problems: list[str] = []
    try:
        handle = path.open(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], []
    except OSError as error:
        return [], [f"{path}: cannot be read: {error.strerror or error}"]
    with handle:
        if key is None:
            count = sum(1 for line in handle if line.strip())
            if count:
                problems.append(f"{path}: {count} checkpoint(s) cannot be checked: there is no trail key")
            return [], problems
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                anchors.append(parse_checkpoint(line, key, f"the checkpoint at {path} line {number}"))
            except ValueError as error:
                problems.append(str(error))
    return anchors, problems
