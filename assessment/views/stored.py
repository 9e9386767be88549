"""Sending a stored file (evidence, a rendered report) to the browser, from whichever store holds it."""

from __future__ import annotations

from pathlib import Path

from flask import Response, send_file

from ..adapters.blobs import Reader


def send_stored(source: Path | Reader, **options) -> Response:
    """A file of the folder store goes by its path (size, dates, ranges as send_file gives them); a blob
    of an object store is streamed as it arrives, with its length, never read whole into memory.
    `options` are send_file's (mimetype, download name, ETag...)."""
    if isinstance(source, Path):
        return send_file(source, **options)
    response = send_file(source, **options)  # type: ignore[arg-type]  (a binary file-like, closed after sending)
    if response.status_code == 200:
        response.content_length = source.size
    return response
