"""Mappings between requirements of two frameworks: "answer once, satisfy many".

A mapping says how a requirement of one framework relates to one of another (`equal`, `subset`,
`superset`, `intersect`), so an answer given in one assessment can be offered in another. Three
sources give mappings, all read here as plain data (pure: no database, the stored frameworks
come in through an `Index`):

- a CISO Assistant mapping library (YAML): `objects.requirement_mapping_set` (or a list
  `requirement_mapping_sets`) naming requirements by node urn; a converted CISO Assistant
  requirement carries its node's urn as a tag (domain/convert/ciso.py), which is how it is found;
- an OSCAL 1.2 mapping collection (JSON): `mapping-collection.mappings[].maps[]` naming controls
  by `id-ref`, found through the tag `oscal:<control id>` or a requirement with that very id, in
  the framework the mapping's `source-resource` / `target-resource` names;
- shared `practice:` tags (frameworks/TAGS.md): two requirements of different frameworks with the
  same practice tag `intersect` (they ask about the same practice, not necessarily the same way).

A reader reports every problem of a file at once, in the `FILE:LINE: PATH: message` form; a
mapping whose requirement is not in any stored framework is a problem, not a silent skip, so an
import is all or nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterable
from collections.abc import Mapping as MappingOf
from dataclasses import dataclass
from typing import Any

from .answers import NA
from .errors import ROOT_PATH, InvalidFile, Problem
from .framework import Framework, Requirement, Scale
from .schema import join
from .yamlread import parse_yaml

PRACTICE = "practice:"
OSCAL = "oscal:"


class Relation(enum.StrEnum):
    """How the source requirement relates to the target: what meeting one says about the other."""

    EQUAL = "equal"  # the same requirement in other words: met there means met here
    SUBSET = "subset"  # the source asks for part of what the target asks
    SUPERSET = "superset"  # the source asks for all the target asks, and more: met there means met here
    INTERSECT = "intersect"  # they overlap

    @property
    def covers_fully(self) -> bool:
        """Whether meeting the source requirement meets the target's (equal, superset)."""
        return self in (Relation.EQUAL, Relation.SUPERSET)

    def reversed(self) -> Relation:
        """The relation read from the target's side (subset <-> superset)."""
        return {Relation.SUBSET: Relation.SUPERSET, Relation.SUPERSET: Relation.SUBSET}.get(self, self)


OSCAL_RELATIONS = {
    "equivalent-to": Relation.EQUAL,
    "equal-to": Relation.EQUAL,
    "subset-of": Relation.SUBSET,
    "superset-of": Relation.SUPERSET,
    "intersects-with": Relation.INTERSECT,
}
SKIPPED_RELATIONS = {"not_related", "no-relationship"}


@dataclass(frozen=True, slots=True)
class Mapping:
    """One source requirement related to one target requirement; frameworks are keys of the Index."""

    source_framework: Hashable
    source_requirement: str
    target_framework: Hashable
    target_requirement: str
    relation: Relation
    rationale: str | None = None

    def reversed(self) -> Mapping:
        """The same mapping read from the target's side."""
        return Mapping(
            self.target_framework,
            self.target_requirement,
            self.source_framework,
            self.source_requirement,
            self.relation.reversed(),
            self.rationale,
        )


@dataclass(frozen=True, slots=True)
class MappingSet:
    """What one file gave: its name, where it came from, and its mappings."""

    name: str
    source: str
    mappings: tuple[Mapping, ...]


class Index:
    """The stored frameworks a mapping file is resolved against, by key (e.g. a framework's row id)."""

    def __init__(self, frameworks: MappingOf[Hashable, Framework]):
        self.frameworks = dict(frameworks)
        self.by_tag: dict[str, list[tuple[Hashable, str]]] = {}
        for key, framework in self.frameworks.items():
            for requirement in framework.requirements:
                for tag in requirement.tags:
                    self.by_tag.setdefault(tag, []).append((key, requirement.id))

    def tagged(self, tag: str) -> list[tuple[Hashable, str]]:
        """Every (framework key, requirement id) carrying `tag`."""
        return self.by_tag.get(tag, [])

    def control(self, key: Hashable, control_id: str) -> str | None:
        """The requirement of framework `key` for an OSCAL control id: tagged `oscal:<id>`, else the same id."""
        for found_key, requirement_id in self.tagged(OSCAL + control_id):
            if found_key == key:
                return requirement_id
        framework = self.frameworks.get(key)
        if framework is not None and control_id in framework.requirement_index:
            return control_id
        return None

    def framework_for(self, resource: str) -> Hashable | None:
        """The framework an OSCAL resource reference names: its id, title, or a text its `source` contains."""
        wanted = resource.strip().casefold()
        if not wanted:
            return None
        for key, framework in self.frameworks.items():
            if wanted in (framework.id.casefold(), framework.title.casefold(), str(key).casefold()):
                return key
        for key, framework in self.frameworks.items():
            if framework.source and wanted in framework.source.casefold():
                return key
        return None


