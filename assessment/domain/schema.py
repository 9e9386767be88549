"""A small declarative schema: one description of a file's shape gives both the checks with
line-numbered errors and the published JSON Schema, so the two cannot drift apart.

`Spec.check` takes a located value (see `yamlread`) and returns the value it accepts, or
`INVALID` after recording a problem; it never stops at the first problem.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import Problem
from .yamlread import YamlList, YamlMap


class _Invalid:
    """Marks a value that was reported as wrong, so later checks stay quiet about it."""

    def __repr__(self) -> str:
        return "INVALID"

    def __bool__(self) -> bool:
        return False


INVALID: Any = _Invalid()
# The largest integer a field takes: a level, a count or a version beyond it is a mistake (and no database
# integer holds it).
MAX_INT = 2**63 - 1
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Context:
    """Collects the problems of one file."""

    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[Problem] = []

    def error(self, line: int, path: str, message: str) -> Any:
        """Record a problem and return INVALID."""
        self.problems.append(Problem(self.filename, line, path, message))
        return INVALID


def type_name(value: object) -> str:
    """How a value reads to a person, for 'expected X, got Y' messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int) and abs(value) > MAX_INT:
        return "a number of more than 19 digits"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 40 else "a string"
    if isinstance(value, YamlMap):
        return "a mapping"
    if isinstance(value, YamlList):
        return "a list"
    return type(value).__name__


