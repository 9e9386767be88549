"""OWASP DevSecOps Maturity Model (DSOMM) model files -> maturity framework files of ours (format 1).

DSOMM's generated `model.yaml` holds two YAML documents: `meta` (version, released, publisher),
then the model itself: dimensions -> sub-dimensions -> activities, each activity a mapping with
its `uuid`, its `level` (1 to 5) and the texts `description`, `risk`, `measure`, `assessment`
(and `meta.implementationGuide`, `comment(s)`, `dependsOn`, `implementation`, `references`...).

The rules (docs/convert.md says the same for users):

- The result is a maturity framework with levels 0 (the floor, nothing needed) and 1 to 5;
  every activity is one requirement at its level, so the number of requirements equals the
  number of activities. Dimensions are domains, in the file's order; the sub-dimension is the
  requirement's `section`.
- A requirement's id is the activity's `uuid`, the key by which DSOMM itself follows an
  activity across versions and renames (and by which `dependsOn` names it); a readable id made
  from the names would change with every rename, and names run past our 64 characters. A
  domain's id is the dimension's name escaped (`names.escape_id`: `Build and Deployment` ->
  `Build_20and_20Deployment`); `names.unescape_id` gives the name back. Two activities with
  one uuid, or an id that does not fit, are errors naming them: never a silent rename.
- The title is the activity's name; the question its `description`, else its `measure`; the
  guidance its risk, measure, assessment, implementation guide, comments, dependencies, tools,
  usefulness and difficulty. References become tags `<standard>:<ref>` (`samm2:I-SB-A-1`,
  `iso27001-2022:8.32`; openCRE links are left out), DSOMM's own tags stay as they are.
- Answers are `yes_no`: DSOMM records an activity as implemented or not (`isImplemented`).
- `source` names the model and its meta (version, released, publisher); `license` is the
  meta's `license` when the file has one, else GPL-3.0, the licence of DSOMM's model data.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ..errors import ROOT_PATH, Problem
from ..loader import ITEM_ID
from ..schema import join
from . import ConversionError, Converter, Documents
from .names import escape_id, shorten

EXPECTS = (
    "an OWASP DSOMM model (a `meta` document, then dimensions -> sub-dimensions -> activities with uuid and level)"
)
LICENSE = "GPL-3.0"
LEVELS = range(1, 6)
FRAMEWORK_ID = "owasp-dsomm"
TITLE = "OWASP DevSecOps Maturity Model (DSOMM)"
_ID_PATTERN = re.compile(ITEM_ID)
_SKIPPED_REFERENCES = {"openCRE"}  # links that name the activity again, not a mapping


def _split(document: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The meta mapping and the model mapping of a parsed DSOMM file, either may be None."""
    documents = list(document) if isinstance(document, Documents) else [document]
    meta: dict[str, Any] | None = None
    model: dict[str, Any] | None = None
    for item in documents:
        if not isinstance(item, dict):
            continue
        if set(item) == {"meta"}:
            meta = item
        elif model is None:
            model = item
    if model is not None and isinstance(model.get("meta"), dict) and meta is None:
        meta = model  # one document with `meta` beside the dimensions
    return meta, model


