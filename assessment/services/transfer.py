"""Export an assessment as an answers file with its evidence (a zip), and import one.

The zip holds `framework.yaml` (the pinned version, as stored), `answers.yaml` and
`evidence/`, so `assessment score framework.yaml answers.yaml` on the unpacked export gives the
numbers of the results page. Imports never trust the zip: member names are never used as
paths, sizes and counts are bounded, and evidence files must lie inside the upload.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from sqlalchemy import select

from ..adapters.evidence_store import CHUNK, EvidenceStore, StoredFile, safe_filename
from ..domain import values
from ..domain.answers import Answers, read_answers_text
from ..domain.answers_writer import answers_to_yaml
from ..domain.errors import InvalidFile
from ..domain.events import AnswerSaved
from ..domain.yamlread import decode_text
from ..domain.zipnames import member_name
from ..extensions import db
from ..models import Answer as AnswerRow
from ..models import Assessment, FrameworkVersion, Scope
from ..models import Evidence as EvidenceRow
from . import audit
from . import evidence as evidence_service
from .assessments import domain_answers, load_state, start_assessment
from .errors import InvalidInput
from .library import framework_of

MAX_MEMBERS = 5_000
ANSWERS_NAME = "answers.yaml"


def export_name(assessment: Assessment) -> str:
    """A file name for the export: scope, framework and date, safe for any file system."""
    raw = f"{assessment.scope.name}-{assessment.framework_version.framework_id}-{assessment.as_of.isoformat()}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-") or "assessment"


def original_name(member: str, sha256: str | None) -> str:
    """The file name an exported evidence file had: older exports prefixed it with its hash's first 12 digits."""
    name = PurePosixPath(member).name
    prefix = f"{(sha256 or '')[:12].lower()}-"
    if sha256 and len(name) > len(prefix) and name.lower().startswith(prefix):
        return name[len(prefix) :]
    return name


def export_zip(assessment: Assessment, store: EvidenceStore) -> bytes:
    """The assessment as a zip: framework.yaml, answers.yaml and evidence/ files."""
    state = load_state(assessment)
    version = assessment.framework_version
    names: dict[str, str] = {}
    for items in state.evidence.values():
        for item in items:
            if item.sha256 and item.sha256 not in names:
                # a folder per file keeps two files of one name apart; the file keeps its own name for the import
                names[item.sha256] = f"evidence/{item.sha256[:12]}/{safe_filename(item.original_name)}"
    answers = domain_answers(state.framework, state.rows, state.evidence)
    answers = _with_file_names(answers, state, names)
    document = Answers(
        framework_id=version.framework_id,
        version=version.version,
        answers=answers,
        scope=assessment.scope.name,
        as_of=assessment.as_of,
        target_level=assessment.target_level,
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("framework.yaml", version.content)
        archive.writestr(ANSWERS_NAME, answers_to_yaml(document, state.framework))
        for sha256, name in sorted(names.items(), key=lambda kv: kv[1]):
            _copy_stored(archive, store, sha256, name)
        archive.writestr("README.txt", _readme(assessment))
    return buffer.getvalue()


def _copy_stored(archive: zipfile.ZipFile, store: EvidenceStore, sha256: str, name: str) -> None:
    """Stream a stored evidence file into the archive in chunks (never whole into memory)."""
    reader = store.open(sha256)
    try:
        info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])  # as writestr dates the other members
        info.compress_type = zipfile.ZIP_DEFLATED
        info.file_size = reader.size
        with archive.open(info, "w", force_zip64=reader.size > zipfile.ZIP64_LIMIT) as out:
            while chunk := reader.read(CHUNK):
                out.write(chunk)
    finally:
        reader.close()


def _with_file_names(answers, state, names):
    """Point file evidence at its name inside the zip."""
    from dataclasses import replace

    result = {}
    by_req = state.evidence
    for rid, answer in answers.items():
        rows = by_req.get(rid, [])
        evidence = tuple(
            replace(domain_item, file=names[row.sha256]) if row.sha256 else domain_item
            for row, domain_item in zip(rows, answer.evidence, strict=True)
        )
        result[rid] = replace(answer, evidence=evidence)
    return result


def _readme(assessment: Assessment) -> str:
    return (
        f"Assessment of {assessment.scope.name} against {assessment.framework_version.title} "
        f"{assessment.framework_version.label}, as of {assessment.as_of}.\n\n"
        "framework.yaml  the framework version the assessment is pinned to\n"
        "answers.yaml    the answers (format 1), evidence files relative to it\n"
        "evidence/       the evidence files; answers.yaml lists each with its SHA-256\n\n"
        "Score it: assessment score framework.yaml answers.yaml\n"
    )


