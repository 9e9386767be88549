"""Evidence: files stored by SHA-256 under instance/evidence/, and links; both belong to a scope.

A file's type is sniffed from its first bytes before anything is written (filetypes.py holds
the allow-list); it is then written to a temporary name while it is hashed and measured, then
moved into place. An upload that is refused, too large, or whose database row is not committed
leaves no file behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select

from ..domain.events import EvidenceLinked, EvidenceUnlinked
from ..extensions import db
from ..models import Assessment, EvidenceLink, Scope
from ..models import Evidence as EvidenceRow
from . import audit
from .errors import InvalidInput, NotFound
from .filetypes import SNIFF_BYTES, accepted_media_type
from .library import framework_of

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

    def save_bytes(self, data: bytes) -> StoredFile:
        """Store bytes already in memory."""
        import io

        return self.save(io.BytesIO(data))

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


def _dates(effective: dt.date | None, expires: dt.date | None) -> None:
    if effective and expires and expires < effective:
        raise InvalidInput(f"The expiry date {expires} is before the effective date {effective}.")


def _title(title: str | None, fallback: str) -> str:
    title = (title or "").strip() or fallback
    if len(title) > 500:
        raise InvalidInput("An evidence title is at most 500 characters.")
    return title


def check_url(url: str | None) -> str:
    """An http(s) URL, or InvalidInput: evidence links are printed, never fetched or executed."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise InvalidInput("An evidence link must be an http:// or https:// URL of at most 2,000 characters.")
    return url


def _requirement(assessment: Assessment, requirement_id: str) -> None:
    if requirement_id not in framework_of(assessment.framework_version).requirement_index:
        raise NotFound(f"This assessment's framework has no requirement {requirement_id!r}.")


def _editable(assessment: Assessment) -> None:
    from .assessments import ensure_editable

    ensure_editable(assessment)


def _lock(assessment: Assessment) -> None:
    """The first write of every change to the assessment's evidence: check its status where it cannot
    change any more, and mark the assessment changed (see assessments.lock_for_change)."""
    from .assessments import lock_for_change

    lock_for_change(assessment)


def described(row: EvidenceRow) -> dict:
    """An evidence item as the audit trail records it."""
    return {
        "title": row.title,
        "url": row.url,
        "sha256": row.sha256,
        "name": row.original_name,
        "size": row.size,
        "media_type": row.media_type,
        "effective": row.effective,
        "expires": row.expires,
    }


def add_file(
    store: EvidenceStore,
    assessment: Assessment,
    requirement_id: str,
    stream: BinaryIO,
    filename: str | None,
    title: str | None,
    effective: dt.date | None,
    expires: dt.date | None,
    user: str,
) -> tuple[EvidenceRow, StoredFile]:
    """Store an uploaded file as evidence of one requirement. The caller discards the file if it rolls back."""
    _check(assessment, requirement_id, effective, expires)
    name = safe_filename(filename)
    title = _title(title, name)
    head = stream.read(SNIFF_BYTES)
    media_type = accepted_media_type(head, name)
    stored = store.save(stream, head)
    row = EvidenceRow(
        scope_id=assessment.scope_id,
        title=title,
        sha256=stored.sha256,
        original_name=name,
        size=stored.size,
        media_type=media_type,
        effective=effective,
        expires=expires,
        created_by=user,
    )
    return _attach_new(assessment, requirement_id, row), stored


def add_link(
    assessment: Assessment,
    requirement_id: str,
    url: str | None,
    title: str | None,
    effective: dt.date | None,
    expires: dt.date | None,
    user: str,
) -> EvidenceRow:
    """Record a link as evidence of one requirement."""
    _check(assessment, requirement_id, effective, expires)
    url = check_url(url)
    row = EvidenceRow(
        scope_id=assessment.scope_id,
        title=_title(title, url),
        url=url,
        effective=effective,
        expires=expires,
        created_by=user,
    )
    return _attach_new(assessment, requirement_id, row)


