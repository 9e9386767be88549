"""Audit bundles: one zip holding the report PDF, every evidence file and a manifest of hashes, so
an auditor can check, offline and years later, that nothing was changed since the report was made.

Layout of a bundle:

    manifest.json                 report facts, the PDF's SHA-256 and size, one entry per evidence item
    manifest.json.p7s             a detached CMS signature over manifest.json, when a signing key is given
    manifest.csv                  the evidence entries again, for a spreadsheet (same facts as the JSON)
    report.pdf                    the rendered report
    evidence/E-001-<file name>    each evidence file, under its evidence number

Evidence files are copied in chunks, never read whole, and their bytes are hashed on the way in:
a file whose SHA-256 is not the report's (the store was tampered with) is refused.

A signed bundle's manifest.json names its signer (subject and certificate SHA-256) and is signed
whole: the manifest holds every other file's hash, so the signature covers the bundle.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import unicodedata
import zipfile
from pathlib import Path
from typing import BinaryIO

from .bundle_check import (
    BUNDLE_FORMAT,
    CHUNK,
    MANIFEST_CSV,
    MANIFEST_JSON,
    MANIFEST_SIGNATURE,
    REPORT_PDF,
    manifest_csv_records,
    verify_bundle,
)
from .exports import to_csv
from .model import EvidenceEntry, FileSource, Report
from .signing import SigningConfig

__all__ = ["bundle_file_name", "report_file_name", "safe_file_name", "verify_bundle", "write_bundle"]

MAX_NAME = 150
_WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')


def safe_file_name(name: str | None) -> str:
    """The last part of `name`, without path, control characters or leading dots, at most 150 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    name = _WINDOWS_RESERVED.sub("_", name).strip().lstrip(".").strip()
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_NAME - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME]
    return name or "file"


def report_file_name(scope: str | None, framework_id: str, as_of, report_id: str | None, suffix: str) -> str:
    """A report's file name from its scope, framework, as-of date and id, made safe:
    `Payments-platform-devops-delivery-2026-11-21-RPT-1A2B-3C4D-5E6F.pdf` (`suffix` with its dot)."""
    parts = [scope or "", framework_id, str(as_of), report_id or ""]
    stem = "-".join("-".join(part.split()) for part in parts if part and part.strip())
    stem = re.sub(r"[/\\]", "-", stem)
    return safe_file_name(stem[: MAX_NAME - len(suffix)] + suffix)


def bundle_file_name(entry: EvidenceEntry) -> str | None:
    """Where an evidence entry's file sits in the bundle, or None for a link."""
    if entry.sha256 is None and entry.file_name is None:
        return None
    original = entry.file_name or (entry.source.name if entry.source else None)
    return f"evidence/{entry.number}-{safe_file_name(original)}"


def _manifest(report: Report, pdf: bytes, sizes: dict[str, int]) -> dict:
    """The manifest.json content: report facts, the PDF's hash, and every evidence entry, files and links."""
    card, fw = report.card, report.framework
    return {
        "format": BUNDLE_FORMAT,
        "report_id": report.id,
        "framework": {"id": fw.id, "title": fw.title, "version": fw.version},
        "scope": report.meta.scope,
        "as_of": card.as_of.isoformat(),
        "generated_at": report.meta.generated_at.isoformat(),
        "report_pdf": {"file": REPORT_PDF, "sha256": hashlib.sha256(pdf).hexdigest(), "size": len(pdf)},
        **_trail(report),
        "evidence": [
            {
                "number": e.number,
                "title": e.title,
                "requirement_ids": list(e.requirement_ids),
                "kind": "file" if bundle_file_name(e) else "link",
                "file": bundle_file_name(e),
                "file_name": e.file_name,
                "sha256": e.sha256,
                "size": sizes.get(e.number, e.size),
                "url": e.url,
                "effective": e.effective.isoformat() if e.effective else None,
                "expires": e.expires.isoformat() if e.expires else None,
                "current": e.current,
            }
            for e in report.evidence
        ],
    }


def _trail(report: Report) -> dict:
    """The application's audit trail when the report was built (count, head, and the two as one
    anchor for `assessment audit verify --anchor`); nothing for a report made from files."""
    anchor = report.trail_anchor
    if anchor is None:
        return {}
    return {"audit_trail": {"count": anchor.count, "seq": anchor.seq, "head": anchor.head, "anchor": anchor.text}}


