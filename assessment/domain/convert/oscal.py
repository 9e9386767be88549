"""OSCAL catalogs and profiles -> framework files of ours (compliance, format 1).

An OSCAL catalog is a mapping `{"catalog": {uuid, metadata, groups, controls, ...}}` (JSON or
YAML; XML is read into the same shape by `oscal_xml.py`); a profile `{"profile": {uuid, metadata,
imports, modify, ...}}` selects controls of a catalog and sets parameters. A profile's
`imports[].href` names its catalog by a back-matter `#uuid` or a URL that we never fetch: the
user gives the catalog file (`--catalog`), and every import is resolved against it.

Both are checked first with compliance-trestle's models (NIST's own OSCAL schema as pydantic
classes; imported here lazily, since importing them costs over half a second), so a document
that is not OSCAL is refused with the path of each problem rather than half converted.

The rules (docs/convert.md): one requirement per control and per enhancement (a control nested
in a control), at any depth, withdrawn ones (prop `status` = `withdrawn`) left out; domains are
the catalog's top-level groups (controls directly under the catalog go to a domain of their own);
the id is the control's label prop (`AC-2(1)`) when it fits our id pattern, else the control id
(`ac-2.1`), escaped with `names.escape_id` when even that does not fit; tags `oscal:<control
id>` (so that other OSCAL documents find the requirement of a control), the control's `class`
and `family:<group id>`.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from ..errors import ROOT_PATH, Problem
from ..loader import FRAMEWORK_ID, ITEM_ID
from ..schema import join
from . import ConversionError, Converter
from .ciso import COMPLIANCE_OPTIONS, COMPLIANCE_SCALE
from .names import escape_id

EXPECTS = "an OSCAL catalog or profile (JSON, YAML or XML with `catalog` or `profile` at the top)"
UNGROUPED = "ungrouped"
MAX_PROBLEMS = 50
_ID = re.compile(ITEM_ID)
_FRAMEWORK_ID = re.compile(FRAMEWORK_ID)
_INSERT = re.compile(r"\{\{\s*insert:\s*param,\s*([^\s}]+)\s*\}\}")


def is_oscal(document: Any) -> bool:
    """Whether the document is an OSCAL catalog or profile: a mapping with `catalog` or `profile` holding a mapping."""
    if not isinstance(document, dict):
        return False
    return any(isinstance(document.get(key), dict) for key in ("catalog", "profile"))


def _line(document: Any, location: tuple) -> int:
    """The line of the deepest value along `location` that knows its line (1 for JSON and XML)."""
    line, node = getattr(document, "line", 1), document
    for key in location:
        if hasattr(node, "line_of") and (
            (isinstance(node, dict) and key in node) or (isinstance(node, list) and isinstance(key, int))
        ):
            try:
                line, node = node.line_of(key), node[key]
            except (IndexError, KeyError):
                break
        else:
            break
    return line


def validate(document: Any, root: str, filename: str) -> None:
    """Check `document[root]` with compliance-trestle's model of an OSCAL catalog or profile; every problem at once."""
    from pydantic.v1 import ValidationError

    if root == "catalog":
        from trestle.oscal.catalog import Catalog as Model
    else:
        from trestle.oscal.profile import Profile as Model
    try:
        Model(**document[root])  # not parse_obj: trestle's hides a wrong oscal-version's path
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:MAX_PROBLEMS]:
            location = (root, *error["loc"])
            path = _path(location)
            message = f"not a valid OSCAL {root}: {error['msg']}"
            problems.append(Problem(filename, _line(document, location), path, message))
        raise ConversionError(list(dict.fromkeys(problems))) from None
    except RecursionError:
        raise ConversionError.at(filename, 1, root, "nested too deeply") from None


def _text(value: Any) -> str:
    """A text field's value, stripped; a number as its digits (YAML reads `title: 2026` as one), None as ""."""
    return "" if value is None else str(value).strip()


def _props(item: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [p for p in item.get("props") or () if p.get("name") == name and isinstance(p.get("value"), str)]


def _withdrawn(control: dict[str, Any]) -> bool:
    return any(p["value"].strip().lower() == "withdrawn" for p in _props(control, "status"))


def _label(control: dict[str, Any]) -> str | None:
    """The control's label: the label prop without a class (NIST's `AC-2(1)`), else its first label prop."""
    labels = _props(control, "label")
    plain = [p for p in labels if not p.get("class")]
    chosen = (plain or labels or [None])[0]
    return chosen["value"].strip() if chosen else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].rstrip("-")