def translate(value: str | None, source: Requirement, target: Requirement) -> str | None:
    """A stored answer value of `source` as a value of `target`, or None when it does not carry over.

    The same value when the target's scale has it; else the target option whose credit is nearest the
    source option's (ties: the lower credit, never claiming more than was answered); numbers only to
    numbers; `na` only where the target allows it.
    """
    if value is None:
        return None
    if value == NA:
        return NA if target.na_allowed else None
    if source.is_numeric or target.is_numeric:
        return value if source.is_numeric and target.is_numeric else None
    assert isinstance(source.answer, Scale) and isinstance(target.answer, Scale)
    targets = {o.value: o for o in target.answer.options}
    if value in targets:
        return value
    credit = next((o.credit for o in source.answer.options if o.value == value), None)
    if credit is None or not targets:
        return None
    return min(target.answer.options, key=lambda o: (abs(o.credit - credit), o.credit)).value


def practice_mappings(index: Index) -> list[Mapping]:
    """Requirements of two different frameworks sharing a `practice:` tag `intersect` (both ways)."""
    result = []
    for tag, holders in sorted(index.by_tag.items()):
        if not tag.startswith(PRACTICE):
            continue
        for source in holders:
            for target in holders:
                if source[0] != target[0]:
                    result.append(Mapping(source[0], source[1], target[0], target[1], Relation.INTERSECT, tag))
    return result


def _line(value: Any, key: Any = None) -> int:
    if key is not None and hasattr(value, "line_of"):
        return value.line_of(key)
    return getattr(value, "line", 1)


