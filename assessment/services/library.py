"""The framework library: read from files for the command line, imported into the database for the app."""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from ..domain.errors import InvalidFile, Problem
from ..domain.framework import Framework
from ..domain.loader import framework_paths, load_framework_text, load_library
from ..domain.yamlread import read_text
from ..extensions import db
from ..models import FrameworkVersion
from . import audit


@dataclass(frozen=True)
class FrameworkSummary:
    """One line of the library listing."""

    id: str
    version: str
    title: str
    kind: str
    domains: int
    requirements: int
    levels: int


def summarise(framework: Framework) -> FrameworkSummary:
    """The listing line of a framework."""
    return FrameworkSummary(
        framework.id,
        framework.version,
        framework.title,
        framework.kind,
        len(framework.domains),
        len(framework.requirements),
        len(framework.levels),
    )


def read_library(directory: Path) -> tuple[list[Framework], list[Problem]]:
    """The valid frameworks of `directory`, sorted by id, and the problems of the others."""
    frameworks, problems = load_library(directory)
    return sorted(frameworks, key=lambda f: (f.id, f.version)), problems


# --- the library in the database ----------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    """What an import of the library did."""

    added: list[str]
    unchanged: list[str]
    problems: list[Problem]


def import_library(directory: Path) -> ImportReport:
    """Import every valid framework file of `directory`; a changed file adds a version, never alters one."""
    added, unchanged, problems = [], [], []
    for path in framework_paths(directory):
        try:
            text = read_text(path)
            framework = load_framework_text(text, str(path))
        except InvalidFile as exc:
            problems.extend(exc.problems)
            continue
        row, created = store_framework(framework, text, path.name)
        (added if created else unchanged).append(f"{row.framework_id} {row.label}")
    return ImportReport(added, unchanged, problems)


def store_framework(framework: Framework, text: str, source_name: str) -> tuple[FrameworkVersion, bool]:
    """The stored version of this exact content, adding it when new."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    existing = db.session.scalar(
        select(FrameworkVersion).where(
            FrameworkVersion.framework_id == framework.id, FrameworkVersion.content_sha256 == digest
        )
    )
    if existing is not None:
        return existing, False
    same_version = db.session.scalar(
        select(func.count())
        .select_from(FrameworkVersion)
        .where(FrameworkVersion.framework_id == framework.id, FrameworkVersion.version == framework.version)
    )
    row = FrameworkVersion(
        framework_id=framework.id,
        version=framework.version,
        revision=(same_version or 0) + 1,
        title=framework.title,
        kind=framework.kind,
        requirement_count=len(framework.requirements),
        domain_count=len(framework.domains),
        source_name=source_name,
        content=text,
        content_sha256=digest,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "framework.imported",
        "framework_version",
        row.id,
        after={
            "framework": framework.id,
            "version": framework.version,
            "revision": row.revision,
            "sha256": digest,
            "source": source_name,
            "requirements": row.requirement_count,
        },
    )
    return row, True


_PARSED: OrderedDict[str, Framework] = OrderedDict()
_PARSED_MAX = 32
_PARSING = threading.Lock()  # one parse at a time in a process: see framework_of


def framework_of(row: FrameworkVersion) -> Framework:
    """The parsed framework of a stored version, parsed once per process and content hash.

    Parsing a large framework makes about ten times its final size in short-lived values (the YAML nodes
    with their lines), and a process keeps the memory they took at its high-water mark. So a thread that
    finds the framework missing while another parses it waits for that parse instead of making a second
    one beside it (a fresh web worker's first requests arrive together), and the parsed framework is copied
    once the parse's garbage is gone, so that it lies in few memory pages rather than scattered among freed
    ones (1,200 requirements: a process grows by about 10 MB instead of 16 MB)."""
    digest = row.content_sha256
    framework = _PARSED.get(digest)
    if framework is None:
        with _PARSING:
            framework = _PARSED.get(digest)
            if framework is None:
                parsed = load_framework_text(row.content, row.source_name)
                framework = pickle.loads(pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL))
                del parsed
                _PARSED[digest] = framework
                if len(_PARSED) > _PARSED_MAX:
                    _PARSED.popitem(last=False)
                return framework
    with contextlib.suppress(KeyError):  # another thread may have dropped it from the cache meanwhile
        _PARSED.move_to_end(digest)
    return framework


def latest_versions() -> list[FrameworkVersion]:
    """The newest stored version of each framework, by title."""
    newest = (
        select(FrameworkVersion.framework_id, func.max(FrameworkVersion.id).label("id"))
        .group_by(FrameworkVersion.framework_id)
        .subquery()
    )
    rows = db.session.scalars(select(FrameworkVersion).join(newest, FrameworkVersion.id == newest.c.id))
    return sorted(rows, key=lambda r: r.title.lower())


def versions_of(framework_id: str) -> list[FrameworkVersion]:
    """Every stored version of a framework, newest first."""
    return list(
        db.session.scalars(
            select(FrameworkVersion)
            .where(FrameworkVersion.framework_id == framework_id)
            .order_by(FrameworkVersion.id.desc())
        )
    )
