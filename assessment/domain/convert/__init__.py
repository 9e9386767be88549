"""Other tools' catalogues -> framework files of ours (format 1), for `assessment convert`.

Each source format is a `Converter`: a `detect` that recognises the parsed document by its
content (never by the file's name) and a `convert` that returns the framework as plain data.
`convert_text` parses, picks the first converter whose `detect` accepts the document and
dumps the result as YAML; it does not validate it: the caller loads the text with
`loader.load_framework_text`, the one judge of what a framework file is.

A file of several YAML documents (`---` between them, as DSOMM's model) reaches `detect` as a
`Documents` tuple; a source that is a folder of files (OWASP SAMM's model) as a `Folder` that
the caller has read (`convert_folder`), so that this package never touches the file system.

Pure: text or parsed documents in, text or plain data out, errors as `ConversionError` in the
`FILE:LINE: PATH: message` form. Spreadsheets (CSV, XLSX) are recognised before any YAML
is parsed (`sheet.py`). JSON (OSCAL's usual form) is parsed with the standard library, XML
(OSCAL's other form) by `oscal_xml.py`; an OSCAL profile is converted with its catalog, which the
caller hands over as text (`convert_text(..., catalog=(name, text))`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import ROOT_PATH, InvalidFile, Problem
from ..yamlread import YamlMap, parse_yaml, parse_yaml_documents, resolve_plain


class ConversionError(InvalidFile):
    """A source file that cannot be converted, with every problem found (file, line, path, what was expected)."""

    @classmethod
    def at(cls, filename: str, line: int, path: str, message: str) -> ConversionError:
        """A conversion error with one problem."""
        return cls([Problem(filename, line, path or ROOT_PATH, message)])


class Documents(tuple):
    """The documents of a YAML file that holds more than one, in the file's order."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Folder:
    """A source that is a folder: its YAML files parsed and its other text files, by path inside the folder.

    `name` is the folder as the user gave it; a problem in a file is reported as `name/path`.
    """

    name: str
    documents: Mapping[str, Any] = field(default_factory=dict)  # "questions/D-SA-1-A.yml" -> parsed YAML
    texts: Mapping[str, str] = field(default_factory=dict)  # "license.txt" -> its text

    def filename(self, path: str) -> str:
        """How a problem names the file at `path` inside this folder."""
        return f"{self.name.rstrip('/')}/{path}"


@dataclass(frozen=True, slots=True)
class Converter:
    """One source format: how to recognise it and how to turn it into a framework document."""

    name: str
    expects: str  # what such a file looks like, for the error on a file of no known format
    detect: Callable[[Any], bool]
    convert: Callable[[Any, str], dict[str, Any]]
    folder: bool = False  # whether its source is a folder of files (a `Folder`) rather than one file


def _converters() -> tuple[Converter, ...]:
    from . import ciso, dsomm, oscal, samm, sheet

    return (ciso.CONVERTER, dsomm.CONVERTER, samm.CONVERTER, sheet.CONVERTER, oscal.CONVERTER)


CONVERTERS: tuple[Converter, ...] = _converters()


# OSCAL's other models: recognised, to say what they are and where they belong, never converted.
OTHER_OSCAL_MODELS = {
    "assessment-results": "results are what `assessment oscal results` writes; convert reads the catalog assessed",
    "plan-of-action-and-milestones": "a POA&M is what `assessment oscal poam` writes; convert reads the catalog",
    "assessment-plan": "convert reads the catalog or profile the plan assesses",
    "system-security-plan": "convert reads the catalog or profile the system implements",
    "component-definition": "convert reads the catalog or profile the components implement",
    "mapping-collection": "mappings between frameworks are imported with `assessment mappings import`",
}


