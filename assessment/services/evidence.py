"""Evidence: files and links, both belonging to a scope, and their links to requirements.

A file's type is sniffed from its first bytes before anything is written (adapters/filetypes.py
holds the allow-list); adapters/evidence_store.py then stores it by SHA-256. An upload that is
refused, too large, or whose database row is not committed leaves no file behind.
"""

from __future__ import annotations

import datetime as dt
from typing import BinaryIO
from urllib.parse import urlsplit

from sqlalchemy import delete, select

from ..adapters.evidence_store import EvidenceStore, StoredFile, safe_filename
from ..adapters.filetypes import SNIFF_BYTES, accepted_media_type
from ..domain.events import EvidenceLinked, EvidenceUnlinked
from ..extensions import db
from ..models import Assessment, EvidenceLink, Scope
from ..models import Evidence as EvidenceRow
from . import audit
from .errors import InvalidInput, NotFound
from .library import framework_of


def _dates(effective: dt.date | None, expires: dt.date | None) -> None:
    if effective and expires and expires < effective:
        raise InvalidInput(f"The expiry date {expires} is before the effective date {effective}.", field="expires")


def _title(title: str | None, fallback: str) -> str:
    title = (title or "").strip() or fallback
    if len(title) > 500:
        raise InvalidInput("An evidence title is at most 500 characters.", field="title")
    return title


def check_url(url: str | None) -> str:
    """An http(s) URL, or InvalidInput: evidence links are printed, never fetched or executed."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise InvalidInput(
            "An evidence link must be an http:// or https:// URL of at most 2,000 characters.", field="url"
        )
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
    source: str = "upload",
) -> tuple[EvidenceRow, StoredFile]:
    """Store an uploaded file as evidence of one requirement (`source`: upload, or import from an answers
    file). The caller discards the file if it rolls back."""
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
        source=source,
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
    source: str = "link",
) -> EvidenceRow:
    """Record a link as evidence of one requirement (`source`: link, or import from an answers file)."""
    _check(assessment, requirement_id, effective, expires)
    url = check_url(url)
    row = EvidenceRow(
        scope_id=assessment.scope_id,
        title=_title(title, url),
        url=url,
        effective=effective,
        expires=expires,
        created_by=user,
        source=source,
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


def linked_item(assessment: Assessment, requirement_id: str, evidence_id: int) -> EvidenceRow | None:
    """The evidence item supporting `requirement_id` in this assessment; None if it is the scope's but no longer
    linked here (removed already), NotFound if it is not this scope's at all."""
    item = db.session.scalar(
        select(EvidenceRow)
        .join(EvidenceLink, EvidenceLink.evidence_id == EvidenceRow.id)
        .where(
            EvidenceLink.assessment_id == assessment.id,
            EvidenceLink.requirement_id == requirement_id,
            EvidenceRow.id == evidence_id,
        )
    )
    if item is None:
        other = db.session.get(EvidenceRow, evidence_id)
        if other is None or other.scope_id != assessment.scope_id:
            raise NotFound(f"Evidence #{evidence_id} does not support {requirement_id} in this assessment.")
    return item


def unlink(assessment: Assessment, requirement_id: str, evidence_id: int) -> None:
    """Stop an evidence item supporting a requirement; the item stays in the scope."""
    _editable(assessment)
    _lock(assessment)
    remove_link(assessment, requirement_id, evidence_id)


def remove_link(assessment: Assessment, requirement_id: str, evidence_id: int) -> None:
    """Delete the link, recording it in the trail when there was one; the caller has checked and locked."""
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
