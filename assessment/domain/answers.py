"""Answers files (format 1) -> `Answers`, checked against their framework, every problem at once."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import InvalidFile, Problem
from .framework import Framework, NumericAnswer, Requirement, Scale
from .schema import INVALID, Context, Date, Field, Int, Obj, Spec, Str, join, type_name
from .yamlread import YamlList, YamlMap, parse_yaml, read_text

NA = "na"
AnswerValue = str | int | float


@dataclass(frozen=True, slots=True)
class Evidence:
    """A file or link that supports an answer, current between its effective and expiry dates."""

    title: str
    url: str | None = None
    file: str | None = None
    sha256: str | None = None
    size: int | None = None
    effective: dt.date | None = None
    expires: dt.date | None = None

    def is_current(self, as_of: dt.date) -> bool:
        """Whether the item counts at `as_of` (spec section 3, rule 1)."""
        return (self.effective is None or self.effective <= as_of) and (self.expires is None or self.expires >= as_of)


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to one requirement: a scale value, a number or `na`, or none yet."""

    requirement_id: str
    value: AnswerValue | None
    note: str | None = None
    evidence: tuple[Evidence, ...] = ()

    @property
    def is_na(self) -> bool:
        """Whether the requirement was declared not applicable."""
        return self.value == NA


@dataclass(frozen=True)
class Answers:
    """One assessment of a framework."""

    framework_id: str
    version: str
    answers: dict[str, Answer] = field(default_factory=dict)
    scope: str | None = None
    as_of: dt.date | None = None
    target_level: int | None = None


class _Passthrough(Spec):
    """Accepts any value; the answers map is checked against the framework afterwards."""

    def check(self, value, path, line, ctx):
        return value

    def json_schema(self):
        return {}