def converter_for(document: Any, filename: str) -> Converter:
    """The converter that recognises `document`, or a ConversionError saying what was expected."""
    for converter in CONVERTERS:
        if converter.detect(document):
            return converter
    line = document.line if isinstance(document, YamlMap) else 1
    if isinstance(document, Folder):
        expected = " or ".join(converter.expects for converter in CONVERTERS if converter.folder)
        count = len(document.documents)
        found = f"{count} YAML file{'s' if count != 1 else ''} of no such kind" if count else "no YAML file"
        message = f"expected {expected}; this folder holds {found}"
        for path, item in document.documents.items():
            known = next((c for c in CONVERTERS if not c.folder and c.detect(item)), None)
            if known is not None:
                message += f"; {path} is {known.expects.split(' (')[0]}: convert that file"
                break
        raise ConversionError.at(filename, 1, ROOT_PATH, message)
    model = next((key for key in OTHER_OSCAL_MODELS if isinstance(document, dict) and key in document), None)
    if model is not None:
        message = f"this is an OSCAL {model} document, not a catalog or profile: {OTHER_OSCAL_MODELS[model]}"
        raise ConversionError.at(filename, line, ROOT_PATH, message)
    if isinstance(document, dict) and {"id", "kind", "domains"} <= set(document):
        message = "this is already a framework file of ours; check it with `assessment validate`"
        raise ConversionError.at(filename, line, ROOT_PATH, message)
    expected = " or ".join(converter.expects for converter in CONVERTERS if not converter.folder)
    what = "a mapping" if isinstance(document, dict) else f"a {_kind(document)}"
    raise ConversionError.at(filename, line, ROOT_PATH, f"expected {expected}; this file holds {what} of no such kind")


def _kind(value: Any) -> str:
    if isinstance(value, Documents):
        return "stream of documents"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "text"
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else "value"


def convert_document(document: Any, filename: str = "<text>") -> dict[str, Any]:
    """The framework (plain data, format 1) of a parsed source document, or a ConversionError."""
    return converter_for(document, filename).convert(document, filename)


def convert_text(
    text: str | bytes,
    filename: str = "<text>",
    facts: Mapping[str, str] | None = None,
    catalog: tuple[str, str] | None = None,
) -> str:
    """The framework YAML text of a source file's text, or a ConversionError (InvalidFile when not YAML).

    A spreadsheet is recognised before any YAML is parsed: bytes (an XLSX workbook) or a CSV text
    whose header row names `id` and `title`. `facts` (the framework's id, title, version, source,
    license) are the command's options, used only by spreadsheets. `catalog` (its file name and
    text) is the catalog an OSCAL profile is resolved against, and only for profiles.
    """
    return convert_source(text, filename, facts, catalog)[0]


def convert_source(
    text: str | bytes,
    filename: str = "<text>",
    facts: Mapping[str, str] | None = None,
    catalog: tuple[str, str] | None = None,
) -> tuple[str, Converter]:
    """As `convert_text`, with the converter that read the source (for a preview to name it)."""
    from . import oscal, sheet

    given = {key: value for key, value in (facts or {}).items() if value}
    if isinstance(text, bytes) or sheet.looks_like_csv(text):
        if catalog is not None:
            raise ConversionError.at(filename, 1, ROOT_PATH, "--catalog: only for OSCAL profiles")
        return dump_framework(
            sheet.CONVERTER.convert(sheet.read_sheet(text, filename, given), filename)
        ), sheet.CONVERTER
    if given:
        options = ", ".join(f"--{key}" for key in given)
        raise ConversionError.at(filename, 1, ROOT_PATH, f"{options}: only for spreadsheets (CSV or XLSX)")
    document = parse_source(text, filename)
    if catalog is None:
        converter = _located(converter_for, text, document, filename)
        return dump_framework(_located(converter.convert, text, document, filename)), converter

    catalog_name, catalog_text = catalog
    catalog_document = parse_source(catalog_text, catalog_name)
    try:
        return dump_framework(
            oscal.convert_profile(document, filename, catalog_document, catalog_name)
        ), oscal.CONVERTER
    except ConversionError:  # again from YAML's reading of any JSON, for the problems' lines
        if isinstance(document, YamlMap) and isinstance(catalog_document, YamlMap):
            raise
        located = [
            _yaml_or(t, d, n)
            for t, d, n in ((text, document, filename), (catalog_text, catalog_document, catalog_name))
        ]
        framework = oscal.convert_profile(located[0], filename, located[1], catalog_name)
        return dump_framework(framework), oscal.CONVERTER


