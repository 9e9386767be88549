"""Import a framework from any source the converters read: a preview first, then the store.

An uploaded file is one of: a framework file of ours (YAML, format 1), another tool's catalogue that
`domain.convert.convert_text` reads (CISO Assistant, DSOMM, a CSV or XLSX sheet, and whatever the
registry learns later), or a ZIP of a folder source (OWASP SAMM's model) for `convert_folder`. The
preview says which it was, what the framework holds and what storing it would do, without storing
anything; the caller then stores the same text with `library.store_framework`.

Between the preview and the confirmation the web keeps the converted text on the server (`PendingImports`),
keyed by its SHA-256, so the confirming request sends only a signed key and never the text itself.
"""

from __future__ import annotations

import hashlib
import io
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from sqlalchemy import select

from ..adapters.blobs import BlobMissing, BlobStore
from ..domain.convert import LICENSE_NAMES, MAX_FOLDER_FILES, YAML_SUFFIXES, convert_folder, convert_source
from ..domain.convert.sheet import ZIP_SIGNATURE
from ..domain.errors import ROOT_PATH, InvalidFile, Problem
from ..domain.framework import Framework
from ..domain.loader import load_framework_text
from ..domain.yamlread import MAX_FILE_BYTES, decode_text, parse_yaml_documents
from ..domain.zipnames import member_name
from ..extensions import db
from ..models import FrameworkVersion

MAX_FOLDER_BYTES = 4 * MAX_FILE_BYTES  # all of a folder's YAML, as `assessment convert` reads a folder
FIRST_DOMAINS = 5
OURS = "ours"
OUR_FORMAT = "a framework file of ours (format 1)"
# What storing the previewed text would do: nothing, or add a framework, a version or a revision.
STATUS_TEXT = {
    "stored": "This exact content is in the library already; storing it changes nothing.",
    "new-framework": "A new framework: storing it adds it to the library.",
    "new-version": "A new version of a framework in the library: storing it adds the version.",
    "new-revision": "A new revision of a version in the library: storing it keeps the old revision too.",
}


@dataclass(frozen=True)
class DomainCount:
    """One domain of the preview and how many requirements it holds."""

    id: str
    title: str
    requirements: int


@dataclass(frozen=True)
class Preview:
    """What an uploaded source holds and what storing it would do; nothing has been stored."""

    source_name: str
    converter: str  # "ours", or the name of the converter that read it ("ciso-assistant", "owasp-samm", ...)
    source_kind: str  # what it was, in words: "a CISO Assistant library"
    framework_id: str
    version: str
    title: str
    kind: str
    domains: int
    requirements: int
    levels: int
    first_domains: list[DomainCount]
    status: str  # a key of STATUS_TEXT
    revision: int  # the revision it is or would be
    text: str = field(repr=False)  # the framework file (format 1) that would be stored
    sha256: str = ""
    framework: Framework | None = field(default=None, repr=False, compare=False)  # the text, validated

    @property
    def status_text(self) -> str:
        """The status in words, for the page."""
        return STATUS_TEXT[self.status]


def preview_upload(name: str, data: bytes) -> Preview:
    """The preview of an uploaded file's bytes, or InvalidFile listing every problem; nothing is stored."""
    if len(data) > MAX_FILE_BYTES:
        message = f"the file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,} (5 MB)"
        raise InvalidFile([Problem(name, 1, ROOT_PATH, message)])
    text, converter, kind = converted_text(name, data)
    framework = load_framework_text(text, name)
    return preview_of(framework, text, name, converter, kind)


def converted_text(name: str, data: bytes) -> tuple[str, str, str]:
    """(framework text of ours, converter name, the source's kind in words) of an upload, or InvalidFile."""
    if data.startswith(ZIP_SIGNATURE) and not _is_workbook(data):
        stem = PurePosixPath(name).stem or "upload"
        text = convert_folder(stem, read_zip(name, data))
        return (text, *_folder_converter())
    source: str | bytes = data if data.startswith(ZIP_SIGNATURE) else decode_text(data, name)
    documents = _yaml_documents(source, name)  # parsed once, to tell ours from others and name the converter
    if documents is not None and len(documents) == 1 and _is_ours(documents[0]):
        return source, OURS, OUR_FORMAT
    text, converter = convert_source(source, name)
    return text, converter.name, converter.expects.split(" (")[0]


def _folder_converter() -> tuple[str, str]:
    """The name and kind of the folder converter (SAMM's, today), or a generic pair when there are several."""
    from ..domain.convert import CONVERTERS

    folders = [c for c in CONVERTERS if c.folder]
    if len(folders) == 1:
        return folders[0].name, folders[0].expects.split(" (")[0] + " (a ZIP of its folder)"
    return "folder", "a folder of files (ZIP)"


