"""Ids and titles that converters make from other tools' texts, the same way for every format.

`escape_id` is the one documented transformation of a value that does not fit our id pattern
(docs/convert.md): every character other than `A-Z a-z 0-9 . : ( ) -` (the underscore too)
becomes `_` and two upper-case hex digits per UTF-8 byte; `unescape_id` reverses it.
"""

from __future__ import annotations

import re

_KEEP = re.compile(r"[A-Za-z0-9.:()-]")
TITLE_LENGTH = 120


def escape_id(value: str) -> str:
    """The documented escaping of a value that does not fit our id pattern (see the module's docstring)."""
    return "".join(c if _KEEP.match(c) else "".join(f"_{b:02X}" for b in c.encode()) for c in value)


def unescape_id(value: str) -> str:
    """The source's value of an escaped id: each `_HH` back to its byte."""
    data = re.sub(rb"_([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), value.encode())
    return data.decode()


def shorten(text: str, limit: int = TITLE_LENGTH) -> str:
    """A title from a text: the first line without a trailing colon, or the part before " — ", cut at a word."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "").rstrip(":").strip()
    head = line.split(" — ", 1)[0].strip()  # "Name — what it means", as in points of focus
    if head and head != line and len(head) <= limit:
        return head
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return f"{cut}…"