SHA256 = r"^[0-9a-f]{64}$"
EVIDENCE = Obj(
    {
        "title": Field(Str(), required=True),
        "url": Field(Str(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", hint="URL")),
        "file": Field(Str()),
        "sha256": Field(Str(SHA256, hint="SHA-256 (64 lowercase hex digits)")),
        "effective": Field(Date()),
        "expires": Field(Date()),
    },
    exclusive=(("url", "file"),),
)
ANSWERS_FILE = Obj(
    {
        "framework": Field(Str(), required=True),
        "version": Field(Str(), required=True),
        "scope": Field(Str()),
        "as_of": Field(Date()),
        "target_level": Field(Int()),
        "answers": Field(_Passthrough()),
    }
)
ENTRY_KEYS = ("value", "note", "evidence")


def read_answers_file(
    path: Path | str, framework: Framework, display: str | None = None, upload: bool = False
) -> Answers:
    """Read an answers file and check it against `framework`; evidence files are relative to it.

    An evidence file must lie inside the answers file's folder: a relative path without '..' that
    no symbolic link leads out of. With `upload`, errors do not show the (temporary) folder's path.
    """
    path = Path(path)
    name = display or str(path)
    return read_answers_text(read_text(path, name), framework, name, base_dir=path.parent, upload=upload)


def read_answers_text(
    text: str, framework: Framework, filename: str = "<text>", base_dir: Path | None = None, upload: bool = False
) -> Answers:
    """Check answers YAML text against `framework` and build `Answers`, or raise InvalidFile."""
    data = parse_yaml(text, filename)
    ctx = Context(filename)
    doc = ANSWERS_FILE.check(data, "", 1, ctx)
    if doc is INVALID:
        raise InvalidFile(ctx.problems)
    framework_id, version = doc.get("framework"), doc.get("version")
    if isinstance(framework_id, str) and framework_id != framework.id:
        raise InvalidFile(
            [
                Problem(
                    filename,
                    doc.line_of("framework"),
                    "framework",
                    f"this answers file is for framework {framework_id!r}, not {framework.id!r}",
                )
            ]
        )
    if isinstance(version, str) and version != framework.version:
        raise InvalidFile(
            [
                Problem(
                    filename,
                    doc.line_of("version"),
                    "version",
                    f"this answers file is for version {version!r} of {framework.id!r}, "
                    f"but the framework file is version {framework.version!r}",
                )
            ]
        )
    target = doc.get("target_level")
    if isinstance(target, int):
        check_target_level(framework, target, ctx, doc.line_of("target_level"), "target_level")
    answers: dict[str, Answer] = {}
    raw = doc.get("answers")
    if raw is not None:
        if not isinstance(raw, YamlMap):
            ctx.error(
                doc.line_of("answers"),
                "answers",
                f"expected a mapping of requirement id to answer, got {type_name(raw)}",
            )
        else:
            reader = _EntryReader(framework, ctx, base_dir, upload)
            for req_id, entry in raw.items():
                answer = reader.read(str(req_id), entry, raw.line_of(req_id), raw.key_line(req_id))
                if answer is not None:
                    answers[answer.requirement_id] = answer
    if ctx.problems:
        raise InvalidFile(ctx.problems)
    return Answers(
        framework_id=framework.id,
        version=framework.version,
        answers=answers,
        scope=doc.get("scope"),
        as_of=doc.get("as_of"),
        target_level=target,
    )


def check_target_level(framework: Framework, target: int, ctx: Context, line: int, path: str) -> bool:
    """Record a problem unless `target` is a defined level of `framework`."""
    if not framework.is_maturity:
        ctx.error(line, path, f"{framework.id!r} is a compliance framework; it has no levels to target")
        return False
    if target not in framework.level_index:
        listed = ", ".join(str(n) for n in framework.level_index)
        ctx.error(line, path, f"level {target} is not defined; defined levels: {listed}")
        return False
    return True


def describe_answer_spec(requirement: Requirement) -> str:
    """What a valid answer to `requirement` looks like, for error messages."""
    spec = requirement.answer
    na = ", or na" if requirement.na_allowed else ""
    if isinstance(spec, NumericAnswer):
        unit = f" ({spec.unit})" if spec.unit else ""
        return f"a number{unit}{na}"
    return f"one of {', '.join(spec.by_value)}{na}"


def check_value(requirement: Requirement, value: Any) -> str | None:
    """Why `value` is not a valid answer to `requirement`, or None when it is."""
    spec = requirement.answer
    if value == NA:
        return None if requirement.na_allowed else f"na is not allowed for {requirement.id} (na_allowed: false)"
    expected = describe_answer_spec(requirement)
    if isinstance(spec, Scale):
        if isinstance(value, str) and value in spec.by_value:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            hint = f'; if you mean the scale value, quote it: "{value}"' if str(value) in spec.by_value else ""
            return f"a number where a scale value is due: expected {expected}, got {value}{hint}"
        return f"expected {expected}; got {type_name(value)}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"a number is due: expected {expected}, got {type_name(value)}"
    if isinstance(value, int) and abs(value) > 10**300 or not math.isfinite(value):
        return "expected a finite number of reasonable size"
    if spec.credit_of(value) is None:
        return f"{value} lies outside every band of {requirement.id}: {_bands_text(spec)}"
    return None


def _bands_text(spec: NumericAnswer) -> str:
    parts = []
    for band in spec.bands:
        low = "" if band.min is None else f"{band.min:g} <= "
        high = "" if band.max is None else f" <= {band.max:g}"
        parts.append(f"{low}x{high}" if (low or high) else "any")
    return "; ".join(parts)


class _EntryReader:
    """Check one entry of the `answers` mapping."""

    def __init__(self, framework: Framework, ctx: Context, base_dir: Path | None, upload: bool = False):
        self.framework = framework
        self.ctx = ctx
        self.base_dir = base_dir
        self.upload = upload

    def read(self, req_id: str, entry: Any, line: int, key_line: int) -> Answer | None:
        ctx, path = self.ctx, join("answers", req_id)
        requirement = self.framework.requirement_index.get(req_id)
        if requirement is None:
            ctx.error(key_line, path, f"unknown requirement id {req_id!r} in {self.framework.id!r}")
            return None
        note, evidence = None, ()
        if isinstance(entry, YamlMap):
            for key in entry:
                if key not in ENTRY_KEYS:
                    ctx.error(
                        entry.key_line(key),
                        join(path, key),
                        f"unknown key {key!r}; expected one of: {', '.join(ENTRY_KEYS)}",
                    )
            value, value_line, value_path = entry.get("value"), entry.line_of("value"), join(path, "value")
            note = entry.get("note")
            if note is not None and not isinstance(note, str):
                ctx.error(entry.line_of("note"), join(path, "note"), f"expected a string, got {type_name(note)}")
                note = None
            evidence = self._evidence(entry.get("evidence"), join(path, "evidence"), entry.line_of("evidence"))
        elif isinstance(entry, YamlList):
            ctx.error(
                line, path, f"expected a value or a mapping with value, note and evidence; got {type_name(entry)}"
            )
            return None
        else:
            value, value_line, value_path = entry, line, path
        if value is not None:
            problem = check_value(requirement, value)
            if problem:
                ctx.error(value_line, value_path, problem)
                return None
        return Answer(req_id, value, note, evidence)

    def _evidence(self, items: Any, path: str, line: int) -> tuple[Evidence, ...]:
        if items is None:
            return ()
        if not isinstance(items, YamlList):
            self.ctx.error(line, path, f"expected a list of evidence items, got {type_name(items)}")
            return ()
        result = []
        for index, raw in enumerate(items):
            item_path = join(path, index)
            known_problems = len(self.ctx.problems)
            checked = EVIDENCE.check(raw, item_path, items.line_of(index), self.ctx)
            if checked is INVALID or len(self.ctx.problems) > known_problems:
                continue
            if "url" not in checked and "file" not in checked:
                self.ctx.error(checked.line, item_path, "an evidence item needs either 'url' or 'file'")
                continue
            if "sha256" in checked and "file" not in checked:
                self.ctx.error(
                    checked.line_of("sha256"), join(item_path, "sha256"), "'sha256' applies only to a 'file' item"
                )
                continue
            effective, expires = checked.get("effective"), checked.get("expires")
            if effective and expires and expires < effective:
                self.ctx.error(
                    checked.line_of("expires"),
                    join(item_path, "expires"),
                    f"expires {expires} is before effective {effective}",
                )
                continue
            sha256, size = checked.get("sha256"), None
            if "file" in checked and self.base_dir is not None:
                digest = self._hash_file(checked["file"], checked, item_path)
                if digest is None:
                    continue
                sha256, size = digest
            result.append(
                Evidence(checked["title"], checked.get("url"), checked.get("file"), sha256, size, effective, expires)
            )
        return tuple(result)

    def _hash_file(self, name: str, item: YamlMap, path: str) -> tuple[str, int] | None:
        file_path = (self.base_dir / name) if self.base_dir is not None else Path(name)
        line, file_field = item.line_of("file"), join(path, "file")
        outside = _outside_reason(name, file_path, self.base_dir)
        if outside is not None:
            self.ctx.error(
                line, file_field, f"evidence file {name!r} lies outside the answers file's folder ({outside}); "
                "give a path inside that folder, relative to it"
            )  # fmt: skip
            return None
        if not file_path.is_file():
            # An upload's folder is a temporary one on the server: the person sees only the name they gave.
            where = "in the upload" if self.upload else f"(looked at {file_path})"
            self.ctx.error(line, file_field, f"evidence file {name!r} not found {where}")
            return None
        digest, size = hashlib.sha256(), 0
        try:
            with file_path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
                    size += len(chunk)
        except OSError as exc:
            self.ctx.error(line, file_field, f"evidence file {name!r} cannot be read: {exc.strerror}")
            return None
        actual = digest.hexdigest()
        expected = item.get("sha256")
        if expected and expected != actual:
            self.ctx.error(
                item.line_of("sha256"),
                join(path, "sha256"),
                f"sha256 mismatch for {name!r}: the file's SHA-256 is {actual}",
            )
            return None
        return actual, size


def _outside_reason(name: str, file_path: Path, base_dir: Path | None) -> str | None:
    """Why an evidence file's path leaves the answers file's folder, or None when it stays inside."""
    if base_dir is None:
        return None
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or re.match(r"[A-Za-z]:", name):
        return "an absolute path"
    if ".." in posix.parts:
        return "it goes up with '..'"
    try:
        inside = file_path.resolve().is_relative_to(base_dir.resolve())
    except (OSError, RuntimeError):  # a loop of symbolic links
        inside = False
    return None if inside else "a symbolic link leads out of it"