class _Catalog:
    """One catalog's controls (withdrawn ones too), parameters and groups, walked once."""

    def __init__(self, body: dict[str, Any]):
        self.body = body
        self.params: dict[str, dict[str, Any]] = {}
        self.controls: dict[str, dict[str, Any]] = {}  # control id -> control, in the catalog's order
        self.children: dict[str, list[str]] = {}  # control id -> its enhancements' ids
        self._params(body)
        for group in body.get("groups") or ():
            self._group(group)
        for control in body.get("controls") or ():
            self._control(control)

    def _params(self, item: dict[str, Any]) -> None:
        for param in item.get("params") or ():
            self.params.setdefault(param["id"], param)

    def _group(self, group: dict[str, Any]) -> None:
        self._params(group)
        for sub in group.get("groups") or ():
            self._group(sub)
        for control in group.get("controls") or ():
            self._control(control)

    def _control(self, control: dict[str, Any]) -> None:
        self.controls.setdefault(control["id"], control)
        self._params(control)
        self.children[control["id"]] = [c["id"] for c in control.get("controls") or ()]
        for child in control.get("controls") or ():
            self._control(child)

    def descendants(self, control_id: str) -> list[str]:
        found, todo = [], list(self.children.get(control_id, ()))
        while todo:
            current = todo.pop(0)
            found.append(current)
            todo[:0] = self.children.get(current, ())
        return found


class _Conversion:
    """A catalog (or the part of it a profile selects) as a framework; collects every problem before raising."""

    def __init__(self, catalog: _Catalog, filename: str, selected: set[str] | None, values: dict[str, Any]):
        self.catalog = catalog
        self.filename = filename
        self.selected = selected  # None: every control
        self.set_params = values  # param id -> the profile's set-parameter
        self.problems: list[Problem] = []
        self.ids: dict[str, str] = {}  # requirement id -> the control id that gave it

    def error(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.filename, 1, path or ROOT_PATH, message))

    def domains(self) -> list[dict[str, Any]]:
        body, result, seen = self.catalog.body, [], {}
        for index, group in enumerate(body.get("groups") or ()):
            path = join("catalog.groups", index)
            requirements: list[dict[str, Any]] = []
            family = group.get("id")
            self.group_requirements(group, path, [], family, requirements)
            if not requirements:
                continue
            domain_id = family if family and _ID.match(family) else escape_id(family or _text(group["title"]))
            if domain_id in seen or not _ID.match(domain_id):
                clash = f"as does {seen[domain_id]}" if domain_id in seen else "not a valid id"
                self.error(join(path, "id"), f"the group gives the domain id {domain_id!r}: {clash}")
                continue
            seen[domain_id] = path
            domain: dict[str, Any] = {"id": domain_id, "title": _text(group["title"]) or domain_id}
            domain["requirements"] = requirements
            result.append(domain)
        loose: list[dict[str, Any]] = []
        for index, control in enumerate(body.get("controls") or ()):
            self.control_requirements(control, join("catalog.controls", index), [], None, loose)
        if loose:
            if UNGROUPED in seen:
                self.error("catalog.controls", f"the domain id {UNGROUPED!r} of controls outside groups is a group's")
            result.append({"id": UNGROUPED, "title": "Controls outside any group", "requirements": loose})
        return result

    def group_requirements(self, group, path, sections, family, out) -> None:
        for index, control in enumerate(group.get("controls") or ()):
            self.control_requirements(control, join(join(path, "controls"), index), sections, family, out)
        for index, sub in enumerate(group.get("groups") or ()):
            heading = _text(sub["title"])
            self.group_requirements(sub, join(join(path, "groups"), index), [*sections, heading], family, out)

    def control_requirements(self, control, path, sections, family, out) -> None:
        chosen = self.selected is None or control["id"] in self.selected
        if chosen and not _withdrawn(control):
            out.append(self.requirement(control, path, sections, family))
        heading = " ".join(part for part in (_label(control), _text(control["title"])) if part)
        for index, child in enumerate(control.get("controls") or ()):
            self.control_requirements(child, join(join(path, "controls"), index), [*sections, heading], family, out)

    def requirement(self, control, path, sections, family) -> dict[str, Any]:
        control_id, label = control["id"], _label(control)
        if label and _ID.match(label):
            rid = label
        elif _ID.match(control_id):
            rid = control_id
        else:
            rid = escape_id(control_id)
        if not _ID.match(rid):
            self.error(
                join(path, "id"), f"control {control_id!r} gives {rid!r}: not a valid id (at most 64 characters)"
            )
        elif rid in self.ids:
            self.error(join(path, "id"), f"control {control_id!r} gives the requirement id {rid!r}, "
                       f"as does control {self.ids[rid]!r}")  # fmt: skip
        self.ids.setdefault(rid, control_id)
        requirement: dict[str, Any] = {"id": rid, "title": _text(control["title"]) or rid}
        if sections:
            requirement["section"] = " / ".join(sections)
        statement = self.parts(control, "statement")
        if statement:
            requirement["question"] = statement
        guidance = self.parts(control, "guidance")
        if guidance:
            requirement["guidance"] = guidance
        tags = [f"oscal:{control_id}"]
        if control.get("class"):
            tags.append(control["class"])
        if family:
            tags.append(f"family:{family}")
        if rid == escape_id(control_id) and rid != control_id:
            tags.append(f"ref:{control_id}")
        requirement["tags"] = tags
        return requirement

    def parts(self, control: dict[str, Any], name: str) -> str | None:
        texts = [self.part_text(p) for p in control.get("parts") or () if p.get("name") == name]
        text = "\n\n".join(t for t in texts if t)
        return text or None

    def part_text(self, part: dict[str, Any]) -> str:
        """A part's prose, then its nested parts as a Markdown list, one item a part with its label in bold."""
        prose = self.insert(_text(part.get("prose")))
        items = self.items(part.get("parts") or (), 0)
        return "\n\n".join(text for text in (prose, items) if text)

    def items(self, parts: Any, depth: int) -> str:
        lines = []
        for sub in parts:
            label = _label(sub)
            prose = " ".join(self.insert(_text(sub.get("prose"))).split())
            lines.append("  " * depth + "- " + (f"**{label}** " if label else "") + prose)
            nested = self.items(sub.get("parts") or (), depth + 1)
            if nested:
                lines.append(nested)
        return "\n".join(line.rstrip() for line in lines)

    def insert(self, text: str, depth: int = 0) -> str:
        """Prose with each `{{ insert: param, ID }}` replaced by the parameter's values or a placeholder."""
        return _INSERT.sub(lambda match: self.param_text(match.group(1), depth), text)

    def param_text(self, param_id: str, depth: int) -> str:
        param = {**self.catalog.params.get(param_id, {}), **self.set_params.get(param_id, {})}
        values = [_text(v) for v in param.get("values") or () if _text(v)]
        if values:
            return ", ".join(values)
        select = param.get("select")
        if isinstance(select, dict) and select.get("choice") and depth < 5:
            choices = "; ".join(self.insert(_text(c), depth + 1).strip() for c in select["choice"])
            many = " (one or more)" if select.get("how-many") == "one-or-more" else ""
            return f"[Selection{many}: {choices}]"
        label = param.get("label")
        return f"[Assignment: {_text(label) or param_id}]"


