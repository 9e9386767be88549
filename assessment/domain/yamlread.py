"""Read YAML text into plain values that remember their line numbers, with YAML 1.2 scalars.

PyYAML parses (with libyaml when available); we only take its node tree and resolve plain
scalars ourselves, so `yes`, `no`, `on` and `off` stay strings, only `true` and `false` (any
case) are booleans, and dates stay strings for the schema to check. Duplicate keys, custom
tags and alias bombs are errors rather than surprises.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import yaml

from .errors import ROOT_PATH, InvalidFile, Problem

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NODES = 1_000_000
# An integer of more digits than this reads as HUGE: every check refuses it as far outside any
# sensible range (as it does 10**300), and nothing tries to convert (or print) 5,000 digits.
HUGE_DIGITS = 301
HUGE = 10**HUGE_DIGITS

_STD = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _STD + "str", _STD + "map", _STD + "seq"
_PLAIN = "!plain"  # an untagged plain scalar, which we resolve ourselves
_STANDARD_SCALAR_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null")}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser without PyYAML's YAML 1.1 tag resolution: we resolve scalars ourselves."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")


class YamlMap(dict):
    """A mapping that knows its own line and the line of each value."""

    __slots__ = ("line", "lines", "key_lines")

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.lines: dict[object, int] = {}
        self.key_lines: dict[object, int] = {}

    def line_of(self, key: object) -> int:
        """Line of the value under `key`, or of this mapping when the key is missing."""
        return self.lines.get(key, self.line)

    def key_line(self, key: object) -> int:
        """Line of `key` itself."""
        return self.key_lines.get(key, self.line)

    def copy_lines(self, other: YamlMap) -> YamlMap:
        """Take the line bookkeeping of `other` (for a checked copy of it)."""
        self.lines, self.key_lines = other.lines, other.key_lines
        return self


class YamlList(list):
    """A sequence that knows its own line and the line of each item."""

    __slots__ = ("line", "lines")

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.lines: list[int] = []

    def line_of(self, index: int) -> int:
        """Line of item `index`."""
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


def resolve_plain(text: str) -> object:
    """The YAML 1.2 core-schema value of a plain scalar (booleans: true/false in any case)."""
    if not text:
        return None
    first = text[0]
    if first in "0123456789+-.":
        if _INT.match(text):
            if len(text.lstrip("+-").lstrip("0")) > HUGE_DIGITS:  # int() refuses 4,300 digits and more
                return -HUGE if first == "-" else HUGE
            return int(text)
        if _FLOAT.match(text):
            return float(text)
        if _OCT.match(text):
            return min(int(text[2:], 8), HUGE)
        if _HEX.match(text):
            return min(int(text[2:], 16), HUGE)
        if _INF.match(text):
            return -math.inf if first == "-" else math.inf
        if _NAN.match(text):
            return math.nan
        return text
    lowered = text.lower() if len(text) <= 5 else ""
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    if text == "~" or lowered == "null":
        return None
    return text


class _Converter:
    """Turn a composed node tree into YamlMap / YamlList / scalars, collecting problems."""

    def __init__(self, filename: str, track_paths: bool):
        self.filename = filename
        self.track_paths = track_paths  # paths cost time; they are only needed once a problem is seen
        self.problems: list[Problem] = []
        self.budget = MAX_NODES

    def problem(self, line: int, path: str, message: str) -> None:
        self.problems.append(Problem(self.filename, line, path, message))

    def convert(self, node: yaml.Node, path: str) -> object:
        self.budget -= 1
        if self.budget < 0:
            raise _TooLarge
        tag = node.tag
        if tag == _PLAIN:
            return resolve_plain(node.value)
        if tag == _STR:  # quoted, block or explicitly `!!str`
            return node.value
        line = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            if tag in _STANDARD_SCALAR_TAGS:
                return resolve_plain(node.value)
            self.problem(line, path, f"YAML tag {tag!r} is not allowed; remove it")
            return None
        if isinstance(node, yaml.SequenceNode):
            if tag != _SEQ:
                self.problem(line, path, f"YAML tag {tag!r} is not allowed; remove it")
            result = YamlList(line)
            track = self.track_paths
            for index, item in enumerate(node.value):
                result.append(self.convert(item, f"{path}[{index}]" if track else path))
                result.lines.append(item.start_mark.line + 1)
            return result
        if tag != _MAP:
            self.problem(line, path, f"YAML tag {tag!r} is not allowed; remove it")
        result = YamlMap(line)
        for key_node, value_node in node.value:
            key = self.convert(key_node, path)
            key_line = key_node.start_mark.line + 1
            if isinstance(key, (YamlMap, YamlList)):
                self.problem(key_line, path, "a key must be a plain string")
                continue
            if key is None and key_node.value:  # `null:` or `~:` as a key: meant as the text
                key = key_node.value
            elif key is None:
                self.problem(key_line, path, "a key is missing before ':'")
                continue
            if not isinstance(key, str):
                key = key_node.value
            child = (f"{path}.{key}" if path else key) if self.track_paths else path
            if key in result:
                self.problem(key_line, child, f"duplicate key {key!r} (first on line {result.key_lines[key]})")
                continue
            result[key] = self.convert(value_node, child)
            result.lines[key] = value_node.start_mark.line + 1
            result.key_lines[key] = key_line
        return result


class _TooLarge(Exception):
    pass


def parse_yaml(text: str, filename: str) -> object:
    """Parse YAML text into located values, or raise InvalidFile with every problem found."""
    return _parse(text, filename, many=False)[0]


def parse_yaml_documents(text: str, filename: str) -> list[object]:
    """Every document of a YAML stream (`---` between them) as located values, empty ones left out (maybe none)."""
    return _parse(text, filename, many=True)


def _parse(text: str, filename: str, many: bool) -> list[object]:
    try:
        if many:
            nodes = [n for n in yaml.compose_all(text, Loader=_Loader) if n is not None]
        else:
            nodes = [yaml.compose(text, Loader=_Loader)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = exc.problem or exc.context or "cannot be parsed"
        if "nesting depth" in reason:  # libyaml 0.2.6 and later stop deep nesting themselves
            raise InvalidFile([Problem(filename, line, ROOT_PATH, "not valid here: nested too deeply")]) from None
        if "single document" in (exc.context or ""):
            message = f"the file holds more than one document (a second one starts on line {line}); keep one per file"
            raise InvalidFile([Problem(filename, line, ROOT_PATH, message)]) from None
        raise InvalidFile([Problem(filename, line, ROOT_PATH, f"not valid YAML: {reason}")]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: name it and its line
        where = text[: exc.position] if isinstance(exc.position, int) else ""
        line, column = where.count("\n") + 1, len(where) - (where.rfind("\n") + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        message = f"not valid YAML: the control character U+{code:04X} (column {column}) is not allowed; remove it"
        raise InvalidFile([Problem(filename, line, ROOT_PATH, message)]) from None
    except yaml.YAMLError as exc:
        raise InvalidFile([Problem(filename, 1, ROOT_PATH, f"not valid YAML: {exc}")]) from None
    except RecursionError:
        raise InvalidFile([Problem(filename, 1, ROOT_PATH, "not valid here: nested too deeply")]) from None
    if not many and nodes[0] is None:
        raise InvalidFile([Problem(filename, 1, ROOT_PATH, "the file is empty")])
    converter = _Converter(filename, track_paths=False)
    try:
        values = [converter.convert(node, "") for node in nodes]
        if converter.problems:  # convert again, this time naming where each problem is
            converter = _Converter(filename, track_paths=True)
            values = [converter.convert(node, "") for node in nodes]
    except _TooLarge:
        raise InvalidFile(
            [Problem(filename, 1, ROOT_PATH, f"the document expands to more than {MAX_NODES:,} values (aliases?)")]
        ) from None
    except RecursionError:
        raise InvalidFile([Problem(filename, 1, ROOT_PATH, "not valid here: nested too deeply")]) from None
    if converter.problems:
        raise InvalidFile(converter.problems)
    return [value for value in values if value is not None] if many else values


def _too_big(name: str, size: int, limit: int) -> InvalidFile:
    return InvalidFile(
        [
            Problem(
                name, 1, ROOT_PATH, f"the file is {size:,} bytes; the limit is {limit:,} ({limit // (1024 * 1024)} MB)"
            )
        ]
    )


def read_text(path: Path, display: str | None = None, limit: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 text file of at most `limit` bytes (5 MB), or raise InvalidFile saying why not."""
    name = display or str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidFile([Problem(name, 1, ROOT_PATH, "no such file")]) from None
    except OSError as exc:
        raise InvalidFile([Problem(name, 1, ROOT_PATH, f"cannot be read: {exc.strerror}")]) from None
    if not path.is_file():
        raise InvalidFile([Problem(name, 1, ROOT_PATH, "not a regular file")])
    if size > limit:
        raise _too_big(name, size, limit)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidFile([Problem(name, 1, ROOT_PATH, f"cannot be read: {exc.strerror}")]) from None
    return decode_text(data, name, limit)


def decode_text(data: bytes, name: str, limit: int = MAX_FILE_BYTES) -> str:
    """Decode bytes as UTF-8 text, refusing binary content and input over `limit` bytes (5 MB)."""
    if len(data) > limit:
        raise _too_big(name, len(data), limit)
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise InvalidFile([Problem(name, line, ROOT_PATH, "a binary file, not UTF-8 YAML text (it holds NUL bytes)")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidFile(
            [Problem(name, line, ROOT_PATH, f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}")]
        ) from None
