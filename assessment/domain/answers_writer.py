"""Answers -> the text of an answers file (format 1, spec section 2): the inverse of `read_answers_text`.

PyYAML's emitter does the quoting, so any string survives the trip. It decides what needs
quotes by YAML 1.1 rules, while our reader resolves plain scalars by YAML 1.2 rules
(`yamlread.resolve_plain`). Quoting what 1.1 finds special (`yes`, `null`, `1.0`,
`2026-11-21`) is harmless: a quoted scalar is a string for both. The reverse is not: `1e3`,
`0o17`, `tRUE`, `nUll` or `-.5e-3` are plain strings to 1.1 but numbers, booleans or null to
1.2. So a string is double-quoted whenever the reader would not read it back, unquoted, as
itself; so are strings holding a line break other than `\\n` (NEL, U+2028, U+2029), which
PyYAML would otherwise write raw inside a quoted scalar, where YAML folds it into a space.

The text is read back with the reader before it is returned: what this writes, the reader
accepts, and answers it would refuse (a value outside the scale, a bad URL...) raise
ValueError with the reader's own messages. Evidence sizes are not part of the format and
are not written; the reader measures them again from the files.
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from . import values
from .answers import Answer, Answers, Evidence, read_answers_text
from .errors import InvalidFile
from .framework import Framework
from .yamlread import resolve_plain

_STR_TAG = "tag:yaml.org,2002:str"
_RAW_BREAKS = frozenset("\x85\u2028\u2029")
_NO_WRAP = 1 << 30
_WRITTEN = "<written answers>"


class _Quoted(str):
    """A string always written double-quoted (the version: `1.0` must stay the string "1.0")."""


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting every string that YAML 1.2 would not read back as that string."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key, as the spec's examples do.
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    needs_quotes = isinstance(value, _Quoted) or resolve_plain(value) != value or not _RAW_BREAKS.isdisjoint(value)
    return dumper.represent_scalar(_STR_TAG, str(value), style='"' if needs_quotes else None)


def _represent_float(dumper: yaml.SafeDumper, value: float) -> yaml.ScalarNode:
    # The codec's text (0.00001, 100000000000000000000.0) rather than PyYAML's 1.0e-05, so the file
    # writes a number as the pages and the database do; PyYAML's own form where that text would need an
    # exponent or is not a number (1e+300, .inf), which YAML 1.1 would otherwise tag explicitly.
    text = values.encode(value) if math.isfinite(value) else ""
    if not text or "e" in text:
        return dumper.represent_float(value)
    return dumper.represent_scalar("tag:yaml.org,2002:float", text)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_Quoted, _represent_str)
_Dumper.add_representer(float, _represent_float)


def answers_to_yaml(answers: Answers, framework: Framework) -> str:
    """The answers file text that `read_answers_text` reads back as `answers`, or ValueError."""
    _check_fits(answers, framework)
    document: dict[str, Any] = {"framework": framework.id, "version": _Quoted(_text(framework.version, "version"))}
    if answers.scope is not None:
        document["scope"] = _text(answers.scope, "scope")
    if answers.as_of is not None:
        document["as_of"] = answers.as_of
    if answers.target_level is not None:
        document["target_level"] = answers.target_level
    entries = {}
    for requirement in framework.requirements:  # file order, whatever the order of the dict
        answer = answers.answers.get(requirement.id)
        entry = None if answer is None else _entry(answer)
        if entry is not None:
            entries[requirement.id] = entry
    if entries:
        document["answers"] = entries
    body = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=_NO_WRAP,
    )
    text = f"# Answers to {_one_line(framework.title)} {_one_line(framework.version)}, written by assessment\n{body}"
    try:
        read_answers_text(text, framework, _WRITTEN)
    except InvalidFile as exc:
        raise ValueError(f"these answers would not make a valid answers file:\n{exc}") from None
    return text


def _check_fits(answers: Answers, framework: Framework) -> None:
    """Refuse what the file cannot say: another framework, unknown ids, an answer filed under another id."""
    if (answers.framework_id, answers.version) != (framework.id, framework.version):
        raise ValueError(
            f"these answers are for {answers.framework_id!r} version {answers.version!r}, "
            f"not {framework.id!r} version {framework.version!r}"
        )
    unknown = [rid for rid in answers.answers if rid not in framework.requirement_index]
    if unknown:
        raise ValueError(f"unknown requirement id(s) in {framework.id!r}: {', '.join(map(repr, unknown))}")
    for rid, answer in answers.answers.items():
        if answer.requirement_id != rid:
            raise ValueError(f"the answer filed under {rid!r} is for {answer.requirement_id!r}")


def _entry(answer: Answer) -> Any:
    """`CI-01: yes` when there is only a value, a mapping when there is more, None when there is nothing."""
    path = f"answers.{answer.requirement_id}"
    if answer.note is None and not answer.evidence:
        return answer.value
    entry: dict[str, Any] = {}
    if answer.value is not None:
        entry["value"] = answer.value
    if answer.note is not None:
        entry["note"] = _text(answer.note, f"{path}.note")
    if answer.evidence:
        entry["evidence"] = [_evidence(item, f"{path}.evidence[{i}]") for i, item in enumerate(answer.evidence)]
    return entry


def _evidence(item: Evidence, path: str) -> dict[str, Any]:
    written: dict[str, Any] = {"title": _text(item.title, f"{path}.title")}
    if item.url is not None:
        written["url"] = _text(item.url, f"{path}.url")
    if item.file is not None:
        written["file"] = _text(item.file, f"{path}.file")
    if item.sha256 is not None:
        written["sha256"] = _text(item.sha256, f"{path}.sha256")
    if item.effective is not None:
        written["effective"] = item.effective
    if item.expires is not None:
        written["expires"] = item.expires
    return written


def _text(value: Any, path: str) -> Any:
    """`value`, unless it is a string holding a lone surrogate, which no UTF-8 file can hold."""
    if isinstance(value, str):
        for index, char in enumerate(value):
            if "\ud800" <= char <= "\udfff":
                raise ValueError(
                    f"{path}: character {index} is a lone surrogate (U+{ord(char):04X}), not a character; "
                    "an answers file is UTF-8 and cannot hold it"
                )
    return value


def _one_line(text: str) -> str:
    """`text` fit for a comment line: line breaks and other unprintable characters become spaces."""
    return "".join(char if char.isprintable() else " " for char in text)