def _is_workbook(data: bytes) -> bool:
    """Whether a ZIP is an XLSX workbook (it has xl/workbook.xml) rather than a folder of files."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False  # read_zip says what is wrong with it


def _yaml_documents(source: str | bytes, name: str) -> list | None:
    """The YAML documents of a text source, or None for a sheet or a text that is not YAML."""
    from ..domain.convert import sheet

    if isinstance(source, bytes) or sheet.looks_like_csv(source):
        return None
    try:
        return parse_yaml_documents(source, name)
    except InvalidFile:
        return None  # convert_text reports the YAML's problems (or reads it as another format)


def _is_ours(document: object) -> bool:
    """Whether a YAML document is a framework file of ours (a mapping with id, kind and domains)."""
    return isinstance(document, dict) and {"id", "kind", "domains"} <= set(document)


def read_zip(name: str, data: bytes) -> dict[str, str]:
    """The YAML and licence files of a ZIP of a folder source, by path inside the folder, or InvalidFile.

    As `assessment convert` reads a folder: at most 2,000 YAML files of 5 MB each and 20 MB in all. A ZIP
    naming an absolute path or `..` is refused whole; a single folder at the top is taken as the folder.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise InvalidFile([Problem(name, 1, ROOT_PATH, f"not a readable ZIP file ({exc})")]) from None
    with archive:
        members = [(m, member_name(m)) for m in archive.infolist() if not m.is_dir()]
        unsafe = [n for _, n in members if _unsafe(n)]
        if unsafe:
            listed = ", ".join(unsafe[:5])
            message = f"the ZIP names paths outside its folder ({listed}); nothing was read"
            raise InvalidFile([Problem(name, 1, ROOT_PATH, message)])
        members = [(m, n) for m, n in members if not n.startswith("__MACOSX/")]
        wanted = [(m, n) for m, n in members if _wanted(n)]
        yaml_count = sum(1 for _, n in wanted if n.lower().endswith(YAML_SUFFIXES))
        if yaml_count > MAX_FOLDER_FILES:
            raise InvalidFile([Problem(name, 1, ROOT_PATH, f"more than {MAX_FOLDER_FILES:,} YAML files")])
        prefix = _common_folder([n for _, n in members])
        files, problems, total = {}, [], 0
        for member, member_path in wanted:
            path = member_path[len(prefix) :]
            shown = f"{name}/{path}"
            if member.file_size > MAX_FILE_BYTES:
                message = f"the file is {member.file_size:,} bytes; the limit is {MAX_FILE_BYTES:,} (5 MB)"
                problems.append(Problem(shown, 1, ROOT_PATH, message))
                continue
            total += member.file_size
            if total > MAX_FOLDER_BYTES:
                raise InvalidFile([Problem(name, 1, ROOT_PATH, f"more than {MAX_FOLDER_BYTES:,} bytes of YAML")])
            try:
                raw = _read_member(archive, member)
            except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
                problems.append(Problem(shown, 1, ROOT_PATH, f"cannot be read from the ZIP ({exc})"))
                continue
            try:
                files[path] = decode_text(raw, shown)
            except InvalidFile as exc:
                problems += exc.problems
    if problems:
        raise InvalidFile(problems)
    if not any(path.lower().endswith(YAML_SUFFIXES) for path in files):
        raise InvalidFile([Problem(name, 1, ROOT_PATH, "the ZIP holds no YAML file (.yml or .yaml)")])
    return files


def _unsafe(member: str) -> bool:
    """Whether a member's name is absolute, climbs out (`..`) or is otherwise odd."""
    if "\\" in member or "\x00" in member or member.startswith("/") or (len(member) > 1 and member[1] == ":"):
        return True
    return any(part in ("..", ".") for part in member.split("/"))


def _wanted(member: str) -> bool:
    """A YAML file or a licence file: what a folder source is read for."""
    lower = member.lower()
    return lower.endswith(YAML_SUFFIXES) or PurePosixPath(lower).name in LICENSE_NAMES


def _common_folder(names: list[str]) -> str:
    """The single top folder every member is in (`tiny-samm/`), or "" when there is none."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1 and all("/" in n for n in names):
        return next(iter(tops)) + "/"
    return ""


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """A member's bytes, refusing one that unpacks to more than its header says (a zip bomb)."""
    with archive.open(member) as source:
        data = source.read(min(member.file_size, MAX_FILE_BYTES) + 1)
    if len(data) > member.file_size:
        raise ValueError("it unpacks to more than its ZIP entry says")
    return data


