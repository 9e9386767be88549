"""The evidence store: content-addressed files, key `ab/abcdef...` (the SHA-256 of the bytes) in a blob
store (adapters/blobs.py: the folder instance/evidence, or `evidence/` of an S3 bucket). An upload is
spooled to a temporary file while it is hashed and measured, and only then put in the store, so a
refused or too large upload stores nothing. The use cases in services/evidence.py decide what may be stored."""

from __future__ import annotations

import errno
import hashlib
import itertools
import re
import tempfile
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select

from ..extensions import db
from ..models import Evidence as EvidenceRow
from ..services.errors import InvalidInput, NotFound
from .blobs import BlobMissing, BlobStore, FolderBlobs, Reader, StorageUnavailable

CHUNK = 1 << 16
SPOOL_IN_MEMORY = 1 << 20  # an upload up to this size is spooled in memory, a larger one on disk
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


def evidence_key(sha256: str) -> str:
    """The key of the file with this hash: `ab/abcdef...`; NotFound for anything but a SHA-256."""
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise NotFound("No such evidence file.")
    return f"{sha256[:2]}/{sha256}"


@dataclass(frozen=True)
class StoredSource:
    """An evidence file's bytes in the store, as a report's bundle reads them (reports.model.EvidenceEntry.source)."""

    store: EvidenceStore
    sha256: str

    @property
    def name(self) -> str:
        return self.sha256

    @contextmanager
    def open(self, mode: str = "rb"):
        """The stored bytes, streamed; OSError when they are gone or cannot be read."""
        if mode != "rb":
            raise ValueError("stored evidence is read as bytes")
        try:
            reader = self.store.open(self.sha256)
        except NotFound:
            raise FileNotFoundError(errno.ENOENT, "the file is missing from the evidence store") from None
        except StorageUnavailable as error:
            raise OSError(errno.EIO, error.message) from None
        try:
            yield reader
        finally:
            reader.close()


class EvidenceStore:
    """Content-addressed evidence files in a blob store; `root` is a folder for the folder store."""

    def __init__(self, root: str | Path | BlobStore, max_bytes: int):
        self.blobs: BlobStore = FolderBlobs(root) if isinstance(root, str | Path) else root
        self.max_bytes = max_bytes

    def save(self, stream: BinaryIO, head: bytes = b"") -> StoredFile:
        """Store `head` then the rest of `stream`; raise TooLarge (storing nothing) past the limit."""
        digest, size = hashlib.sha256(), 0
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, prefix="assessment-upload-") as spool:
            for chunk in itertools.chain((head,), iter(lambda: stream.read(CHUNK), b"")):
                size += len(chunk)
                if size > self.max_bytes:
                    limit = self.max_bytes / 1024 / 1024
                    raise TooLarge(f"The file is larger than the limit of {limit:.0f} MB; nothing was stored.")
                digest.update(chunk)
                spool.write(chunk)
            sha256 = digest.hexdigest()
            key = evidence_key(sha256)
            if self.blobs.exists(key):
                return StoredFile(sha256, size, created=False)
            spool.seek(0)
            self.blobs.put(key, spool, sha256)
        return StoredFile(sha256, size, created=True)

    def exists(self, sha256: str) -> bool:
        """Whether the file with this hash is in the store."""
        return self.blobs.exists(evidence_key(sha256))

    def open(self, sha256: str) -> Reader:
        """The stored file with this hash, streamed; NotFound when it is not in the store."""
        try:
            return self.blobs.open(evidence_key(sha256))
        except BlobMissing:
            raise NotFound("The stored file is missing from the evidence store.") from None

    def local_path(self, sha256: str) -> Path | None:
        """The file on this machine holding these bytes (folder store), else None."""
        return self.blobs.local_path(evidence_key(sha256))

    def source(self, sha256: str) -> StoredSource:
        """The stored file with this hash as a bundle's source of evidence bytes."""
        evidence_key(sha256)
        return StoredSource(self, sha256)

    def discard(self, stored: StoredFile | None) -> None:
        """Remove a file this request created and no committed row refers to."""
        if stored is None or not stored.created:
            return
        in_use = db.session.scalar(
            select(func.count()).select_from(EvidenceRow).where(EvidenceRow.sha256 == stored.sha256)
        )
        if not in_use:
            try:
                self.blobs.delete(evidence_key(stored.sha256))
            except StorageUnavailable:  # an orphan of known bytes harms nobody; the request's own error is told
                pass


def safe_filename(name: str | None) -> str:
    """The last part of a client-given file name, without path, control characters or leading dots."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    return name[:255] or "upload"