def _check(assessment: Assessment, requirement_id: str, effective: dt.date | None, expires: dt.date | None) -> None:
    """What every new piece of evidence must pass: a draft, a known requirement, dates in order."""
    _editable(assessment)
    _requirement(assessment, requirement_id)
    _dates(effective, expires)


def _attach_new(assessment: Assessment, requirement_id: str, row: EvidenceRow) -> EvidenceRow:
    """Store a new evidence row and let it support the requirement."""
    _lock(assessment)
    db.session.add(row)
    db.session.flush()
    audit.record("evidence.added", "evidence", row.id, scope_id=row.scope_id, after=described(row))
    link(assessment, requirement_id, row)
    return row


def link(assessment: Assessment, requirement_id: str, evidence: EvidenceRow) -> None:
    """Let an existing evidence item of the same scope support a requirement (idempotent)."""
    if evidence.scope_id != assessment.scope_id:
        raise NotFound("No such evidence in this scope.")
    _lock(assessment)
    exists = db.session.scalar(
        select(EvidenceLink.id).where(
            EvidenceLink.assessment_id == assessment.id,
            EvidenceLink.requirement_id == requirement_id,
            EvidenceLink.evidence_id == evidence.id,
        )
    )
    if exists is None:
        db.session.add(
            EvidenceLink(assessment_id=assessment.id, requirement_id=requirement_id, evidence_id=evidence.id)
        )
        db.session.flush()
        audit.emit(assessment, EvidenceLinked(requirement_id, evidence.id, evidence.title))


def reuse(assessment: Assessment, requirement_id: str, evidence_id: int) -> EvidenceRow:
    """Attach evidence the scope already has to another requirement."""
    _editable(assessment)
    _requirement(assessment, requirement_id)
    evidence = db.session.get(EvidenceRow, evidence_id)
    if evidence is None or evidence.scope_id != assessment.scope_id:
        raise NotFound("No such evidence in this scope.")
    link(assessment, requirement_id, evidence)
    return evidence


def unlink(assessment: Assessment, requirement_id: str, evidence_id: int) -> None:
    """Stop an evidence item supporting a requirement; the item stays in the scope."""
    _editable(assessment)
    _lock(assessment)
    removed = db.session.execute(
        delete(EvidenceLink).where(
            EvidenceLink.assessment_id == assessment.id,
            EvidenceLink.requirement_id == requirement_id,
            EvidenceLink.evidence_id == evidence_id,
        )
    )
    if removed.rowcount:
        audit.emit(assessment, EvidenceUnlinked(requirement_id, evidence_id))


def record_download(item: EvidenceRow) -> None:
    """An evidence file was downloaded: auditors ask who saw what."""
    audit.record(
        "evidence.downloaded",
        "evidence",
        item.id,
        scope_id=item.scope_id,
        after={"sha256": item.sha256, "name": item.original_name},
    )


def scope_evidence_choices(scope_id: int, limit: int | None = None) -> list:
    """Id, title and expiry of a scope's evidence items, newest first (rows, for pickers)."""
    query = (
        select(EvidenceRow.id, EvidenceRow.title, EvidenceRow.expires)
        .where(EvidenceRow.scope_id == scope_id)
        .order_by(EvidenceRow.id.desc())
    )
    return list(db.session.execute(query if limit is None else query.limit(limit)))


def scope_evidence(scope: Scope) -> list[EvidenceRow]:
    """Every evidence item of a scope, newest first."""
    return list(
        db.session.scalars(select(EvidenceRow).where(EvidenceRow.scope_id == scope.id).order_by(EvidenceRow.id.desc()))
    )


def get_evidence(evidence_id: int) -> EvidenceRow:
    """An evidence item, or NotFound."""
    evidence = db.session.get(EvidenceRow, evidence_id)
    if evidence is None:
        raise NotFound("No such evidence.")
    return evidence