@dataclass(frozen=True)
class ImportResult:
    """The assessment an import created."""

    assessment: Assessment
    answers: int
    files: int


def import_upload(
    scope: Scope, filename: str, upload: BinaryIO | bytes, store: EvidenceStore, user: str, max_file_bytes: int
) -> tuple[ImportResult, list[StoredFile]]:
    """Import an answers YAML or a zip of answers.yaml with evidence as a new assessment of `scope`.

    `upload` is read in chunks (a seekable file: the request's spooled upload), never whole into
    memory, so a large import costs disk, not memory. Returns the stored files too, so the caller
    can discard the new ones if it rolls back.
    """
    if isinstance(upload, bytes):
        upload = io.BytesIO(upload)
    upload_sha256 = sha256_of(upload)
    with tempfile.TemporaryDirectory(prefix="import-") as tmp:
        root = Path(tmp)
        if zipfile.is_zipfile(upload):
            upload.seek(0)
            answers_path = _unpack(upload, root, max_file_bytes)
        elif filename.lower().endswith((".yaml", ".yml")):
            upload.seek(0)
            answers_path = root / ANSWERS_NAME
            with answers_path.open("wb") as out:
                shutil.copyfileobj(upload, out, CHUNK)
        else:
            raise InvalidInput("Upload a .zip holding answers.yaml (and its evidence files) or an answers .yaml file.")
        text = _text(answers_path)
        version = _framework_version_for(text)
        framework = framework_of(version)
        try:
            answers = read_answers_text(text, framework, ANSWERS_NAME, base_dir=answers_path.parent, upload=True)
        except InvalidFile as exc:
            raise InvalidInput(_problems(exc)) from None
        assessment = start_assessment(scope, version, answers.target_level, answers.as_of)
        stored: list[StoredFile] = []
        try:
            with db.session.begin_nested():  # a refusal takes back the rows first, so their new files can go too
                files = _store_answers(assessment, answers, answers_path.parent, store, user, stored)
        except Exception:
            for item in stored:
                store.discard(item)
            raise
    audit.record(
        "assessment.imported",
        "assessment",
        assessment.id,
        scope_id=scope.id,
        assessment_id=assessment.id,
        after={"file": filename[:255], "sha256": upload_sha256, "answers": len(answers.answers)},
    )
    return ImportResult(assessment, len(answers.answers), files), stored


def sha256_of(upload: BinaryIO) -> str:
    """The SHA-256 of a whole seekable file, read in chunks; the file is left at its start."""
    upload.seek(0)
    digest = hashlib.sha256()
    while chunk := upload.read(CHUNK):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def record_export(assessment: Assessment) -> None:
    """The answers zip (with every evidence file) left the instance: the trail says who took it."""
    audit.record(
        "assessment.exported", "assessment", assessment.id, scope_id=assessment.scope_id, assessment_id=assessment.id
    )


def _text(path: Path) -> str:
    try:
        return decode_text(path.read_bytes(), ANSWERS_NAME)
    except InvalidFile as exc:
        raise InvalidInput(_problems(exc)) from None


def _problems(exc: InvalidFile) -> str:
    shown = [str(p) for p in exc.problems[:20]]
    more = len(exc.problems) - len(shown)
    return "The answers file is not valid: " + " | ".join(shown) + (f" | and {more} more" if more > 0 else "")


def _framework_version_for(text: str) -> FrameworkVersion:
    """The stored version an answers file names (its newest revision)."""
    match_id = re.search(r"^framework:\s*['\"]?([a-z0-9][a-z0-9-]*)", text, re.M)
    match_version = re.search(r"^version:\s*['\"]?([^'\"\n#]+?)['\"]?\s*(#.*)?$", text, re.M)
    if not match_id or not match_version:
        raise InvalidInput("The answers file must name its framework and version (framework: ..., version: ...).")
    framework_id, version = match_id.group(1), match_version.group(1).strip()
    row = db.session.scalar(
        select(FrameworkVersion)
        .where(FrameworkVersion.framework_id == framework_id, FrameworkVersion.version == version)
        .order_by(FrameworkVersion.id.desc())
    )
    if row is None:
        raise InvalidInput(
            f"This instance's library has no framework {framework_id!r} version {version!r}; import it first."
        )
    return row


