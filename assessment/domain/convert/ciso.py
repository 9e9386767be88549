"""CISO Assistant libraries -> framework files of ours (compliance, format 1).

A CISO Assistant library is a mapping whose `urn` starts with `urn:intuitem:` and whose
`objects.framework` holds `requirement_nodes`: a flat list of nodes, each with its `urn`, an
optional `parent_urn`, `assessable`, and the texts `ref_id`, `name`, `description`,
`annotation` (and sometimes `typical_evidence`, `implementation_groups`, `questions`).

The rules:

- Every top-level node (no `parent_urn`) that has an assessable node under it (or is one)
  becomes a domain, in the file's order; every assessable node becomes one requirement of
  its top-level node's domain, in the file's order. So the number of requirements equals the
  number of `assessable: true` nodes, always.
- The nodes in between give context: their `ref_id` and name, outermost first and joined by
  " / ", are the requirement's `section`; the parent's description opens its guidance.
- Ids (domain and requirement): the node's `ref_id` when it fits our id pattern
  (`^[A-Za-z0-9][A-Za-z0-9._:()-]{0,63}$`); a node without `ref_id` uses the last part of its
  urn (`urn:intuitem:risk:req_node:LIBRARY:node4` -> `node4`). A value that does not fit is
  escaped: every character other than `A-Z a-z 0-9 . : ( ) -` (the underscore too) becomes
  `_` and two upper-case hex digits per UTF-8 byte (a space is `_20`, `_` is `_5F`), and the
  requirement gets the tag `ref:<the source's ref_id>`. Unescaping (each `_HH` back to its
  byte) gives the source's value back. An escaped id longer than 64 characters, or two nodes
  with the same id, is an error that names both nodes: never a silent rename.
- Every requirement carries its node's urn as its first tag (`urn:intuitem:risk:req_node:
  nist-csf-2.0:gv.oc-01`: the urn is already `urn:<...>`), so that a CISO Assistant mapping set,
  which names requirements by node urn, finds them again after the conversion.
- Implementation groups are tags `group:<ref_id>`; their names are listed in the description.
- A scoring scale (`min_score`, `max_score`, `scores_definition`) becomes the answer scale
  `score`: one option a score, value the score, label its name, credit its place between
  the minimum (0) and the maximum (1). Without one, the scale `compliance` (compliant,
  partially compliant, non-compliant; `na` for not applicable) is every requirement's answer.
- `source` names the library (urn, ref_id, version, provider, packager, publication date);
  `license` is the library's `copyright`, which governs its content; the texts are the source's.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ..errors import ROOT_PATH, Problem
from ..loader import FRAMEWORK_ID, ITEM_ID
from ..schema import join
from . import ConversionError, Converter
from .names import escape_id, shorten

URN_PREFIX = "urn:intuitem:"
EXPECTS = "a CISO Assistant library (a mapping with `urn: urn:intuitem:...` and `objects.framework`)"
_ID = re.compile(ITEM_ID)
_FRAMEWORK_ID = re.compile(FRAMEWORK_ID)
SCORE_SCALE = "score"
COMPLIANCE_SCALE = "compliance"
COMPLIANCE_OPTIONS = [
    {"value": "compliant", "label": "Compliant: in place, evidence kept", "credit": 1},
    {"value": "partially_compliant", "label": "Partially compliant", "credit": 0.5},
    {"value": "non_compliant", "label": "Non-compliant", "credit": 0},
]


def is_library(document: Any) -> bool:
    """Whether the document claims to be a CISO Assistant library (its `urn` starts with urn:intuitem:)."""
    urn = document.get("urn") if isinstance(document, dict) else None
    return isinstance(urn, str) and urn.startswith(URN_PREFIX)


def _line(mapping: Any, key: str | None = None) -> int:
    if key is not None and hasattr(mapping, "line_of"):
        return mapping.line_of(key)
    return getattr(mapping, "line", 1)


class _Conversion:
    """One library's conversion; collects every problem before raising."""

    def __init__(self, document: dict[str, Any], filename: str):
        self.doc = document
        self.filename = filename
        self.problems: list[Problem] = []

    def error(self, line: int, path: str, message: str) -> None:
        self.problems.append(Problem(self.filename, line, path or ROOT_PATH, message))

    def text(self, mapping: Any, key: str, path: str) -> str | None:
        """A text field of the source: a string (a whole number is taken as its digits), else an error."""
        value = mapping.get(key)
        if value is None or isinstance(value, str):
            return value.strip() if isinstance(value, str) and value.strip() else None
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, dt.date):  # a document parsed with YAML 1.1 timestamps
            return value.isoformat()
        self.error(_line(mapping, key), join(path, key), f"expected text, found {value!r}; quote it in the source")
        return None

    def run(self) -> dict[str, Any]:
        doc = self.doc
        objects = doc.get("objects")
        framework = objects.get("framework") if isinstance(objects, dict) else None
        if not isinstance(framework, dict):
            where = _line(objects, "framework") if isinstance(objects, dict) else _line(doc, "objects")
            if isinstance(objects, dict) and {"requirement_mapping_set", "requirement_mapping_sets"} & set(objects):
                message = (
                    "this CISO Assistant library is a mapping set between two frameworks, not a framework: "
                    "import it with `assessment mappings import` (or Library › Mappings)"
                )
                raise ConversionError.at(self.filename, where, "objects", message)
            raise ConversionError.at(
                self.filename,
                where,
                "objects.framework",
                "this CISO Assistant library has no framework (objects.framework); only framework libraries "
                "convert, not libraries of risk matrices, threats or reference controls alone",
            )
        nodes = framework.get("requirement_nodes")
        fpath = "objects.framework"
        if not isinstance(nodes, list) or not nodes:
            raise ConversionError.at(
                self.filename,
                _line(framework, "requirement_nodes"),
                join(fpath, "requirement_nodes"),
                "expected a non-empty list of requirement nodes",
            )
        result = self.header(framework, fpath)
        result["domains"] = self.domains(nodes, join(fpath, "requirement_nodes"))
        if self.problems:
            raise ConversionError(list(dict.fromkeys(self.problems)))
        return result

    def header(self, framework: dict[str, Any], fpath: str) -> dict[str, Any]:
        doc = self.doc
        ref_id = self.text(doc, "ref_id", "") or self.text(framework, "ref_id", fpath) or doc["urn"].rsplit(":", 1)[-1]
        slug = re.sub(r"[^a-z0-9]+", "-", ref_id.lower()).strip("-")[:63].rstrip("-")
        if not _FRAMEWORK_ID.match(slug):
            self.error(_line(doc, "ref_id"), "ref_id", f"{ref_id!r} gives no framework id (letters and digits)")
        version = doc.get("version")
        if version is None or isinstance(version, bool) or not isinstance(version, int | str):
            self.error(_line(doc, "version"), "version", "expected the library's version (a number or text)")
        title = self.text(framework, "name", fpath) or self.text(doc, "name", "") or ref_id
        result: dict[str, Any] = {
            "format": 1,
            "id": slug,
            "version": str(version),
            "title": title,
            "kind": "compliance",
        }
        scale, scale_text = self.scale(framework, fpath)
        description = self.text(framework, "description", fpath) or self.text(doc, "description", "")
        parts = [description] if description else []
        parts += scale_text + self.groups(framework, fpath)
        if parts:
            result["description"] = "\n\n".join(parts)
        provider = self.text(doc, "provider", "")
        if provider:
            result["publisher"] = provider
        copyright_text = self.text(doc, "copyright", "")
        if copyright_text:
            result["license"] = copyright_text
        result["source"] = self.source(framework, fpath, ref_id)
        if scale is None:
            result["scales"] = {COMPLIANCE_SCALE: COMPLIANCE_OPTIONS}
            answer = COMPLIANCE_SCALE
        else:
            result["scales"] = {SCORE_SCALE: scale}
            answer = SCORE_SCALE
        result["defaults"] = {"answer": answer, "evidence": "optional", "na_allowed": True}
        return result

    def source(self, framework: dict[str, Any], fpath: str, ref_id: str) -> str:
        doc = self.doc
        facts = [f"ref_id {ref_id}", f"version {doc.get('version')}"]
        for key, label in (("provider", "provider"), ("packager", "packager"), ("publication_date", "published")):
            value = self.text(doc, key, "")
            if value:
                facts.append(f"{label} {value}")
        text = f"CISO Assistant library {doc['urn']} ({', '.join(facts)})"
        framework_urn = self.text(framework, "urn", fpath)
        return f"{text}, framework {framework_urn}" if framework_urn else text

    def scale(self, framework: dict[str, Any], fpath: str) -> tuple[list[dict[str, Any]] | None, list[str]]:
        """The `score` scale and its description, or None when the library has no scoring scale."""
        definitions = framework.get("scores_definition")
        low, high = framework.get("min_score"), framework.get("max_score")
        if definitions is None and low is None and high is None:
            return None, []
        known = len(self.problems)
        scores: list[tuple[int, str, str | None]] = []
        if isinstance(definitions, list) and definitions:
            for index, item in enumerate(definitions):
                path = join(join(fpath, "scores_definition"), index)
                number = item.get("score") if isinstance(item, dict) else None
                if not isinstance(number, int) or isinstance(number, bool):
                    self.error(_line(item, "score"), join(path, "score"), "expected a whole-number score")
                    continue
                name = self.text(item, "name", path) or f"Score {number}"
                scores.append((number, name, self.text(item, "description", path)))
        elif definitions is not None and definitions != []:
            self.error(_line(framework, "scores_definition"), join(fpath, "scores_definition"), "expected a list")
        for key, value in (("min_score", low), ("max_score", high)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                self.error(_line(framework, key), join(fpath, key), "expected a whole number")
                return None, []
        if not scores and isinstance(low, int) and isinstance(high, int) and 0 < high - low <= 100:
            scores = [(n, f"Score {n}", None) for n in range(low, high + 1)]
        if len(self.problems) > known:
            return None, []
        numbers = [n for n, _, _ in scores]
        low = min(numbers) if low is None and numbers else low
        high = max(numbers) if high is None and numbers else high
        if not numbers or low is None or high is None or high <= low or len(set(numbers)) != len(numbers):
            self.error(
                _line(framework, "max_score"),
                join(fpath, "max_score"),
                f"expected a scoring scale of distinct scores from min_score to max_score, found {numbers}",
            )
            return None, []
        options, lines = [], ["Answer scale (the library's scores):"]
        for number, name, description in scores:
            if not low <= number <= high:
                self.error(
                    _line(framework, "scores_definition"),
                    join(fpath, "scores_definition"),
                    f"score {number} is outside min_score {low} .. max_score {high}",
                )
                continue
            value = str(number) if number >= 0 else f"minus-{-number}"
            options.append({"value": value, "label": name, "credit": round((number - low) / (high - low), 6)})
            lines.append(f"- **{number} {name}**" + (f": {description}" if description else ""))
        return options, ["\n".join(lines)]

    def groups(self, framework: dict[str, Any], fpath: str) -> list[str]:
        definitions = framework.get("implementation_groups_definition")
        if not isinstance(definitions, list) or not definitions:
            return []
        lines = ["Implementation groups (tags `group:<ref_id>`):"]
        for index, item in enumerate(definitions):
            path = join(join(fpath, "implementation_groups_definition"), index)
            ref_id = self.text(item, "ref_id", path) if isinstance(item, dict) else None
            if ref_id is None:
                self.error(_line(item), path, "expected an implementation group with a ref_id")
                continue
            name = self.text(item, "name", path)
            description = self.text(item, "description", path)
            lines.append(f"- `group:{ref_id}` {name or ''}" + (f": {description}" if description else ""))
        return ["\n".join(lines)]

    def domains(self, nodes: list[Any], npath: str) -> list[dict[str, Any]]:
        by_urn: dict[str, tuple[int, dict[str, Any]]] = {}
        for index, node in enumerate(nodes):
            path = join(npath, index)
            if not isinstance(node, dict):
                line = nodes.line_of(index) if hasattr(nodes, "line_of") else 1
                self.error(line, path, "expected a requirement node (a mapping with urn)")
                continue
            urn = node.get("urn")
            if not isinstance(urn, str) or not urn:
                self.error(_line(node, "urn"), join(path, "urn"), "missing the node's urn")
                continue
            if urn in by_urn:
                first = by_urn[urn][0]
                self.error(_line(node, "urn"), join(path, "urn"), f"urn {urn} is also node {join(npath, first)}'s")
                continue
            by_urn[urn] = (index, node)
        roots: dict[str, str] = {}  # urn -> its top-level node's urn

        def root_of(urn: str) -> str | None:
            chain = []
            while urn not in roots:
                if urn in chain:
                    return None
                chain.append(urn)
                parent = by_urn[urn][1].get("parent_urn")
                if parent is None:
                    roots[urn] = urn
                    break
                if not isinstance(parent, str) or parent not in by_urn:
                    return None
                urn = parent
            top = roots[urn]
            for item in chain:
                roots[item] = top
            return top

        domains: dict[str, dict[str, Any]] = {}  # top-level urn -> its domain, in the file's order
        seen_domains: dict[str, str] = {}
        for urn, (index, node) in by_urn.items():
            if node.get("parent_urn") is None:
                path = join(npath, index)
                domain_id = self.node_id(node, path, seen_domains, "domain")
                title = self.label(node, path) or domain_id
                domain: dict[str, Any] = {"id": domain_id, "title": title}
                description = self.text(node, "description", path)
                if description and description != title:
                    domain["description"] = description
                domain["requirements"] = []
                domains[urn] = domain
        seen_ids: dict[str, str] = {}
        for urn, (index, node) in by_urn.items():
            path = join(npath, index)
            assessable = node.get("assessable")
            if not isinstance(assessable, bool):
                self.error(_line(node, "assessable"), join(path, "assessable"), "expected true or false")
                continue
            if not assessable:
                continue
            top = root_of(urn)
            if top is None:
                self.error(
                    _line(node, "parent_urn"),
                    join(path, "parent_urn"),
                    "its parents do not lead to a top-level node (an unknown parent_urn, or a cycle)",
                )
                continue
            domains[top]["requirements"].append(self.requirement(node, path, top, by_urn, seen_ids, npath))
        return [domain for domain in domains.values() if domain["requirements"]]

    def node_id(self, node: dict[str, Any], path: str, seen: dict[str, str], what: str) -> str:
        ref_id = self.text(node, "ref_id", path)
        raw = ref_id if ref_id is not None else node["urn"].rsplit(":", 1)[-1]
        value = raw if _ID.match(raw) else escape_id(raw)
        if not _ID.match(value):
            self.error(
                _line(node, "ref_id"),
                join(path, "ref_id"),
                f"{raw!r} gives the {what} id {value!r}, which is not a valid id (at most 64 characters)",
            )
        elif value in seen:
            self.error(
                _line(node, "ref_id"),
                join(path, "ref_id"),
                f"the {what} id {value!r} of node {node['urn']} ({path}) is also that of node {seen[value]}; "
                "ids must be unique: change one ref_id in the source",
            )
        else:
            seen[value] = f"{node['urn']} ({path})"
        return value

    def label(self, node: dict[str, Any], path: str) -> str | None:
        """A short name for a node: its name, else the first line of its description, shortened."""
        name = self.text(node, "name", path)
        if name:
            return name
        description = self.text(node, "description", path)
        return shorten(description) if description else None

    def requirement(
        self, node: dict[str, Any], path: str, top: str, by_urn: dict[str, Any], seen: dict[str, str], npath: str
    ) -> dict[str, Any]:
        """One assessable node as a requirement; `npath` is the nodes list's path, for its ancestors."""
        rid = self.node_id(node, path, seen, "requirement")
        ref_id = self.text(node, "ref_id", path)
        title = self.label(node, path) or ref_id or rid
        requirement: dict[str, Any] = {"id": rid, "title": title}
        description = self.text(node, "description", path)
        if description and description != title:
            requirement["question"] = description
        between = []  # the ancestors below the top-level node, innermost first, with their paths
        parent = node.get("parent_urn")
        while parent is not None and parent != top:
            index, ancestor = by_urn[parent]
            between.append((ancestor, join(npath, index)))
            parent = ancestor.get("parent_urn")
        if between:
            requirement["section"] = " / ".join(self.heading(n, p) for n, p in reversed(between))
        guidance = []
        if between:
            closest, closest_path = between[0]
            context = self.text(closest, "description", closest_path)
            if context and context != self.label(closest, closest_path):
                guidance.append(f"**{self.heading(closest, closest_path)}**: {context}")
        annotation = self.text(node, "annotation", path)
        if annotation:
            guidance.append(annotation)
        evidence = self.text(node, "typical_evidence", path)
        if evidence:
            guidance.append(f"Typical evidence:\n\n{evidence}")
        questions = self.questions(node)
        if questions:
            guidance.append("Questions:\n\n" + "\n".join(f"- {q}" for q in questions))
        if guidance:
            requirement["guidance"] = "\n\n".join(guidance)
        tags = [node["urn"]]  # already `urn:...`: the tag a mapping set's requirement urn matches
        groups = node.get("implementation_groups")
        if isinstance(groups, list):
            tags += [f"group:{g}" for g in groups if isinstance(g, str | int) and not isinstance(g, bool)]
        if ref_id is not None and rid != ref_id:
            tags.append(f"ref:{ref_id}")
        requirement["tags"] = tags
        return requirement

    def heading(self, node: dict[str, Any], path: str) -> str:
        ref_id = self.text(node, "ref_id", path)
        label = self.label(node, path)
        return " ".join(str(part) for part in (ref_id, label) if part) or node["urn"].rsplit(":", 1)[-1]

    @staticmethod
    def questions(node: dict[str, Any]) -> list[str]:
        questions = node.get("questions")
        if not isinstance(questions, dict):
            return []
        texts = []
        for question in questions.values():
            text = question.get("text") if isinstance(question, dict) else None
            if isinstance(text, str) and text.strip():
                texts.append(" ".join(text.split()))
        return texts


def convert_library(document: Any, filename: str = "<text>") -> dict[str, Any]:
    """The framework document (plain data, format 1) of a parsed CISO Assistant library, or a ConversionError."""
    if not is_library(document):
        line = _line(document)
        raise ConversionError.at(filename, line, ROOT_PATH, f"expected {EXPECTS}")
    return _Conversion(document, filename).run()


CONVERTER = Converter(name="ciso-assistant", expects=EXPECTS, detect=is_library, convert=convert_library)
