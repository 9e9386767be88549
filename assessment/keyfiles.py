"""Files that hold a secret: written once, whole, readable by their owner alone."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_once(path: Path, text: str) -> None:
    """Put `text` in `path` (mode 0600) unless the file exists already; an existing one is kept.

    The text goes to a private temporary file (O_EXCL, mode 0600) that is then linked to its name:
    linking fails if the name exists, so processes starting at once agree on the first one's file and
    nobody ever reads a half-written one. Where the file system has no hard links, the name itself
    is created exclusively instead.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process created it first: theirs is kept
        except OSError:
            try:
                with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
                    file.write(text)
            except FileExistsError:
                pass
    finally:
        os.unlink(temporary)