def _header(kind: str, body: dict[str, Any], filename: str, extra: str = "") -> dict[str, Any]:
    metadata = body["metadata"]
    title = _text(metadata["title"])
    slug = _slug(title)
    if not _FRAMEWORK_ID.match(slug):
        raise ConversionError.at(filename, 1, f"{kind}.metadata.title", f"{title!r} gives no framework id")
    facts = [f"version {metadata['version']}", f"oscal-version {metadata['oscal-version']}", f"uuid {body['uuid']}"]
    facts.append(f"last-modified {metadata['last-modified']}")
    licences = [p["value"].strip() for n in ("license", "rights") for p in _props(metadata, n)]
    framework: dict[str, Any] = {"format": 1, "id": slug, "version": str(metadata["version"]), "title": title}
    framework["kind"] = "compliance"
    framework["description"] = (
        f"Converted from the OSCAL {kind} {title}{extra}. Each requirement carries the tag `oscal:<control id>`."
    )
    framework["license"] = "; ".join(licences) or (
        f"The terms of the OSCAL {kind} {title!r} (version {metadata['version']}) apply to its content."
    )
    framework["source"] = f"OSCAL {kind} {title} ({', '.join(facts)}){extra}"
    framework["scales"] = {COMPLIANCE_SCALE: COMPLIANCE_OPTIONS}
    framework["defaults"] = {"answer": COMPLIANCE_SCALE, "evidence": "optional", "na_allowed": True}
    return framework


