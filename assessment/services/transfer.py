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
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy import select

from ..domain import values
from ..domain.answers import Answers, read_answers_text
from ..domain.answers_writer import answers_to_yaml
from ..domain.errors import InvalidFile
from ..domain.yamlread import decode_text
from ..extensions import db
from ..models import Answer as AnswerRow
from ..models import Assessment, EvidenceLink, FrameworkVersion, Scope
from ..models import Evidence as EvidenceRow
from . import audit
from .assessments import domain_answers, load_state, start_assessment
from .errors import InvalidInput
from .evidence import EvidenceStore, StoredFile, described, safe_filename
from .filetypes import SNIFF_BYTES, accepted_media_type
from .library import framework_of

MAX_MEMBERS = 5_000
ANSWERS_NAME = "answers.yaml"


def export_name(assessment: Assessment) -> str:
    """A file name for the export: scope, framework and date, safe for any file system."""
    raw = f"{assessment.scope.name}-{assessment.framework_version.framework_id}-{assessment.as_of.isoformat()}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-") or "assessment"


def export_zip(assessment: Assessment, store: EvidenceStore) -> bytes:
    """The assessment as a zip: framework.yaml, answers.yaml and evidence/ files."""
    state = load_state(assessment)
    version = assessment.framework_version
    names: dict[str, str] = {}
    for items in state.evidence.values():
        for item in items:
            if item.sha256 and item.sha256 not in names:
                names[item.sha256] = f"evidence/{item.sha256[:12]}-{safe_filename(item.original_name)}"
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
            archive.write(store.path_for(sha256), name)
        archive.writestr("README.txt", _readme(assessment))
    return buffer.getvalue()


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
    scope: Scope, filename: str, data: bytes, store: EvidenceStore, user: str, max_file_bytes: int
) -> tuple[ImportResult, list[StoredFile]]:
    """Import an answers YAML or a zip of answers.yaml with evidence as a new assessment of `scope`.

    Returns the stored files too, so the caller can discard the new ones if it rolls back.
    """
    with tempfile.TemporaryDirectory(prefix="import-") as tmp:
        root = Path(tmp)
        if zipfile.is_zipfile(io.BytesIO(data)):
            answers_path = _unpack(data, root, max_file_bytes)
        elif filename.lower().endswith((".yaml", ".yml")):
            answers_path = root / ANSWERS_NAME
            answers_path.write_bytes(data)
        else:
            raise InvalidInput("Upload a .zip holding answers.yaml (and its evidence files) or an answers .yaml file.")
        text = _text(answers_path)
        version = _framework_version_for(text)
        framework = framework_of(version)
        try:
            answers = read_answers_text(text, framework, ANSWERS_NAME, base_dir=answers_path.parent, confine=True)
        except InvalidFile as exc:
            raise InvalidInput(_problems(exc)) from None
        assessment = start_assessment(scope, version, answers.target_level, answers.as_of)
        stored: list[StoredFile] = []
        try:
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
        after={"file": filename[:255], "sha256": hashlib.sha256(data).hexdigest(), "answers": len(answers.answers)},
    )
    return ImportResult(assessment, len(answers.answers), files), stored


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


def _unpack(data: bytes, root: Path, max_file_bytes: int) -> Path:
    """Extract a zip safely into `root` and return the path of its answers.yaml."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_MEMBERS:
            raise InvalidInput(f"The zip holds {len(members):,} files; the limit is {MAX_MEMBERS:,}.")
        candidates = [m for m in members if PurePosixPath(m.filename).name == ANSWERS_NAME]
        if not candidates:
            raise InvalidInput("The zip holds no answers.yaml.")
        top = min(candidates, key=lambda m: len(PurePosixPath(m.filename).parts))
        prefix = PurePosixPath(top.filename).parent
        total = 0
        for member in members:
            relative = _safe_member(member.filename, prefix)
            if relative is None:
                continue
            if member.file_size > max_file_bytes:
                raise InvalidInput(
                    f"{member.filename} is larger than the limit of {max_file_bytes / 1024 / 1024:.0f} MB per file."
                )
            total += member.file_size
            if total > max_file_bytes * 8:
                raise InvalidInput("The zip expands to more than the import limit; nothing was imported.")
            target = root.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, target.open("wb") as out:
                written = 0
                while chunk := source.read(1 << 16):
                    written += len(chunk)
                    if written > member.file_size or written > max_file_bytes:  # a lying header
                        raise InvalidInput(
                            f"{member.filename} is larger than its zip entry says; nothing was imported."
                        )
                    out.write(chunk)
        return root / ANSWERS_NAME


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
            audit.about(
                assessment,
                "answer.saved",
                "answer",
                f"{assessment.id}/{rid}",
                after={"value": value, "note": answer.note, "imported": True},
            )
        for item in answer.evidence:
            key = (item.title, item.url, item.sha256, item.effective, item.expires)
            row = cache.get(key)
            if row is None:
                if item.file is not None:
                    name = safe_filename(PurePosixPath(item.file).name)
                    with (base / item.file).open("rb") as handle:
                        head = handle.read(SNIFF_BYTES)
                        media_type = _evidence_type(item.file, head, name)
                        saved = store.save(handle, head)
                    stored.append(saved)
                    files += 1
                    row = EvidenceRow(
                        scope_id=assessment.scope_id,
                        title=item.title[:500],
                        sha256=saved.sha256,
                        original_name=name,
                        size=saved.size,
                        media_type=media_type,
                        effective=item.effective,
                        expires=item.expires,
                        created_by=user,
                    )
                else:
                    row = EvidenceRow(
                        scope_id=assessment.scope_id,
                        title=item.title[:500],
                        url=item.url,
                        effective=item.effective,
                        expires=item.expires,
                        created_by=user,
                    )
                db.session.add(row)
                db.session.flush()
                cache[key] = row
                audit.record("evidence.added", "evidence", row.id, scope_id=row.scope_id, after=described(row))
            db.session.add(EvidenceLink(assessment_id=assessment.id, requirement_id=rid, evidence_id=row.id))
            audit.about(
                assessment,
                "evidence.linked",
                "evidence_link",
                f"{assessment.id}/{rid}/{row.id}",
                after={"requirement": rid, "evidence": row.id, "title": row.title},
            )
    db.session.flush()
    return files


def _evidence_type(member: str, head: bytes, name: str) -> str:
    """The sniffed type of an evidence file in the upload, or InvalidInput naming the member."""
    try:
        return accepted_media_type(head, name)
    except InvalidInput as exc:
        raise InvalidInput(f"The evidence file {member!r} is refused, so nothing was imported: {exc.message}") from None
