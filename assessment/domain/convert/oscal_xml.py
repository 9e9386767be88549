"""OSCAL XML -> the same plain data as OSCAL JSON, as far as the converter needs it.

Read: a catalog's metadata (title, dates, versions, props), params (label, values, select),
groups and controls at every depth with their props and parts (prose with parameter inserts
written as in JSON, `{{ insert: param, ID }}`); a profile's imports (include-all,
include-controls, exclude-controls, with-ids, matching, with-child-controls) and its
set-parameters. Left out: links, back-matter, roles and parties, merge and alters, which the
converter does not use (the result still passes trestle's model: they are all optional).

Parsed with defusedxml when it is installed (compliance-trestle depends on it), which refuses
entity expansion; else with the standard library, refusing any document type declaration.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from ..errors import ROOT_PATH
from . import ConversionError

NAMESPACE = "http://csrc.nist.gov/ns/oscal/1.0"
_NS = "{" + NAMESPACE + "}"
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"}


def looks_like_xml(text: str) -> bool:
    """Whether the text is XML (its first character, past a byte order mark and blanks, is `<`)."""
    return text.lstrip("\ufeff \t\r\n").startswith("<")


def _parse(text: str, filename: str) -> Element:
    try:
        from defusedxml import ElementTree as parser  # noqa: N813
        from defusedxml.common import DefusedXmlException
    except ImportError:  # pragma: no cover - trestle installs defusedxml
        from xml.etree import ElementTree as parser  # noqa: N813

        DefusedXmlException = ValueError  # noqa: N806
        if "<!DOCTYPE" in text.upper():
            raise ConversionError.at(
                filename, 1, ROOT_PATH, "not accepted: XML with a document type declaration"
            ) from None
    try:
        return parser.fromstring(text.lstrip("\ufeff"))
    except DefusedXmlException as exc:
        raise ConversionError.at(filename, 1, ROOT_PATH, f"not accepted: {exc}") from None
    except parser.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else 1
        raise ConversionError.at(filename, line, ROOT_PATH, f"not valid XML: {exc}") from None


def _children(element: Element, name: str) -> list[Element]:
    return element.findall(_NS + name)


def _text(element: Element | None) -> str | None:
    """An element's text content, whitespace collapsed (inserts as in JSON)."""
    if element is None:
        return None
    return " ".join(_inline(element).split())


def _inline(element: Element) -> str:
    parts = [element.text or ""]
    for child in element:
        if child.tag == _NS + "insert":
            parts.append(f"{{{{ insert: {child.get('type', 'param')}, {child.get('id-ref', '')} }}}}")
        else:
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _prose(element: Element) -> str | None:
    """The markup-multiline children of an element (paragraphs, lists) as text, blocks separated by a blank line."""
    blocks = []
    for child in element:
        name = child.tag.removeprefix(_NS)
        if name in _BLOCKS:
            blocks.append(_text(child))
        elif name in ("ul", "ol"):
            blocks.append("\n".join(f"- {_text(item)}" for item in _children(child, "li")))
    return "\n\n".join(b for b in blocks if b) or None


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, [], {}):
        target[key] = value


def _attrs(element: Element, *names: str) -> dict[str, Any]:
    return {name: element.get(name) for name in names if element.get(name) is not None}


def _props(element: Element) -> list[dict[str, Any]]:
    return [_attrs(p, "name", "value", "class", "ns", "uuid") for p in _children(element, "prop")]


def _param(element: Element) -> dict[str, Any]:
    param = _attrs(element, "id", "class")
    _put(param, "props", _props(element))
    _put(param, "label", _text(element.find(_NS + "label")))
    _put(param, "values", [_text(v) or "" for v in _children(element, "value")])
    select = element.find(_NS + "select")
    if select is not None:
        param["select"] = {
            **_attrs(select, "how-many"),
            "choice": [_text(c) or "" for c in _children(select, "choice")],
        }
    return param


def _part(element: Element) -> dict[str, Any]:
    part = _attrs(element, "id", "name", "ns", "class")
    _put(part, "title", _text(element.find(_NS + "title")))
    _put(part, "props", _props(element))
    _put(part, "prose", _prose(element))
    _put(part, "parts", [_part(p) for p in _children(element, "part")])
    return part


def _control(element: Element) -> dict[str, Any]:
    control = _attrs(element, "id", "class")
    control["title"] = _text(element.find(_NS + "title"))
    _put(control, "params", [_param(p) for p in _children(element, "param")])
    _put(control, "props", _props(element))
    _put(control, "parts", [_part(p) for p in _children(element, "part")])
    _put(control, "controls", [_control(c) for c in _children(element, "control")])
    return control


def _group(element: Element) -> dict[str, Any]:
    group = _attrs(element, "id", "class")
    group["title"] = _text(element.find(_NS + "title"))
    _put(group, "params", [_param(p) for p in _children(element, "param")])
    _put(group, "props", _props(element))
    _put(group, "parts", [_part(p) for p in _children(element, "part")])
    _put(group, "groups", [_group(g) for g in _children(element, "group")])
    _put(group, "controls", [_control(c) for c in _children(element, "control")])
    return group


def _metadata(element: Element | None) -> dict[str, Any]:
    if element is None:
        return {}
    metadata: dict[str, Any] = {}
    for key in ("title", "published", "last-modified", "version", "oscal-version"):
        _put(metadata, key, _text(element.find(_NS + key)))
    _put(metadata, "props", _props(element))
    return metadata


def _selector(element: Element) -> dict[str, Any]:
    selector = _attrs(element, "with-child-controls")
    _put(selector, "with-ids", [_text(i) for i in _children(element, "with-id")])
    _put(selector, "matching", [_attrs(m, "pattern") for m in _children(element, "matching")])
    return selector


def _import(element: Element) -> dict[str, Any]:
    item = _attrs(element, "href")
    if element.find(_NS + "include-all") is not None:
        item["include-all"] = {}
    _put(item, "include-controls", [_selector(s) for s in _children(element, "include-controls")])
    _put(item, "exclude-controls", [_selector(s) for s in _children(element, "exclude-controls")])
    return item


def _modify(element: Element | None) -> dict[str, Any]:
    if element is None:
        return {}
    settings = []
    for setting in _children(element, "set-parameter"):
        found = _param(setting)
        found.pop("id", None)
        settings.append({"param-id": setting.get("param-id"), **found})
    return {"set-parameters": settings} if settings else {}


def read_xml(text: str, filename: str) -> dict[str, Any]:
    """An OSCAL catalog or profile in XML as JSON's plain data (`{"catalog": ...}`), or a ConversionError."""
    root = _parse(text, filename)
    if root.tag not in (_NS + "catalog", _NS + "profile"):
        message = f"expected an OSCAL catalog or profile (an XML root `catalog` or `profile` in {NAMESPACE}); "
        raise ConversionError.at(filename, 1, ROOT_PATH, message + f"this XML's root is {root.tag}")
    body = _attrs(root, "uuid")
    body["metadata"] = _metadata(root.find(_NS + "metadata"))
    if root.tag == _NS + "catalog":
        _put(body, "params", [_param(p) for p in _children(root, "param")])
        _put(body, "controls", [_control(c) for c in _children(root, "control")])
        _put(body, "groups", [_group(g) for g in _children(root, "group")])
        return {"catalog": body}
    body["imports"] = [_import(i) for i in _children(root, "import")]
    _put(body, "modify", _modify(root.find(_NS + "modify")))
    return {"profile": body}
