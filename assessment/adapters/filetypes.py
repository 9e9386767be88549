"""Which evidence files are accepted: the type is sniffed from the content, never taken from the name.

Evidence is read by auditors who download it, so a file is accepted only when it is inert once
opened: documents, images, plain text and archives of them. The allow-list, by sniffed type:

- PDF (application/pdf);
- images: PNG, JPEG, GIF, WebP (SVG is refused: it can carry script);
- text: text/plain, text/csv, text/tab-separated-values, text/markdown, text/xml, any text/x-*
  (source code, shell and Python scripts, makefiles, diffs: CI pipelines are legitimate
  evidence), JSON, YAML, XML and e-mail messages (message/rfc822, for approvals). HTML and
  RTF are refused (script; embedded objects), and so is XML in the XHTML or SVG namespace;
  content libmagic cannot name but which is clean UTF-8 text is plain text;
- office documents: Office Open XML (docx, xlsx, pptx), OpenDocument, and zip archives
  (libmagic often reports an Office Open XML file as a plain zip). Legacy Office formats,
  whose macros run on opening, are not on the list.

Everything else (executables, HTML, SVG, unknown binary data) is refused. The name still
matters once the file is downloaded, because the auditor's system opens it by its extension,
so a name that a browser or Windows would run on opening (.html, .svg, .js, .bat, .exe...) is
refused whatever the content, and a name of a kind on the list must agree with the content
(a report.pdf that is text is refused; rename it .txt).
"""

from __future__ import annotations

import codecs

import magic

from ..services.errors import InvalidInput

SNIFF_BYTES = 8192  # libmagic needs no more than the head of a file

PDF, IMAGE, TEXT, ARCHIVE = "PDF", "an image", "text", "an office document or zip archive"

_EXACT = {
    "application/pdf": PDF,
    "image/png": IMAGE,
    "image/jpeg": IMAGE,
    "image/gif": IMAGE,
    "image/webp": IMAGE,
    "text/plain": TEXT,
    "text/csv": TEXT,
    "text/tab-separated-values": TEXT,
    "text/markdown": TEXT,
    "text/xml": TEXT,
    "application/xml": TEXT,
    "application/json": TEXT,
    "application/x-ndjson": TEXT,
    "application/yaml": TEXT,
    "application/x-yaml": TEXT,
    "text/yaml": TEXT,
    "text/x-yaml": TEXT,
    "message/rfc822": TEXT,
    "application/zip": ARCHIVE,
}
_PREFIXES = {
    "text/x-": TEXT,
    "application/vnd.openxmlformats-officedocument.": ARCHIVE,
    "application/vnd.oasis.opendocument.": ARCHIVE,
}
_ACTIVE_XML = {b"http://www.w3.org/1999/xhtml": "application/xhtml+xml", b"http://www.w3.org/2000/svg": "image/svg+xml"}

# Extensions a browser or Windows runs or renders with script when the downloaded file is opened.
_ACTIVE_EXTENSIONS = frozenset(
    "html htm xhtml xht shtml mht mhtml svg svgz hta js mjs jse vbs vbe wsf wsh bat cmd com exe scr pif "
    "msi dll cpl lnk reg jar".split()
)
_EXTENSION_KINDS = {
    **dict.fromkeys(["pdf"], PDF),
    **dict.fromkeys("png jpg jpeg gif webp".split(), IMAGE),
    **dict.fromkeys("docx xlsx pptx odt ods odp odg zip".split(), ARCHIVE),
    **dict.fromkeys(
        "txt text log md markdown csv tsv yaml yml json ndjson xml ini cfg conf toml sh py ps1 eml diff patch".split(),
        TEXT,
    ),
}

ACCEPTED = (
    "PDF; PNG, JPEG, GIF or WebP images; plain text (text, CSV, Markdown, YAML, JSON, XML, scripts, e-mail); "
    "Office Open XML or OpenDocument files; zip archives"
)


def sniff(head: bytes) -> str:
    """The media type of a file from its first bytes, as libmagic reads them."""
    detected = magic.from_buffer(head[:SNIFF_BYTES], mime=True) or "application/octet-stream"
    if detected == "application/octet-stream" and _is_plain_text(head[:SNIFF_BYTES]):
        return "text/plain"  # too short or too plain for libmagic to name
    return detected


def accepted_media_type(head: bytes, name: str) -> str:
    """The sniffed media type of an evidence file, or InvalidInput if it is not on the allow-list."""
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension in _ACTIVE_EXTENSIONS:
        raise InvalidInput(
            f"A file named .{extension} could run when opened, so {name!r} is not accepted as evidence; "
            "nothing was stored. Rename it .txt to keep it as text."
        )
    if not head:
        raise InvalidInput(f"{name!r} is empty; nothing was stored.")
    media_type = sniff(head)
    kind = _kind(media_type, head)
    if kind is None:
        raise InvalidInput(
            f"{name!r} is {_active_type(media_type, head)}, which is not accepted as evidence; nothing was stored. "
            f"Accepted: {ACCEPTED}."
        )
    expected = _EXTENSION_KINDS.get(extension)
    if expected is not None and expected != kind:
        raise InvalidInput(
            f"{name!r} is named as {expected} but its content is {media_type}; nothing was stored. "
            "Give the file the extension of what it holds."
        )
    return media_type


def served_media_type(stored: str | None) -> str:
    """The Content-Type to serve a stored file with: its type if on the allow-list, else opaque bytes.

    Rows stored before types were sniffed hold a type guessed from the name, perhaps text/html.
    """
    return stored if stored and _kind(stored, b"") is not None else "application/octet-stream"


def _kind(media_type: str, head: bytes) -> str | None:
    kind = _EXACT.get(media_type) or next((k for p, k in _PREFIXES.items() if media_type.startswith(p)), None)
    if kind is TEXT and media_type.endswith("xml") and _active_xml(head):
        return None
    return kind


def _active_xml(head: bytes) -> str | None:
    """The media type of XML that a browser would render with script (XHTML, SVG), if it is that."""
    return next((t for ns, t in _ACTIVE_XML.items() if ns in head[:SNIFF_BYTES]), None)


def _active_type(media_type: str, head: bytes) -> str:
    return (media_type.endswith("xml") and _active_xml(head)) or media_type


def _is_plain_text(head: bytes) -> bool:
    try:  # not final: a character cut at the end of the head is still text
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return bool(text) and all(ch.isprintable() or ch in "\t\n\r\f" for ch in text)
