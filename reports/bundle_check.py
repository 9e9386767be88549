"""Checking an audit bundle (see reports/bundle.py for its layout) without extracting anything.

A bundle may come from anywhere, so it is read as hostile: member names that would leave a folder
are reported, sizes are checked before a byte is read, and every member is hashed through a
zipfile stream, never written to disk.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assessment.domain.zipnames import member_name

from .exports import CSV_BOM, to_csv
from .signing import Verdict, verify_data

BUNDLE_FORMAT = "assessment-report-bundle/1"
MANIFEST_JSON, MANIFEST_CSV, REPORT_PDF = "manifest.json", "manifest.csv", "report.pdf"
MANIFEST_SIGNATURE = "manifest.json.p7s"
MAX_SIGNATURE = 1024**2
CSV_COLUMNS = ("number", "title", "requirement_ids", "kind", "file", "file_name", "sha256", "size", "url",
               "effective", "expires", "current")  # fmt: skip
MAX_MEMBER = 2 * 1024**3  # no member that unpacks to more than this is read...
MAX_TOTAL = 20 * 1024**3  # ...nor any bundle that unpacks to more than this in all
MAX_MANIFEST = 64 * 1024**2
CHUNK = 1024 * 1024


def manifest_csv_records(entries: list[dict[str, Any]]) -> tuple[tuple[str, ...], list[tuple]]:
    """The columns and rows of manifest.csv for the evidence entries of a manifest.json."""

    def cell(value: Any) -> Any:
        if isinstance(value, bool):
            return "yes" if value else "no"
        return " ".join(map(str, value)) if isinstance(value, list) else value

    return CSV_COLUMNS, [tuple(cell(entry.get(column)) for column in CSV_COLUMNS) for entry in entries]


def verify_bundle(path: Path) -> list[str]:
    """Every problem of the bundle at `path`, one readable line each; an empty list means it is intact.

    Nothing is extracted: members are hashed through zipfile streams, and a hostile member (a name
    that leaves the folder, or a size past the limits) is reported, never read. A signed bundle whose
    signature does not verify (say, its manifest was rewritten to match a changed file) is a problem.
    """
    return check_bundle(path)[0]


def check_bundle(path: Path, trust: list | None = None) -> tuple[list[str], Verdict | None]:
    """(problems, signature): verify_bundle's problems, and what the manifest's signature check found
    (None when the manifest could not be read). With `trust` (certificates), the bundle must be signed
    by a signer they vouch for."""
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        return [f"not found: {path}"], None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        return [f"not a valid zip file: {path.name}: {error}"], None
    with archive:
        verifier = _Verifier(archive, trust)
        return verifier.run(), verifier.signature


def _unsafe_reason(name: str) -> str | None:
    if not name:
        return "empty name"
    if "\\" in name:
        return "backslash in name"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if ".." in name.split("/"):
        return "'..' in path"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return "control character in name"
    return None


def _manifest_problems(data: Any) -> list[str]:
    """What makes a parsed manifest.json unusable; empty when its shape is right."""
    sha = re.compile(r"^[0-9a-f]{64}$")

    def bad_hash(item: dict) -> bool:
        value, size = item.get("sha256"), item.get("size")
        return not (isinstance(value, str) and sha.match(value) and type(size) is int and size >= 0)

    if not isinstance(data, dict):
        return ["manifest.json: expected a JSON object at the top level"]
    if data.get("format") != BUNDLE_FORMAT:
        return [f"manifest.json: format is {data.get('format')!r}, expected {BUNDLE_FORMAT!r}"]
    problems = []
    pdf = data.get("report_pdf")
    if not isinstance(pdf, dict) or pdf.get("file") != REPORT_PDF or bad_hash(pdf):
        problems.append(f"manifest.json: report_pdf must give file {REPORT_PDF!r}, its sha256 and size")
    signature = data.get("signature")
    if signature is not None and not (
        isinstance(signature, dict)
        and signature.get("file") == MANIFEST_SIGNATURE
        and isinstance(signature.get("signer"), str)
        and isinstance(signature.get("certificate_sha256"), str)
    ):
        problems.append(f"manifest.json: signature must give file {MANIFEST_SIGNATURE!r}, signer, certificate_sha256")
    trail = data.get("audit_trail")
    if trail is not None and not (
        isinstance(trail, dict)
        and type(trail.get("seq")) is int
        and trail.get("count") == trail["seq"] >= 0
        and isinstance(trail.get("head"), str)
        and sha.match(trail["head"])
        and trail.get("anchor") == f"{trail['seq']}:{trail['head']}"
    ):
        problems.append("manifest.json: audit_trail must give count, seq (equal), head (a SHA-256) and anchor SEQ:HEAD")
    entries = data.get("evidence")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return [*problems, "manifest.json: evidence must be a list of objects"]
    for index, entry in enumerate(entries):
        file = entry.get("file")
        if not isinstance(entry.get("number"), str) or not (file is None or isinstance(file, str)):
            problems.append(f"manifest.json: evidence[{index}]: number and file must be text")
        elif file is not None and bad_hash(entry):
            problems.append(f"manifest.json: evidence[{index}] ({entry['number']}): a file needs its sha256 and size")
    return problems


class _Verifier:
    """One pass over one open bundle."""

    def __init__(self, archive: zipfile.ZipFile, trust: list | None = None) -> None:
        self.archive = archive
        self.trust = trust
        self.signature: Verdict | None = None
        self.problems: list[str] = []
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.unreadable: set[str] = set()

    def run(self) -> list[str]:
        infos = self.archive.infolist()
        total = sum(info.file_size for info in infos)
        if total > MAX_TOTAL:
            return [f"too large: the bundle unpacks to {total:,} bytes (limit {MAX_TOTAL:,}); nothing was read"]
        for info in infos:
            name = member_name(info)  # as written: Info-ZIP and others leave UTF-8 names unflagged
            if info.is_dir() and info.file_size == 0:
                continue  # the folder entries ordinary tools add when they zip a folder again
            if name in self.members:
                self.problems.append(f"duplicate: {name} is in the zip more than once")
                self.unreadable.add(name)
            self.members[name] = info
            reason = _unsafe_reason(name)
            if reason:
                self.problems.append(f"unsafe name: {name!r}: {reason}")
                self.unreadable.add(name)
            elif info.file_size > MAX_MEMBER:
                self.problems.append(f"too large: {name}: {info.file_size:,} bytes unpacked (limit {MAX_MEMBER:,})")
                self.unreadable.add(name)
        raw, data = self._manifest()
        if data is None:
            return self.problems
        pdf = data["report_pdf"]
        expected = {MANIFEST_JSON, MANIFEST_CSV, REPORT_PDF}
        if MANIFEST_SIGNATURE in self.members:
            expected.add(MANIFEST_SIGNATURE)
        self._check_signature(raw, data)
        self._check_csv(data["evidence"])
        self._check_file(REPORT_PDF, pdf["sha256"], pdf["size"])
        for entry in data["evidence"]:
            if entry.get("file") is not None:
                expected.add(entry["file"])
                self._check_file(entry["file"], entry["sha256"], entry["size"])
        self.problems += [f"extra: {n}" for n in self.members if n not in expected and not _unsafe_reason(n)]
        return self.problems

    def _read(self, name: str, limit: int = MAX_MANIFEST) -> bytes | None:
        """A small member's bytes, or None (with the problem recorded)."""
        if name not in self.members:
            self.problems.append(f"missing: {name}")
            return None
        if name in self.unreadable:
            return None
        if self.members[name].file_size > limit:
            self.problems.append(f"too large: {name}: {self.members[name].file_size:,} bytes (limit {limit:,})")
            return None
        chunks: list[bytes] = []
        return b"".join(chunks) if self._stream(name, chunks.append) else None

    def _stream(self, name: str, feed: Callable[[bytes], object]) -> bool:
        """Feed a member's bytes to `feed` chunk by chunk; False (problem recorded) when it cannot be read."""
        try:
            with self.archive.open(self.members[name]) as member:
                while chunk := member.read(CHUNK):
                    feed(chunk)
        except (
            zipfile.BadZipFile,
            zlib.error,
            OSError,
            EOFError,
            RuntimeError,
            NotImplementedError,
            ValueError,
        ) as error:
            self.problems.append(f"corrupt: {name}: {error}")
            return False
        return True

    def _manifest(self) -> tuple[bytes | None, dict | None]:
        raw = self._read(MANIFEST_JSON)
        if raw is None:
            return None, None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as error:
            self.problems.append(f"manifest.json is not valid JSON: {error}")
            return raw, None
        shape = _manifest_problems(data)
        self.problems += shape
        return raw, None if shape else data

    def _check_signature(self, manifest: bytes, data: dict) -> None:
        """The detached signature over manifest.json: present when the manifest names a signer, and valid."""
        named = data.get("signature")
        if MANIFEST_SIGNATURE not in self.members:
            self.signature = Verdict(signed=False)
            if named is not None:
                self.problems.append(
                    f"missing: {MANIFEST_SIGNATURE}: manifest.json says it was signed by {named['signer']}"
                )
            elif self.trust:
                self.problems.append("signature: the bundle is unsigned, but --trust requires a signature")
            return
        signature = self._read(MANIFEST_SIGNATURE, MAX_SIGNATURE)
        if signature is None:
            return
        verdict = verify_data(manifest, signature, self.trust)
        self.signature = verdict
        if not verdict.ok:
            self.problems += [f"{MANIFEST_SIGNATURE}: {line}" for line in verdict.lines("signature")]
        elif named is None:
            self.problems.append(f"{MANIFEST_SIGNATURE}: manifest.json does not name the signer {verdict.signer}")
        elif named["signer"] != verdict.signer:
            self.problems.append(
                f"{MANIFEST_SIGNATURE}: manifest.json names the signer {named['signer']}, "
                f"the signature is by {verdict.signer}"
            )

    def _check_csv(self, entries: list[dict]) -> None:
        raw = self._read(MANIFEST_CSV)
        if raw is None:
            return
        try:
            actual = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
        except (UnicodeDecodeError, csv.Error) as error:
            self.problems.append(f"manifest.csv cannot be read: {error}")
            return
        # with or without the byte-order mark (bundles written before it was added have none)
        expected_text = to_csv(*manifest_csv_records(entries)).removeprefix(CSV_BOM)
        expected = list(csv.reader(io.StringIO(expected_text, newline="")))
        if actual == expected:
            return
        prefix = "manifest.csv disagrees with manifest.json"
        if not actual or actual[0] != expected[0]:
            self.problems.append(f"{prefix}: its columns are {actual[:1]}, expected {expected[0]}")
            return
        rows = {row[0]: row for row in actual[1:] if row}
        wanted = {row[0]: row for row in expected[1:]}
        for number, row in wanted.items():
            got = rows.get(number)
            if got is None:
                self.problems.append(f"{prefix}: {number} is not in manifest.csv")
                continue
            if len(got) != len(row):
                self.problems.append(f"{prefix}: {number}: {len(got)} columns, expected {len(row)}")
                continue
            for column, want, have in zip(expected[0], row, got, strict=True):
                if want != have:
                    self.problems.append(f"{prefix}: {number}: {column} is {have!r} in the CSV, {want!r} in the JSON")
        self.problems += [f"{prefix}: {n} is not in manifest.json" for n in rows if n not in wanted]

    def _check_file(self, name: str, sha256: str, size: int) -> None:
        if name not in self.members:
            self.problems.append(f"missing: {name}")
            return
        if name in self.unreadable:
            return
        digest = hashlib.sha256()
        chunk_sizes: list[int] = []

        def feed(chunk: bytes) -> None:
            digest.update(chunk)
            chunk_sizes.append(len(chunk))

        if not self._stream(name, feed):
            return
        actual_size = sum(chunk_sizes)
        differences = []
        if digest.hexdigest() != sha256:
            differences.append(f"SHA-256 is {digest.hexdigest()}, manifest says {sha256}")
        if actual_size != size:
            differences.append(f"size is {actual_size:,} bytes, manifest says {size:,}")
        if differences:
            self.problems.append(f"altered: {name}: {'; '.join(differences)}")