def _finish(framework: dict[str, Any], conversion: _Conversion, filename: str, where: str) -> dict[str, Any]:
    framework["domains"] = conversion.domains()
    if conversion.problems:
        raise ConversionError(list(dict.fromkeys(conversion.problems)))
    if not framework["domains"]:
        raise ConversionError.at(filename, 1, where, "selects no control that is not withdrawn: nothing to assess")
    return framework


def convert_catalog(document: Any, filename: str = "<text>") -> dict[str, Any]:
    """The framework (plain data, format 1) of a parsed OSCAL catalog, or a ConversionError."""
    validate(document, "catalog", filename)
    body = document["catalog"]
    conversion = _Conversion(_Catalog(body), filename, None, {})
    return _finish(_header("catalog", body, filename), conversion, filename, "catalog")


def convert_oscal(document: Any, filename: str = "<text>") -> dict[str, Any]:
    """A catalog's framework; a profile without its catalog is an error saying how to give it."""
    if isinstance(document.get("catalog"), dict):
        return convert_catalog(document, filename)
    message = "an OSCAL profile selects controls of a catalog: give the catalog file with --catalog CATALOG"
    raise ConversionError.at(filename, 1, "profile.imports", message)


def _path(location: tuple) -> str:
    path = ""
    for key in location:
        path = join(path, key)
    return path


def _selection(catalog: _Catalog, selector: dict[str, Any], where: tuple, problems: list[tuple]) -> set[str]:
    """The control ids one include-controls or exclude-controls entry names (children too when it says so)."""
    chosen: list[str] = []
    for index, control_id in enumerate(selector.get("with-ids") or ()):
        if control_id in catalog.controls:
            chosen.append(control_id)
        else:
            problems.append(((*where, "with-ids", index), f"control {control_id!r} is not in the catalog"))
    for matching in selector.get("matching") or ():
        pattern = matching.get("pattern") or ""
        chosen += [c for c in catalog.controls if fnmatch.fnmatchcase(c, pattern)]
    if selector.get("with-child-controls") == "yes":
        chosen += [d for c in list(chosen) for d in catalog.descendants(c)]
    return set(chosen)


def convert_profile(profile: Any, filename: str, catalog_document: Any, catalog_name: str) -> dict[str, Any]:
    """The framework of an OSCAL profile resolved against the given catalog, or a ConversionError."""
    if not (isinstance(profile, dict) and isinstance(profile.get("profile"), dict)):
        raise ConversionError.at(filename, 1, ROOT_PATH, "--catalog is only for OSCAL profiles; this is no profile")
    if not (isinstance(catalog_document, dict) and isinstance(catalog_document.get("catalog"), dict)):
        raise ConversionError.at(catalog_name, 1, ROOT_PATH, "expected an OSCAL catalog (`catalog` at the top)")
    validate(profile, "profile", filename)
    validate(catalog_document, "catalog", catalog_name)
    body, catalog = profile["profile"], _Catalog(catalog_document["catalog"])
    included, excluded, problems = set(), set(), []
    for index, item in enumerate(body["imports"]):
        where = ("profile", "imports", index)
        if item.get("include-all") is not None:
            included |= set(catalog.controls)
        for number, selector in enumerate(item.get("include-controls") or ()):
            included |= _selection(catalog, selector, (*where, "include-controls", number), problems)
        for number, selector in enumerate(item.get("exclude-controls") or ()):
            excluded |= _selection(catalog, selector, (*where, "exclude-controls", number), problems)
    values: dict[str, Any] = {}
    modify = body.get("modify") or {}
    for index, setting in enumerate(modify.get("set-parameters") or ()):
        param_id = setting["param-id"]
        if param_id not in catalog.params:
            location = ("profile", "modify", "set-parameters", index, "param-id")
            problems.append((location, f"parameter {param_id!r} is not in the catalog"))
        values[param_id] = {k: setting[k] for k in ("values", "label", "select") if setting.get(k)}
    if problems:
        raise ConversionError(
            [Problem(filename, _line(profile, loc), _path(loc), f"{text} {catalog_name}") for loc, text in problems]
        )
    cmeta = catalog_document["catalog"]["metadata"]
    extra = f", resolved against the catalog {_text(cmeta['title'])} (version {cmeta['version']})"
    conversion = _Conversion(catalog, filename, included - excluded, values)
    return _finish(_header("profile", body, filename, extra), conversion, filename, "profile.imports")


CONVERTER = Converter(name="oscal", expects=EXPECTS, detect=is_oscal, convert=convert_oscal)