def join(path: str, key: str | int) -> str:
    """The path of a key or index below `path`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Spec:
    """The shape of one value."""

    description: str | None = None

    def check(self, value: object, path: str, line: int, ctx: Context) -> Any:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def _describe(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.description:
            schema = {"description": self.description, **schema}
        return schema


@dataclass
class Str(Spec):
    """A string, optionally matching a pattern and not one of some reserved values."""

    pattern: str | None = None
    hint: str | None = None
    reserved: tuple[str, ...] = ()
    description: str | None = None

    def __post_init__(self) -> None:
        self._regex = re.compile(self.pattern) if self.pattern else None

    def check(self, value, path, line, ctx):
        if not isinstance(value, str):
            extra = ""
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                extra = f'; quote it: "{value}"'
            elif isinstance(value, bool):
                extra = f'; quote it if you mean the text: "{str(value).lower()}"'
            return ctx.error(line, path, f"expected a string, got {type_name(value)}{extra}")
        if self._regex and not self._regex.fullmatch(value):
            return ctx.error(
                line, path, f"{value!r} is not a valid {self.hint or 'value'}: it must match {self.pattern}"
            )
        if value in self.reserved:
            return ctx.error(line, path, f"{value!r} is reserved and cannot be used here")
        return value

    def json_schema(self):
        schema: dict[str, Any] = {"type": "string"}
        if self.pattern:
            schema["pattern"] = self.pattern
        if self.reserved:
            schema["not"] = {"enum": list(self.reserved)}
        return self._describe(schema)


@dataclass
class Enum(Spec):
    """One of a fixed set of strings."""

    values: tuple[str, ...]
    description: str | None = None

    def check(self, value, path, line, ctx):
        if not isinstance(value, str) or value not in self.values:
            allowed = ", ".join(self.values)
            return ctx.error(line, path, f"expected one of {allowed}; got {type_name(value)}")
        return value

    def json_schema(self):
        return self._describe({"enum": list(self.values)})


@dataclass
class Int(Spec):
    """An integer (booleans are not integers)."""

    minimum: int | None = None
    allowed: tuple[int, ...] = ()
    description: str | None = None

    def check(self, value, path, line, ctx):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            return ctx.error(line, path, f"expected an integer, got {type_name(value)}")
        if abs(value) > MAX_INT:
            return ctx.error(line, path, f"expected an integer of reasonable size (at most {MAX_INT:,})")
        if self.minimum is not None and value < self.minimum:
            return ctx.error(line, path, f"expected an integer >= {self.minimum}, got {value}")
        if self.allowed and value not in self.allowed:
            allowed = ", ".join(str(a) for a in self.allowed)
            return ctx.error(line, path, f"unsupported value {value}; this version reads {allowed}")
        return value

    def json_schema(self):
        schema: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.allowed:
            schema["enum"] = list(self.allowed)
        return self._describe(schema)


@dataclass
class Number(Spec):
    """A finite number, with inclusive or exclusive bounds."""

    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    description: str | None = None

    def _range(self) -> str:
        low = (
            f"> {self.exclusive_minimum:g}"
            if self.exclusive_minimum is not None
            else (f">= {self.minimum:g}" if self.minimum is not None else "")
        )
        high = f"<= {self.maximum:g}" if self.maximum is not None else ""
        return " and ".join(p for p in (low, high) if p)

    def check(self, value, path, line, ctx):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return ctx.error(line, path, f"expected a number, got {type_name(value)}")
        if isinstance(value, int) and abs(value) > 10**300 or not math.isfinite(value):
            return ctx.error(line, path, f"expected a finite number of reasonable size, got {type_name(value)}")
        bad = (
            (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
            or (self.exclusive_minimum is not None and value <= self.exclusive_minimum)
        )
        if bad:
            return ctx.error(line, path, f"expected a number {self._range()}, got {value}")
        return value

    def json_schema(self):
        schema: dict[str, Any] = {"type": "number"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.exclusive_minimum is not None:
            schema["exclusiveMinimum"] = self.exclusive_minimum
        return self._describe(schema)


@dataclass
class Bool(Spec):
    """true or false; `yes` and `no` are strings in YAML 1.2."""

    description: str | None = None

    def check(self, value, path, line, ctx):
        if not isinstance(value, bool):
            return ctx.error(line, path, f"expected true or false, got {type_name(value)}")
        return value

    def json_schema(self):
        return self._describe({"type": "boolean"})


@dataclass
class Date(Spec):
    """A calendar date written YYYY-MM-DD."""

    description: str | None = None

    def check(self, value, path, line, ctx):
        if isinstance(value, str) and _DATE.fullmatch(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        return ctx.error(line, path, f"expected a date YYYY-MM-DD, got {type_name(value)}")

    def json_schema(self):
        return self._describe({"type": "string", "format": "date"})


@dataclass
class ListOf(Spec):
    """A list whose every item has the same shape."""

    item: Spec
    min_items: int = 0
    description: str | None = None

    def check(self, value, path, line, ctx):
        if not isinstance(value, YamlList):
            return ctx.error(line, path, f"expected a list, got {type_name(value)}")
        if len(value) < self.min_items:
            return ctx.error(line, path, f"expected at least {self.min_items} item(s), got {len(value)}")
        result = YamlList(value.line)
        result.lines = value.lines
        for index, item in enumerate(value):
            result.append(self.item.check(item, join(path, index), value.line_of(index), ctx))
        return result

    def json_schema(self):
        schema: dict[str, Any] = {"type": "array", "items": self.item.json_schema()}
        if self.min_items:
            schema["minItems"] = self.min_items
        return self._describe(schema)


@dataclass
class MapOf(Spec):
    """A mapping from keys of one shape to values of another."""

    key: Str
    value: Spec
    min_items: int = 0
    description: str | None = None

    def check(self, value, path, line, ctx):
        if not isinstance(value, YamlMap):
            return ctx.error(line, path, f"expected a mapping, got {type_name(value)}")
        if len(value) < self.min_items:
            return ctx.error(line, path, f"expected at least {self.min_items} entr(y/ies), got {len(value)}")
        result = YamlMap(value.line).copy_lines(value)
        for key, item in value.items():
            child = join(path, key)
            if self.key.check(key, child, value.key_line(key), ctx) is INVALID:
                continue
            result[key] = self.value.check(item, child, value.line_of(key), ctx)
        return result

    def json_schema(self):
        schema: dict[str, Any] = {
            "type": "object",
            "propertyNames": self.key.json_schema(),
            "additionalProperties": self.value.json_schema(),
        }
        if self.min_items:
            schema["minProperties"] = self.min_items
        return self._describe(schema)


@dataclass
class Field:
    """One key of an object."""

    spec: Spec
    required: bool = False


@dataclass
class Obj(Spec):
    """A mapping with known keys; unknown keys are errors, so typos never pass silently."""

    fields: dict[str, Field]
    description: str | None = None
    title: str | None = None
    # (key, other key): at most one of them. Used for url/file of evidence.
    exclusive: tuple[tuple[str, str], ...] = field(default=())

    def check(self, value, path, line, ctx):
        if not isinstance(value, YamlMap):
            return ctx.error(line, path, f"expected a mapping, got {type_name(value)}")
        result = YamlMap(value.line).copy_lines(value)
        for key, item in value.items():
            child = join(path, key)
            spec = self.fields.get(key)
            if spec is None:
                known = ", ".join(self.fields)
                ctx.error(value.key_line(key), child, f"unknown key {key!r}; expected one of: {known}")
                continue
            result[key] = spec.spec.check(item, child, value.line_of(key), ctx)
        for key, spec in self.fields.items():
            if spec.required and key not in value:
                ctx.error(value.line, join(path, key), "missing required key")
        for first, second in self.exclusive:
            if first in value and second in value:
                ctx.error(value.line, path, f"give either {first!r} or {second!r}, not both")
        return result

    def json_schema(self):
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {name: f.spec.json_schema() for name, f in self.fields.items()},
            "additionalProperties": False,
        }
        required = [name for name, f in self.fields.items() if f.required]
        if required:
            schema["required"] = required
        for first, second in self.exclusive:
            schema.setdefault("allOf", []).append({"not": {"required": [first, second]}})
        if self.title:
            schema = {"title": self.title, **schema}
        return self._describe(schema)


@dataclass
class OneOf(Spec):
    """A value that is either a string of one shape or a mapping of another."""

    string: Spec
    mapping: Spec
    what: str
    description: str | None = None

    def check(self, value, path, line, ctx):
        if isinstance(value, YamlMap):
            return self.mapping.check(value, path, line, ctx)
        if isinstance(value, str):
            return self.string.check(value, path, line, ctx)
        return ctx.error(line, path, f"expected {self.what}, got {type_name(value)}")

    def json_schema(self):
        return self._describe({"oneOf": [self.string.json_schema(), self.mapping.json_schema()]})
