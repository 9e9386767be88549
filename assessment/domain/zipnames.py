"""The names in a zip file as the tool that wrote it meant them.

Python writes UTF-8 names with the zip's UTF-8 flag; Info-ZIP's `zip` (and other ordinary tools)
write the same bytes without the flag, so `zipfile` reads them as code page 437 and `évidence.pdf`
turns into `Θvidence.pdf`. Info-ZIP also records the name in a Unicode path extra field (0x7075).
"""

from __future__ import annotations

import struct
import zipfile
import zlib

_UTF8_FLAG = 0x800
_UNICODE_PATH = 0x7075


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name: the Unicode path field if it matches, else the raw bytes as UTF-8 if they are, else cp437."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    raw = info.orig_filename.encode("cp437", errors="replace")
    unicode_path = _unicode_path_field(info.extra, raw)
    if unicode_path is not None:
        name = unicode_path
    else:
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            return info.filename
    return name


def _unicode_path_field(extra: bytes, raw_name: bytes) -> str | None:
    """The UTF-8 name of an Info-ZIP Unicode path extra field, when it is valid for this name."""
    at = 0
    while at + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, at)
        body = extra[at + 4 : at + 4 + size]
        at += 4 + size
        if kind != _UNICODE_PATH or len(body) < 5 or body[0] != 1:
            continue
        if struct.unpack_from("<L", body, 1)[0] != zlib.crc32(raw_name):
            return None  # the name was changed after the field was written: trust the name
        try:
            return body[5:].decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None