def _activities(model: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """Every (dimension, sub-dimension, activity name, activity) of the model, in the file's order."""
    found = []
    for dimension, subs in model.items():
        if dimension == "meta" or not isinstance(subs, dict):
            continue
        for sub, activities in subs.items():
            if isinstance(activities, dict):
                found += [(dimension, sub, name, activity) for name, activity in activities.items()]
    return found


def is_model(document: Any) -> bool:
    """Whether the document has DSOMM's shape: some activity, three levels down, with a uuid and a level."""
    meta, model = _split(document)
    if model is None:
        return False
    return any(isinstance(a, dict) and "uuid" in a and "level" in a for *_, a in _activities(model))


def _line(mapping: Any, key: str | None = None) -> int:
    if key is not None and hasattr(mapping, "line_of"):
        return mapping.line_of(key)
    return getattr(mapping, "line", 1)


class _Conversion:
    """One model's conversion; collects every problem before raising."""

    def __init__(self, document: Any, filename: str):
        self.meta, self.model = _split(document)
        self.filename = filename
        self.problems: list[Problem] = []

    def error(self, line: int, path: str, message: str) -> None:
        self.problems.append(Problem(self.filename, line, path or ROOT_PATH, message))

    def text(self, mapping: Any, key: str, path: str) -> str | None:
        """A text field: a string (a number is taken as its digits), None when absent or empty, else an error."""
        value = mapping.get(key) if isinstance(mapping, dict) else None
        if value is None or isinstance(value, str):
            return value.strip() if isinstance(value, str) and value.strip() else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        self.error(_line(mapping, key), join(path, key), f"expected text, found {value!r}")
        return None

    def run(self) -> dict[str, Any]:
        assert self.model is not None  # detect saw it
        result = self.header()
        result["domains"] = self.domains()
        if self.problems:
            raise ConversionError(list(dict.fromkeys(self.problems)))
        return result

    def header(self) -> dict[str, Any]:
        meta = self.meta.get("meta") if isinstance(self.meta, dict) else None
        if not isinstance(meta, dict):
            line = _line(self.meta, "meta") if self.meta is not None else 1
            self.error(
                line, "meta", "expected the meta document (meta: {version: ..., released: ...}) before the model"
            )
            meta = {}
        version = self.text(meta, "version", "meta")
        if version is None and meta:
            self.error(_line(meta), "meta.version", "expected the model's version")
        facts = [f"version {version}"] if version else []
        for key, label in (("released", "released"), ("publisher", "publisher")):
            value = self.text(meta, key, "meta")
            if value:
                facts.append(f"{label} {value}")
        result: dict[str, Any] = {
            "format": 1,
            "id": FRAMEWORK_ID,
            "version": version or "",
            "title": TITLE,
            "kind": "maturity",
            "description": (
                "Converted from the DSOMM model: its dimensions are the domains, their sub-dimensions the "
                "sections, each activity a requirement at its level. Requirement ids are the activities' uuids."
            ),
        }
        publisher = self.text(meta, "publisher", "meta")
        if publisher:
            result["publisher"] = publisher
        result["license"] = self.text(meta, "license", "meta") or LICENSE
        result["source"] = f"OWASP DSOMM model ({', '.join(facts)})" if facts else "OWASP DSOMM model"
        result["levels"] = [{"number": 0, "name": "Level 0", "description": "The floor: no activity is needed."}] + [
            {"number": n, "name": f"Level {n}"} for n in LEVELS
        ]
        result["defaults"] = {"answer": "yes_no", "evidence": "optional", "na_allowed": True}
        return result

    def domains(self) -> list[dict[str, Any]]:
        model = self.model
        assert model is not None
        domains: dict[str, dict[str, Any]] = {}
        domain_ids: dict[str, str] = {}
        seen: dict[str, str] = {}  # requirement id -> the activity that has it
        names = {
            a["uuid"]: str(name)
            for *_, name, a in _activities(model)
            if isinstance(a, dict) and isinstance(a.get("uuid"), str)
        }
        for dimension, sub, name, activity in _activities(model):
            path = join(join(join("", str(dimension)), str(sub)), str(name))
            if dimension not in domains:
                domain_id = self.make_id(str(dimension), _line(model, dimension), str(dimension), domain_ids, "domain")
                domains[dimension] = {
                    "id": domain_id,
                    "title": shorten(str(dimension)) or domain_id,
                    "requirements": [],
                }
            if not isinstance(activity, dict):
                self.error(
                    _line(model[dimension][sub], name), path, "expected an activity (a mapping with uuid, level)"
                )
                continue
            requirement = self.requirement(str(sub), str(name), activity, path, seen, names)
            if requirement is not None:
                domains[dimension]["requirements"].append(requirement)
        if not domains:
            self.error(_line(model), ROOT_PATH, "expected dimensions -> sub-dimensions -> activities")
        return [domain for domain in domains.values() if domain["requirements"]]

    def make_id(self, raw: str, line: int, path: str, seen: dict[str, str], what: str) -> str:
        """`raw` as an id (escaped when it does not fit), or an error when even that fails or it clashes."""
        value = raw if _ID_PATTERN.match(raw) else escape_id(raw)
        if not _ID_PATTERN.match(value):
            self.error(
                line, path, f"{raw!r} gives the {what} id {value!r}, which is not a valid id (at most 64 characters)"
            )
        elif value in seen:
            self.error(
                line, path, f"the {what} id {value!r} of {path} is also that of {seen[value]}; ids must be unique"
            )
        else:
            seen[value] = path
        return value

    def requirement(
        self, sub: str, name: str, activity: dict[str, Any], path: str, seen: dict[str, str], names: dict[Any, str]
    ) -> dict[str, Any] | None:
        uuid = self.text(activity, "uuid", path)
        level = activity.get("level")
        bad = False
        if uuid is None:
            self.error(_line(activity, "uuid"), join(path, "uuid"), "missing the activity's uuid")
            bad = True
        if not isinstance(level, int) or isinstance(level, bool) or level not in LEVELS:
            self.error(_line(activity, "level"), join(path, "level"), f"expected a level from 1 to 5, found {level!r}")
            bad = True
        if bad:
            return None
        rid = self.make_id(uuid, _line(activity, "uuid"), join(path, "uuid"), seen, "requirement")
        requirement: dict[str, Any] = {"id": rid, "title": shorten(name) or rid, "level": level}
        if sub.strip():
            requirement["section"] = sub
        description = self.text(activity, "description", path)
        measure = self.text(activity, "measure", path)
        question = description or measure
        if question and question != name:
            requirement["question"] = question
        guidance = self.guidance(activity, path, measure if description else None, names)
        if guidance:
            requirement["guidance"] = guidance
        tags = self.tags(activity, path)
        if tags:
            requirement["tags"] = tags
        return requirement

    def guidance(self, activity: dict[str, Any], path: str, measure: str | None, names: dict[Any, str]) -> str:
        parts = []
        risk = self.text(activity, "risk", path)
        if risk:
            parts.append(f"**Risk**: {risk}")
        if measure:
            parts.append(f"**Measure**: {measure}")
        assessment = self.text(activity, "assessment", path)
        if assessment:
            parts.append(f"**Assessment**:\n\n{assessment}")
        meta = activity.get("meta")
        guide = self.text(meta, "implementationGuide", join(path, "meta")) if isinstance(meta, dict) else None
        if guide:
            parts.append(f"**Implementation guide**: {guide}")
        for key in ("comment", "comments"):
            comment = self.text(activity, key, path)
            if comment:
                parts.append(f"**Comment**: {comment}")
        depends = activity.get("dependsOn")
        if isinstance(depends, list) and depends:
            items = [f"- `{d}` {names[d]}" if d in names else f"- {d}" for d in depends if isinstance(d, str)]
            parts.append("**Depends on**:\n\n" + "\n".join(items))
        tools = activity.get("implementation")
        if isinstance(tools, list):
            tool_names = [t["name"].strip() for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]
            if tool_names:
                parts.append("**Tools**: " + ", ".join(tool_names))
        figures = []
        usefulness = activity.get("usefulness")
        if isinstance(usefulness, int) and not isinstance(usefulness, bool):
            figures.append(f"usefulness {usefulness}")
        difficulty = activity.get("difficultyOfImplementation")
        if isinstance(difficulty, dict):
            figures += [f"{k} {v}" for k, v in difficulty.items() if isinstance(v, int) and not isinstance(v, bool)]
        if figures:
            parts.append(f"DSOMM rates it (1 low to 5 high): {', '.join(figures)}.")
        return "\n\n".join(parts)

    def tags(self, activity: dict[str, Any], path: str) -> list[str]:
        tags = []
        references = activity.get("references")
        if isinstance(references, dict):
            for standard, refs in references.items():
                if standard in _SKIPPED_REFERENCES or not isinstance(refs, list):
                    continue
                tags += [
                    f"{standard}:{r}" for r in refs if isinstance(r, str | int | float) and not isinstance(r, bool)
                ]
        own = activity.get("tags")
        if isinstance(own, list):
            tags += [t for t in own if isinstance(t, str) and t.strip() and t != "none"]
        return list(dict.fromkeys(tags))


def convert_model(document: Any, filename: str = "<text>") -> dict[str, Any]:
    """The framework document (plain data, format 1) of a parsed DSOMM model, or a ConversionError."""
    if not is_model(document):
        raise ConversionError.at(filename, _line(document), ROOT_PATH, f"expected {EXPECTS}")
    return _Conversion(document, filename).run()


CONVERTER = Converter(name="owasp-dsomm", expects=EXPECTS, detect=is_model, convert=convert_model)