def _unpack(upload: BinaryIO, root: Path, max_file_bytes: int) -> Path:
    """Extract a zip safely into `root` and return the path of its answers.yaml.

    A damaged zip (a bad CRC, a truncated or unreadable member) is refused naming the member."""
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise InvalidInput(f"The zip is damaged and cannot be read ({exc}); nothing was imported.") from None
    with archive:
        members = [(m, member_name(m)) for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_MEMBERS:
            raise InvalidInput(f"The zip holds {len(members):,} files; the limit is {MAX_MEMBERS:,}.")
        candidates = [name for _, name in members if PurePosixPath(name).name == ANSWERS_NAME]
        if not candidates:
            raise InvalidInput("The zip holds no answers.yaml.")
        top = min(candidates, key=lambda name: len(PurePosixPath(name).parts))
        prefix = PurePosixPath(top).parent
        total = 0
        for member, name in members:
            relative = _safe_member(name, prefix)
            if relative is None:
                continue
            if member.file_size > max_file_bytes:
                raise InvalidInput(
                    f"{name} is larger than the limit of {max_file_bytes / 1024 / 1024:.0f} MB per file."
                )
            total += member.file_size
            if total > max_file_bytes * 8:
                raise InvalidInput("The zip expands to more than the import limit; nothing was imported.")
            target = root.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                _extract(archive, member, name, target, max_file_bytes)
            except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
                raise InvalidInput(
                    f"The zip is damaged: {name} cannot be read ({exc}); nothing was imported."
                ) from None
        return root / ANSWERS_NAME


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str, target: Path, max_file_bytes: int) -> None:
    """Copy one member to `target` in chunks, refusing one that unpacks to more than its header says."""
    with archive.open(member) as source, target.open("wb") as out:
        written = 0
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > member.file_size or written > max_file_bytes:  # a lying header
                raise InvalidInput(f"{name} is larger than its zip entry says; nothing was imported.")
            out.write(chunk)


def _safe_member(name: str, prefix: PurePosixPath) -> PurePosixPath | None:
    """The member's path below the answers file's folder, or None for anything odd or outside it."""
    if "\\" in name or "\x00" in name or name.startswith("/"):
        return None
    path = PurePosixPath(name)
    if any(part in ("..", ".", "") for part in path.parts):
        return None
    try:
        relative = path.relative_to(prefix) if str(prefix) != "." else path
    except ValueError:
        return None
    if relative.parts and relative.parts[0].startswith("__MACOSX"):
        return None
    return relative


def _store_answers(
    assessment: Assessment, answers: Answers, base: Path, store: EvidenceStore, user: str, stored: list[StoredFile]
) -> int:
    """Create the answer, evidence and link rows of an imported assessment."""
    files = 0
    cache: dict[tuple, EvidenceRow] = {}
    for rid, answer in answers.answers.items():
        if answer.value is not None or answer.note:
            try:
                value = values.encode(answer.value)
            except ValueError as problem:
                raise InvalidInput(f"{rid}: {problem}; nothing was imported.") from None
            db.session.add(
                AnswerRow(
                    assessment_id=assessment.id,
                    requirement_id=rid,
                    value=value,
                    note=answer.note,
                    answered_by=user,
                    revision=1,
                )
            )
            audit.emit(assessment, AnswerSaved.of(rid, value, answer.note, imported=True))
        for item in answer.evidence:
            key = (item.title, item.url, item.sha256, item.effective, item.expires)
            row = cache.get(key)
            if row is not None:  # the same item under another requirement: one row, linked again
                evidence_service.link(assessment, rid, row)
                continue
            try:
                if item.file is not None:
                    with (base / item.file).open("rb") as handle:
                        row, saved = evidence_service.add_file(
                            store, assessment, rid, handle, original_name(item.file, item.sha256),
                            item.title, item.effective, item.expires, user, source="import",
                        )  # fmt: skip
                    stored.append(saved)
                    files += 1
                else:
                    row = evidence_service.add_link(
                        assessment, rid, item.url, item.title, item.effective, item.expires, user, source="import"
                    )
            except InvalidInput as exc:
                what = f"file {item.file!r}" if item.file is not None else f"link {(item.url or '')[:80]!r}"
                raise InvalidInput(
                    f"The evidence {what} is refused (for {rid}), so nothing was imported: {exc.message}"
                ) from None
            cache[key] = row
    db.session.flush()
    return files