def _yaml_or(text: str, document: Any, filename: str) -> Any:
    """The document read again with line numbers when it was JSON (the fast reader keeps none)."""
    if isinstance(document, YamlMap) or not text.lstrip("\ufeff \t\r\n").startswith("{"):
        return document
    try:
        return parse_yaml(text, filename)
    except InvalidFile:
        return document


def _located(convert: Callable[[Any, str], Any], text: str, document: Any, filename: str) -> Any:
    """convert(document), and on a ConversionError of a JSON document, again with the lines YAML's reader finds."""
    try:
        return convert(document, filename)
    except ConversionError:
        located = _yaml_or(text, document, filename)
        if located is document:
            raise
        return convert(located, filename)


def parse_source(text: str, filename: str) -> Any:
    """A source file's document: XML (OSCAL) by oscal_xml, JSON by the standard library, else YAML (maybe several)."""
    from .oscal_xml import looks_like_xml, read_xml

    if looks_like_xml(text):
        return read_xml(text, filename)
    if text.lstrip("\ufeff \t\r\n").startswith("{"):
        try:
            return json.loads(text.lstrip("\ufeff"))
        except RecursionError:
            raise ConversionError.at(filename, 1, ROOT_PATH, "not valid here: nested too deeply") from None
        except ValueError as exc:  # a YAML flow mapping is not JSON; failing YAML too, JSON's error says most
            try:
                return parse_yaml(text, filename)
            except InvalidFile:
                line = getattr(exc, "lineno", 1)
                reason = getattr(exc, "msg", str(exc))
                column = getattr(exc, "colno", None)
                where = f" (column {column})" if column else ""
                raise ConversionError.at(filename, line, ROOT_PATH, f"not valid JSON: {reason}{where}") from None
    documents = parse_yaml_documents(text, filename)
    if not documents:
        raise ConversionError.at(filename, 1, ROOT_PATH, "the file is empty")
    return documents[0] if len(documents) == 1 else Documents(documents)


YAML_SUFFIXES = (".yml", ".yaml")
MAX_FOLDER_FILES = 2000  # a folder source's YAML files, read by `assessment convert` or from an uploaded ZIP
LICENSE_NAMES = ("license.txt", "license", "license.md")  # a folder source's licence file, lower-cased


def convert_folder(name: str, files: Mapping[str, str]) -> str:
    """The framework YAML text of a folder's files (path inside it -> text), or every problem at once.

    Files ending in .yml or .yaml are parsed (a file of several documents as `Documents`, an empty
    one left out); the others are handed to the converter as text (a licence).
    """
    documents: dict[str, Any] = {}
    texts: dict[str, str] = {}
    problems: list[Problem] = []
    folder = Folder(name)
    for path in sorted(files):
        if path.lower().endswith(YAML_SUFFIXES):
            try:
                found = parse_yaml_documents(files[path], folder.filename(path))
            except InvalidFile as exc:
                problems += exc.problems
                continue
            if found:
                documents[path] = found[0] if len(found) == 1 else Documents(found)
        else:
            texts[path] = files[path]
    if problems:
        raise ConversionError(problems)
    folder = Folder(name, documents, texts)
    return dump_framework(convert_document(folder, name))


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Dumps text so that our YAML 1.2 reader reads back the same strings."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    if resolve_plain(data) != data:  # 1e3, 0o7, .5: plain in YAML 1.1, numbers in 1.2; quote them
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'")
    return dumper.represent_str(data)


_Dumper.add_representer(str, _represent_str)


def dump_framework(framework: dict[str, Any]) -> str:
    """A framework document as YAML text, keys in the order given."""
    return yaml.dump(framework, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
