"""Mapping sets in the database: import a mapping file, list the sets, find a requirement's mappings.

The reading is pure (domain/mappings.py); this module gives it the stored frameworks (the newest
version of each, keyed by framework id) and stores what it read, with a trail entry, all or nothing.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from ..domain.mappings import Index, Mapping, Relation, practice_mappings, read_mapping_text
from ..domain.mappings import MappingSet as ReadSet
from ..domain.yamlread import decode_text
from ..extensions import db
from ..models import MappingSet, RequirementMapping
from . import audit
from .library import framework_of, latest_versions


def stored_index() -> Index:
    """The newest version of every stored framework, keyed by framework id."""
    return Index({row.framework_id: framework_of(row) for row in latest_versions()})


def read_file(data: bytes, filename: str) -> ReadSet:
    """A mapping file's bytes (an upload, a file on disk) read against the stored frameworks, or InvalidFile.

    decode_text refuses binary and oversized content (5 MB) before anything is parsed."""
    return read_mapping_text(decode_text(data, filename), filename, stored_index())


def import_mapping_file(data: bytes, filename: str, actor: str) -> MappingSet:
    """Store a mapping file's mappings as one set (nothing stored when any problem is found); the caller commits."""
    read = read_file(data, filename)
    row = MappingSet(name=read.name[:500], source=f"{read.source} ({filename})"[:1000], imported_by=actor[:200])
    row.mappings = [
        RequirementMapping(
            source_framework=m.source_framework,
            source_requirement=m.source_requirement,
            target_framework=m.target_framework,
            target_requirement=m.target_requirement,
            relation=m.relation.value,
            rationale=m.rationale,
        )
        for m in read.mappings
    ]
    db.session.add(row)
    db.session.flush()
    pairs = sorted({f"{m.source_framework} -> {m.target_framework}" for m in read.mappings})
    audit.record(
        "mappings.import",
        "mapping_set",
        row.id,
        after={"name": row.name, "source": row.source, "mappings": len(row.mappings), "frameworks": pairs},
        actor=actor,
    )
    return row


def list_sets() -> list[tuple[MappingSet, int]]:
    """Every stored set, newest first, with its number of mappings."""
    counts = select(RequirementMapping.set_id, func.count().label("n")).group_by(RequirementMapping.set_id).subquery()
    rows = db.session.execute(
        select(MappingSet, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.set_id == MappingSet.id)
        .order_by(MappingSet.id.desc())
    )
    return [(s, n) for s, n in rows]


def mappings_into(framework_id: str) -> list[Mapping]:
    """Every mapping whose target is `framework_id`: stored sets read both ways, then shared practice tags."""
    rows = db.session.scalars(
        select(RequirementMapping).where(
            or_(
                RequirementMapping.target_framework == framework_id, RequirementMapping.source_framework == framework_id
            )
        )
    )
    found: list[Mapping] = []
    for r in rows:
        m = Mapping(
            r.source_framework,
            r.source_requirement,
            r.target_framework,
            r.target_requirement,
            Relation(r.relation),
            r.rationale,
        )
        if m.target_framework == framework_id:
            found.append(m)
        if m.source_framework == framework_id and m.target_framework != framework_id:
            found.append(m.reversed())
    found += [m for m in practice_mappings(stored_index()) if m.target_framework == framework_id]
    return list(dict.fromkeys(found))