def _hash_file(source: FileSource) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _files(report: Report) -> list[tuple[EvidenceEntry, str, FileSource, int]]:
    """(entry, name in the bundle, source, size) of every evidence file, each checked against the report's hash."""
    files = []
    for entry in report.evidence:
        name = bundle_file_name(entry)
        if name is None:
            continue
        if entry.sha256 is None:
            raise ValueError(f"evidence {entry.number} ({entry.title!r}) is a file without a SHA-256: cannot verify it")
        if entry.source is None:
            raise ValueError(
                f"evidence {entry.number} ({entry.title!r}): the bytes of {entry.file_name!r} "
                f"(SHA-256 {entry.sha256}) are not available: no source file was given"
            )
        try:
            actual, size = _hash_file(entry.source)
        except OSError as error:
            raise ValueError(
                f"evidence {entry.number} ({entry.title!r}): cannot read the stored bytes of {entry.file_name!r}: "
                f"{error.strerror or type(error).__name__}"
            ) from None
        if actual != entry.sha256:
            raise ValueError(
                f"evidence {entry.number} ({entry.title!r}): the stored {entry.file_name!r} has SHA-256 {actual}, "
                f"but the report says {entry.sha256}: the evidence store was changed; refusing to bundle it"
            )
        if entry.size is not None and size != entry.size:
            raise ValueError(
                f"evidence {entry.number}: the stored {entry.file_name!r} is {size} bytes, the report says {entry.size}"
            )
        files.append((entry, name, entry.source, size))
    return files


def _copy(
    archive: zipfile.ZipFile, entry: EvidenceEntry, name: str, source: FileSource, size: int, date_time: tuple
) -> None:
    """Stream `source` (`size` bytes) into the archive, hashing what is written; refuse bytes that changed meanwhile."""
    info = zipfile.ZipInfo(name, date_time=date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.file_size = size  # lets zipfile choose ZIP64 up front for large files
    digest = hashlib.sha256()
    with source.open("rb") as src, archive.open(info, "w", force_zip64=info.file_size > zipfile.ZIP64_LIMIT) as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
    if digest.hexdigest() != entry.sha256:
        raise ValueError(f"evidence {entry.number}: {source.name} changed while it was being bundled; refusing it")


def _write(report: Report, pdf: bytes, out: BinaryIO, signing: SigningConfig | None) -> None:
    files = _files(report)
    data = _manifest(report, pdf, {entry.number: size for entry, _, _, size in files})
    signature = None
    if signing is not None:
        from .signing import cert_sha256, load_signer, sign_data, subject_of

        signer = load_signer(signing)
        data["signature"] = {
            "file": MANIFEST_SIGNATURE,
            "signer": subject_of(signer),
            "certificate_sha256": cert_sha256(signer),
        }
    manifest = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    if signing is not None:
        signature = sign_data(manifest, signing)
    stamp = report.meta.generated_at
    date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def put(name: str, content: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)

        put(MANIFEST_JSON, manifest)
        if signature is not None:
            put(MANIFEST_SIGNATURE, signature)
        put(MANIFEST_CSV, to_csv(*manifest_csv_records(data["evidence"])).encode("utf-8"))
        put(REPORT_PDF, pdf)
        for entry, name, source, size in files:
            _copy(archive, entry, name, source, size, date_time)


def write_bundle(report: Report, pdf: bytes, out: BinaryIO | Path, signing: SigningConfig | None = None) -> None:
    """Write the audit bundle of `report` (with `pdf` as report.pdf) to a binary stream or a file,
    its manifest signed (manifest.json.p7s) when `signing` is given.

    A file is written whole or not at all: a bundle that fails (a missing or altered evidence file)
    leaves nothing behind. A stream is checked before anything is written to it.
    """
    if not isinstance(out, Path):
        _write(report, pdf, out, signing)
        return
    fd, temp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    try:
        follow_umask(fd)
        with os.fdopen(fd, "wb") as f:
            _write(report, pdf, f, signing)
        os.replace(temp, out)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def follow_umask(fd: int) -> None:
    """Give a file made by mkstemp (always 0600) the mode any new file gets: 0666 less the umask.

    A report or bundle written in place of a temporary file is then readable as the person's other
    files are (by their group, say), not only by them."""
    os.fchmod(fd, 0o666 & ~_umask())


def _umask() -> int:
    """The process's umask, read without changing it where Linux tells it (/proc), else set and restored."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
