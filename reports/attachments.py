"""The machine-readable files a report PDF carries inside it, and reading them back.

A report's figures can be checked from the PDF alone: it carries the score JSON of the spec
(section 4), the answers file the figures were scored from (section 2), a manifest of every
evidence item, and, for a report of the application, its audit trail with the trail's chain head
and count when the report was built. `assessment verify-report` reads them back
(reports/report_check.py) and re-scores the answers against the framework file.

The report id is written at the top of evidence-manifest.json (and of audit-trail.json): score.json
stays exactly the object `assessment score --format json` prints.

No Flask here, and no WeasyPrint: the attachments are bytes; render_pdf embeds them.
"""

from __future__ import annotations

import io
import json
import mimetypes
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from assessment.domain.answers import Answers
from assessment.domain.answers_writer import answers_to_yaml

from .model import Report

SCORE_JSON, ANSWERS_YAML, EVIDENCE_MANIFEST, AUDIT_TRAIL = (
    "score.json",
    "answers.yaml",
    "evidence-manifest.json",
    "audit-trail.json",
)
REQUIRED = (SCORE_JSON, ANSWERS_YAML, EVIDENCE_MANIFEST)
MANIFEST_FORMAT = "assessment-evidence-manifest/1"
TRAIL_FORMAT = "assessment-audit-trail/1"
MAX_ATTACHMENT = 64 * 1024**2  # no attached file larger than this is read...
MAX_ATTACHMENTS = 32  # ...nor more files than this


@dataclass(frozen=True)
class Attachment:
    """One file embedded in a report PDF."""

    name: str
    data: bytes
    mime: str
    description: str


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def report_answers(report: Report) -> Answers:
    """The answers the report's figures were scored from, with its as-of date and target level."""
    card = report.card
    answers = {r.id: r.answer for r in card.requirements if r.answer is not None}
    return Answers(
        report.framework.id,
        report.framework.version,
        answers,
        scope=card.scope,
        as_of=card.as_of,
        target_level=card.target_level,
    )


def evidence_manifest(report: Report) -> dict[str, Any]:
    """Every evidence item of the report, with the report's id at the top."""
    items = []
    for e in report.evidence:
        media_type = getattr(e, "media_type", None)
        if media_type is None and e.file_name:
            media_type = mimetypes.guess_type(e.file_name)[0] or "application/octet-stream"
        items.append(
            {
                "number": e.number,
                "title": e.title,
                "kind": "file" if (e.sha256 or e.file_name) else "link",
                "url": e.url,
                "file_name": e.file_name,
                "sha256": e.sha256,
                "size": e.size,
                "media_type": media_type,
                "effective": e.effective.isoformat() if e.effective else None,
                "expires": e.expires.isoformat() if e.expires else None,
                "current": e.current,
                "requirement_ids": list(e.requirement_ids),
            }
        )
    fw = report.framework
    return {
        "format": MANIFEST_FORMAT,
        "report_id": report.id,
        "framework": {"id": fw.id, "version": fw.version, "title": fw.title},
        "scope": report.meta.scope,
        "as_of": report.card.as_of.isoformat(),
        "generated_at": report.meta.generated_at.isoformat(),
        "evidence": items,
    }


def audit_trail(report: Report) -> dict[str, Any] | None:
    """The report's audit trail and the whole trail's chain head and count when it was built; None
    for a report without a trail (one made from files)."""
    anchor = report.trail_anchor
    if not report.trail and anchor is None:
        return None
    return {
        "format": TRAIL_FORMAT,
        "report_id": report.id,
        "chain": None
        if anchor is None
        else {"count": anchor.count, "seq": anchor.seq, "head": anchor.head, "anchor": anchor.text},
        "entries": [
            {
                "seq": t.seq,
                "at": t.at.isoformat(),
                "actor": t.actor,
                "action": t.action,
                "object": t.object,
                "change": t.change,
            }
            for t in report.trail
        ],
    }


def report_attachments(report: Report) -> list[Attachment]:
    """The files the report's PDF carries: score.json, answers.yaml, evidence-manifest.json and,
    when the report has a trail, audit-trail.json."""
    answers = answers_to_yaml(report_answers(report), report.framework)
    attachments = [
        Attachment(SCORE_JSON, _json(report.score_json), "application/json", "Score JSON (spec section 4)"),
        Attachment(
            ANSWERS_YAML, answers.encode("utf-8"), "application/yaml", "The answers the figures were scored from"
        ),
        Attachment(
            EVIDENCE_MANIFEST, _json(evidence_manifest(report)), "application/json", "Every evidence item, hashed"
        ),
    ]
    trail = audit_trail(report)
    if trail is not None:
        attachments.append(
            Attachment(AUDIT_TRAIL, _json(trail), "application/json", "The audit trail and its chain head")
        )
    return attachments