def preview_of(framework: Framework, text: str, name: str, converter: str, kind: str) -> Preview:
    """The preview of a validated framework text: its counts, first domains and what storing it would do."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    rows = db.session.execute(
        select(FrameworkVersion.version, FrameworkVersion.revision, FrameworkVersion.content_sha256).where(
            FrameworkVersion.framework_id == framework.id
        )
    ).all()
    same = [row for row in rows if row.content_sha256 == digest]
    same_version = [row for row in rows if row.version == framework.version]
    if same:
        status, revision = "stored", same[0].revision
    elif same_version:
        status, revision = "new-revision", len(same_version) + 1
    else:
        status, revision = ("new-version" if rows else "new-framework"), 1
    return Preview(
        source_name=name,
        converter=converter,
        source_kind=kind,
        framework_id=framework.id,
        version=framework.version,
        title=framework.title,
        kind=framework.kind,
        domains=len(framework.domains),
        requirements=len(framework.requirements),
        levels=len(framework.levels),
        first_domains=[DomainCount(d.id, d.title, len(d.requirements)) for d in framework.domains[:FIRST_DOMAINS]],
        status=status,
        revision=revision,
        text=text,
        sha256=digest,
        framework=framework,
    )


# --- between the preview and the confirmation ----------------------------------------------------


class PendingImports:
    """Previewed framework texts kept on the server until confirmed, under `framework-imports/<sha256>.yaml`.

    The store is the instance's report blob store (a folder, or the S3 bucket every web server shares).
    A text is taken back only when its bytes still hash to the key; `max_age` seconds after a preview the
    folder store forgets it (a bucket keeps it until confirmed: its key is not guessable without the content).
    """

    PREFIX = "framework-imports/"
    MAX_BYTES = MAX_FOLDER_BYTES

    def __init__(self, blobs: BlobStore, max_age: int = 3600) -> None:
        self.blobs = blobs
        self.max_age = max_age

    def keep(self, text: str) -> str:
        """Keep a previewed text; its SHA-256, the key the confirmation names."""
        data = text.encode("utf-8")
        if len(data) > self.MAX_BYTES:
            raise InvalidFile([Problem("<converted>", 1, ROOT_PATH, f"more than {self.MAX_BYTES:,} bytes")])
        digest = hashlib.sha256(data).hexdigest()
        self.blobs.put(self.PREFIX + digest + ".yaml", data, digest)
        self._forget_old(digest)
        return digest

    def take(self, digest: str) -> str | None:
        """The text kept under `digest`, or None when there is none (expired, confirmed, never kept)."""
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            return None
        key = self.PREFIX + digest + ".yaml"
        try:
            reader = self.blobs.open(key)
        except BlobMissing:
            return None
        try:
            if reader.size > self.MAX_BYTES:
                return None
            data = reader.read(self.MAX_BYTES + 1)
        finally:
            reader.close()
        path = self.blobs.local_path(key)
        if path is not None and time.time() - path.stat().st_mtime > self.max_age:
            return None
        if hashlib.sha256(data).hexdigest() != digest:
            return None
        return data.decode("utf-8")

    def forget(self, digest: str) -> None:
        """Drop a kept text once stored."""
        self.blobs.delete(self.PREFIX + digest + ".yaml")

    def _forget_old(self, kept: str) -> None:
        """Remove the folder store's expired previews (a bucket's are left: listing it is not part of the port)."""
        folder = self.blobs.local_path(self.PREFIX + kept + ".yaml")
        if folder is None:
            return
        cutoff = time.time() - self.max_age
        for path in folder.parent.glob("*.yaml"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue


# --- the confirmation's key ----------------------------------------------------------------------

CONFIRM_SALT = "framework-import"


def confirm_key(secret: str | bytes, digest: str, source_name: str) -> str:
    """A signed, dated key naming a kept preview (its SHA-256) and its file's name, for the confirm form."""
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(secret, salt=CONFIRM_SALT).dumps({"sha256": digest, "name": source_name})


def read_confirm_key(secret: str | bytes, key: str, max_age: int) -> tuple[str, str] | None:
    """(SHA-256, file name) of a key `confirm_key` signed less than `max_age` seconds ago, else None."""
    from itsdangerous import BadData, URLSafeTimedSerializer

    try:
        data = URLSafeTimedSerializer(secret, salt=CONFIRM_SALT).loads(key, max_age=max_age)
    except BadData:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("sha256"), str) or not isinstance(data.get("name"), str):
        return None
    return data["sha256"], data["name"]
