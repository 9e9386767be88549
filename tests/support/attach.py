"""Attachments added to a PDF of a test's own making, as an incremental update (the report
renderer embeds a report's own in reports/pdffinish.py): the reader's bounds and the report checks
are tested on PDFs no renderer would write."""

from __future__ import annotations

import io


def embed_attachments(pdf: bytes, attachments: list) -> bytes:
    """`pdf` with `attachments` added, deflated, to its EmbeddedFiles name tree and its /AF array (as
    PDF/A-3 associates files with a document), appended as an incremental update (the rendered bytes
    stay as they are), for tests that need attachments in a PDF of their own making (render_pdf embeds a report's)."""
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
