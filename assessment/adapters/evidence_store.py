"""The evidence store: content-addressed files under instance/evidence/ab/abcdef..., written to a
temporary name while they are hashed and measured, then moved into place, so a refused or too large
upload leaves nothing behind. The use cases in services/evidence.py decide what may be stored."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select

from ..extensions import db
from ..models import Evidence as EvidenceRow
from ..services.errors import InvalidInput, NotFound

CHUNK = 1 << 16
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


class TooLarge(InvalidInput):
    """An upload over the configured limit."""

    status = 413


@dataclass(frozen=True)
class StoredFile:
    """A file in the store, and whether this upload created it."""

    sha256: str
    size: int
    created: bool


class EvidenceStore:
    """Content-addressed files: instance/evidence/ab/abcdef..."""

    def __init__(self, root: Path, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes

    def path_for(self, sha256: str) -> Path:
        """Where the file with this hash lives."""
        if not _SHA256.match(sha256):
            raise NotFound("No such evidence file.")
        return self.root / sha256[:2] / sha256

    def save(self, stream: BinaryIO, head: bytes = b"") -> StoredFile:
        """Store `head` then the rest of `stream`; raise TooLarge (storing nothing) past the limit."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        handle, temp_name = tempfile.mkstemp(prefix=".upload-", dir=self.root)
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in itertools.chain((head,), iter(lambda: stream.read(CHUNK), b"")):
                    size += len(chunk)
                    if size > self.max_bytes:
                        limit = self.max_bytes / 1024 / 1024
                        raise TooLarge(f"The file is larger than the limit of {limit:.0f} MB; nothing was stored.")
                    digest.update(chunk)
                    out.write(chunk)
            sha256 = digest.hexdigest()
            final = self.path_for(sha256)
            if final.exists():
                return StoredFile(sha256, size, created=False)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp_name, final)
            temp_name = ""
            return StoredFile(sha256, size, created=True)
        finally:
            if temp_name and os.path.exists(temp_name):
                os.unlink(temp_name)

    def discard(self, stored: StoredFile | None) -> None:
        """Remove a file this request created and no committed row refers to."""
        if stored is None or not stored.created:
            return
        in_use = db.session.scalar(
            select(func.count()).select_from(EvidenceRow).where(EvidenceRow.sha256 == stored.sha256)
        )
        if not in_use:
            self.path_for(stored.sha256).unlink(missing_ok=True)


def safe_filename(name: str | None) -> str:
    """The last part of a client-given file name, without path, control characters or leading dots."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    return name[:255] or "upload"