class _Reader:
    """Collects every problem of one file."""

    def __init__(self, filename: str, index: Index):
        self.filename = filename
        self.index = index
        self.problems: list[Problem] = []

    def error(self, line: int, path: str, message: str) -> None:
        self.problems.append(Problem(self.filename, line, path or ROOT_PATH, message))

    def text(self, mapping: Any, key: str, path: str, required: bool = True) -> str | None:
        value = mapping.get(key) if isinstance(mapping, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
        if required:
            self.error(_line(mapping, key), join(path, key), f"expected a non-empty text `{key}`")
        return None

    def listed(self, mapping: Any, key: str, path: str) -> list[Any]:
        value = mapping.get(key) if isinstance(mapping, dict) else None
        if isinstance(value, list) and value:
            return value
        self.error(_line(mapping, key), join(path, key), f"expected a non-empty list `{key}`")
        return []

    def done(self, name: str, source: str, mappings: list[Mapping]) -> MappingSet:
        if self.problems:
            raise InvalidFile(self.problems)
        if not mappings:
            raise InvalidFile([Problem(self.filename, 1, ROOT_PATH, "no mappings in the file")])
        return MappingSet(name, source, tuple(dict.fromkeys(mappings)))


def read_ciso_mapping_text(text: str, filename: str, index: Index) -> MappingSet:
    """A CISO Assistant mapping library, its requirement urns resolved through the `urn:` tags of `index`."""
    document = parse_yaml(text, filename)
    reader = _Reader(filename, index)
    objects = document.get("objects") if isinstance(document, dict) else None
    sets: list[tuple[Any, str]] = []
    if isinstance(objects, dict) and isinstance(objects.get("requirement_mapping_set"), dict):
        sets.append((objects["requirement_mapping_set"], "objects.requirement_mapping_set"))
    elif isinstance(objects, dict) and isinstance(objects.get("requirement_mapping_sets"), list):
        for i, item in enumerate(objects["requirement_mapping_sets"]):
            sets.append((item, join("objects.requirement_mapping_sets", i)))
    else:
        reader.error(
            _line(document),
            "objects",
            "expected a CISO Assistant mapping library: `objects.requirement_mapping_set` "
            "(or a list `objects.requirement_mapping_sets`)",
        )
        raise InvalidFile(reader.problems)
    mappings: list[Mapping] = []
    for mapping_set, spath in sets:
        if not isinstance(mapping_set, dict):
            reader.error(_line(mapping_set), spath, "expected a mapping set (a mapping)")
            continue
        frameworks = {}
        for side in ("source", "target"):
            frameworks[side] = reader.text(mapping_set, f"{side}_framework_urn", spath)
        for i, item in enumerate(reader.listed(mapping_set, "requirement_mappings", spath)):
            path = join(join(spath, "requirement_mappings"), i)
            if not isinstance(item, dict):
                reader.error(_line(item), path, "expected a requirement mapping (a mapping)")
                continue
            relationship = reader.text(item, "relationship", path)
            if relationship in SKIPPED_RELATIONS:
                continue
            relation = None
            if relationship is not None:
                try:
                    relation = Relation(relationship)
                except ValueError:
                    reader.error(
                        _line(item, "relationship"),
                        join(path, "relationship"),
                        f"unknown relationship {relationship!r}: expected one of "
                        f"{', '.join(r.value for r in Relation)} (or not_related, skipped)",
                    )
            ends = []
            for side in ("source", "target"):
                urn = reader.text(item, f"{side}_requirement_urn", path)
                if urn is None:
                    continue
                found = index.tagged(urn)
                if not found:
                    reader.error(
                        _line(item, f"{side}_requirement_urn"),
                        join(path, f"{side}_requirement_urn"),
                        f"no stored framework has the requirement {urn} (of {frameworks[side] or 'its framework'}): "
                        "import the converted library first",
                    )
                    continue
                ends.append(found[0])
            if relation is not None and len(ends) == 2:
                rationale = reader.text(item, "rationale", path, required=False)
                mappings.append(Mapping(ends[0][0], ends[0][1], ends[1][0], ends[1][1], relation, rationale))
    name = (
        reader.text(document, "name", "", required=False) or reader.text(document, "ref_id", "", required=False)
    ) or filename
    source = f"CISO Assistant mapping library {document.get('urn') or filename}"
    return reader.done(name, source, mappings)


def _resource_names(resource: Any) -> Iterable[str]:
    if isinstance(resource, str):
        yield resource
    elif isinstance(resource, dict):
        for key in ("href", "title", "ns", "uuid"):
            if isinstance(resource.get(key), str):
                yield resource[key]


def read_oscal_mapping_text(text: str, filename: str, index: Index) -> MappingSet:
    """An OSCAL 1.2 mapping collection (JSON), controls resolved by `oscal:` tag or equal requirement id."""
    document = parse_yaml(text, filename)  # JSON is YAML: the located reader gives every value its line
    reader = _Reader(filename, index)
    collection = document.get("mapping-collection") if isinstance(document, dict) else None
    if not isinstance(collection, dict):
        reader.error(
            _line(document), "mapping-collection", "expected an OSCAL mapping collection (`mapping-collection`)"
        )
        raise InvalidFile(reader.problems)
    cpath = "mapping-collection"
    mappings: list[Mapping] = []
    for i, mapping in enumerate(reader.listed(collection, "mappings", cpath)):
        mpath = join(join(cpath, "mappings"), i)
        if not isinstance(mapping, dict):
            reader.error(_line(mapping), mpath, "expected a mapping (an object)")
            continue
        keys: dict[str, Hashable | None] = {}
        for side in ("source", "target"):
            resource = mapping.get(f"{side}-resource")
            names = list(_resource_names(resource))
            found = next((k for k in map(index.framework_for, names) if k is not None), None)
            if found is None:
                reader.error(
                    _line(mapping, f"{side}-resource"),
                    join(mpath, f"{side}-resource"),
                    f"no stored framework matches {', '.join(names) or 'an empty resource'} "
                    "(by id, title, or its source)",
                )
            keys[side] = found
        for j, entry in enumerate(reader.listed(mapping, "maps", mpath)):
            path = join(join(mpath, "maps"), j)
            if not isinstance(entry, dict):
                reader.error(_line(entry), path, "expected a map (an object)")
                continue
            relationship = reader.text(entry, "relationship", path)
            if relationship in SKIPPED_RELATIONS:
                continue
            relation = OSCAL_RELATIONS.get(relationship or "")
            if relationship is not None and relation is None:
                reader.error(
                    _line(entry, "relationship"),
                    join(path, "relationship"),
                    f"unknown relationship {relationship!r}: expected one of {', '.join(OSCAL_RELATIONS)}",
                )
            ends: dict[str, list[str]] = {"source": [], "target": []}
            for side, key in (("source", "sources"), ("target", "targets")):
                for k, ref in enumerate(reader.listed(entry, key, path)):
                    rpath = join(join(path, key), k)
                    control = reader.text(ref, "id-ref", rpath)
                    if control is None or keys[side] is None:
                        continue
                    requirement = index.control(keys[side], control)
                    if requirement is None:
                        reader.error(
                            _line(ref, "id-ref"),
                            join(rpath, "id-ref"),
                            f"the framework {index.frameworks[keys[side]].id} has no requirement for control "
                            f"{control!r} (tagged oscal:{control}, or with that id)",
                        )
                        continue
                    ends[side].append(requirement)
            if relation is None:
                continue
            rationale = reader.text(entry, "remarks", path, required=False)
            for source in ends["source"]:
                for target in ends["target"]:
                    mappings.append(Mapping(keys["source"], source, keys["target"], target, relation, rationale))
    metadata = collection.get("metadata")
    name = (
        reader.text(metadata, "title", join(cpath, "metadata"), required=False) if isinstance(metadata, dict) else None
    )
    source = f"OSCAL mapping collection {collection.get('uuid') or filename}"
    return reader.done(name or filename, source, mappings)


READERS: dict[str, Callable[[str, str, Index], MappingSet]] = {
    "ciso-assistant": read_ciso_mapping_text,
    "oscal": read_oscal_mapping_text,
}


def read_mapping_text(text: str, filename: str, index: Index) -> MappingSet:
    """Either kind of mapping file, told apart by its content (an OSCAL collection is a JSON object)."""
    if text.lstrip().startswith("{") and '"mapping-collection"' in text:
        return read_oscal_mapping_text(text, filename, index)
    return read_ciso_mapping_text(text, filename, index)