def embed_attachments(pdf: bytes, attachments: list[Attachment]) -> bytes:
    """`pdf` with `attachments` added, deflated, to its EmbeddedFiles name tree and its /AF array (as
    PDF/A-3 associates files with a document), appended as an incremental update (the rendered bytes
    stay as they are), for a renderer that does not embed them itself."""
    from pyhanko.pdf_utils import embed, generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    if "/Names" in writer.root and "/EmbeddedFiles" in writer.root["/Names"]:
        raise ValueError("this PDF already has attachments")
    for attachment in sorted(attachments, key=lambda a: a.name):  # a name tree is sorted
        data = embed.EmbeddedFileObject.from_file_data(
            writer,
            attachment.data,
            params=embed.EmbeddedFileParams(embed_checksum=False),
            mime_type=attachment.mime or "application/octet-stream",
        )
        spec = embed.FileSpec(attachment.name, attachment.name, data, attachment.description)
        embed.embed_file(writer, spec)  # without af_relationship, which would declare PDF 2.0
    # associate each file with the document as PDF/A-3 asks: /AFRelationship on it, /AF in the catalog
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    associated = generic.ArrayObject()
    for index in range(1, len(names), 2):
        spec_ref = names.raw_get(index)
        spec_ref.get_object()["/AFRelationship"] = generic.pdf_name("/Data")
        writer.mark_update(spec_ref)
        associated.append(spec_ref)
    writer.root["/AF"] = writer.add_object(associated)
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_with_attachments(report: Report) -> bytes:
    """The report's PDF carrying report_attachments(report): embedded by render_pdf where it takes
    them, else added to the rendered PDF."""
    import inspect

    from .render import render_pdf

    if "attachments" in inspect.signature(render_pdf).parameters:
        return render_pdf(report, attachments=report_attachments(report))
    # the attachments are written (a large answers file takes half a second) while the workers render
    with ThreadPoolExecutor(max_workers=1) as executor:
        attachments = executor.submit(report_attachments, report)
        pdf = render_pdf(report)
        return embed_attachments(pdf, attachments.result())


class UnreadableAttachments(ValueError):
    """The PDF cannot be read, or its attachments are past the limits."""


def read_attachments(pdf: bytes) -> dict[str, bytes]:
    """The files embedded in a PDF (its EmbeddedFiles name tree), by name; UnreadableAttachments when
    the PDF cannot be read or holds more than 32 files or one larger than 64 MiB."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(pdf))
        found: dict[str, bytes] = {}
        names = _embedded_names(reader)
        if len(names) > MAX_ATTACHMENTS:
            raise UnreadableAttachments(f"the PDF holds {len(names)} attached files (limit {MAX_ATTACHMENTS})")
        for name, spec in names:
            stream = _file_stream(spec)
            if stream is None:
                continue
            declared = stream.get("/Length")
            length = declared if isinstance(declared, int) else 0
            params = stream.get("/Params")
            size = params.get_object().get("/Size") if params is not None else None
            if max(length, size if isinstance(size, int) else 0) > MAX_ATTACHMENT:
                raise UnreadableAttachments(f"attached file {name!r} is larger than {MAX_ATTACHMENT:,} bytes")
            found[name] = _bounded_data(name, stream)
        return found
    except UnreadableAttachments:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as error:
        raise UnreadableAttachments(f"not a readable PDF: {error}") from None


def _bounded_data(name: str, stream) -> bytes:
    """A stream's decoded bytes, never inflating more than MAX_ATTACHMENT (a small deflated stream can
    unpack to gigabytes)."""
    import zlib

    filters = stream.get("/Filter")
    filters = [] if filters is None else [str(f) for f in (filters if isinstance(filters, list) else [filters])]
    too_big = UnreadableAttachments(f"attached file {name!r} unpacks to more than {MAX_ATTACHMENT:,} bytes")
    if filters == ["/FlateDecode"] and stream.get("/DecodeParms") is None:
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(stream._data, MAX_ATTACHMENT + 1)
        except zlib.error as error:
            raise UnreadableAttachments(f"attached file {name!r} is corrupt: {error}") from None
        if len(data) > MAX_ATTACHMENT or inflater.unconsumed_tail:
            raise too_big
        return data
    if filters:
        raise UnreadableAttachments(f"attached file {name!r} uses filters {filters}; only FlateDecode is read")
    data = stream._data
    if len(data) > MAX_ATTACHMENT:
        raise too_big
    return data


def _embedded_names(reader) -> list[tuple[str, Any]]:
    """(name, file specification) of every leaf of the EmbeddedFiles name tree, depth-first, bounded."""
    names_dict = reader.trailer["/Root"].get_object().get("/Names")
    if names_dict is None:
        return []
    tree = names_dict.get_object().get("/EmbeddedFiles")
    if tree is None:
        return []
    found: list[tuple[str, Any]] = []
    pending = [(tree.get_object(), 0)]
    visited = 0
    while pending:
        node, depth = pending.pop()
        visited += 1
        if depth > 8 or visited > 256:
            raise UnreadableAttachments("the PDF's EmbeddedFiles name tree is too deep or too large")
        leaves = node.get("/Names")
        if leaves is not None:
            leaves = leaves.get_object()
            for index in range(0, len(leaves) - 1, 2):
                found.append((str(leaves[index].get_object()), leaves[index + 1].get_object()))
                if len(found) > MAX_ATTACHMENTS:
                    return found
        kids = node.get("/Kids")
        if kids is not None:
            pending.extend((kid.get_object(), depth + 1) for kid in reversed(kids.get_object()))
    return found


def _file_stream(spec):
    """The embedded file stream of a file specification (/EF /F, else /EF /UF), or None."""
    ef = spec.get("/EF") if hasattr(spec, "get") else None
    if ef is None:
        return None
    ef = ef.get_object()
    stream = ef.get("/F") or ef.get("/UF")
    return None if stream is None else stream.get_object()
