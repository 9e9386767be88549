"""Sending stored files (evidence, rendered reports) over HTTP: one place for the web pages and the API.

Both edges send the same bytes with the same headers, so a download cannot differ between a browser and a
pipeline: the evidence store with the configured size limit, the sandboxing policy of a download, and an
object store's blob streamed as it arrives. Neither `views/` nor `api/` imports the other; both import this.
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, current_app, request, send_file
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wsgi import FileWrapper

from .adapters.blobs import CHUNK, Reader
from .adapters.evidence_store import EvidenceStore
from .adapters.filetypes import served_media_type
from .extensions import report_store
from .services import evidence as evidence_service
from .services.errors import NotFound

# Should a browser show a downloaded file anyway, it runs nothing and loads nothing.
DOWNLOAD_POLICY = "sandbox; default-src 'none'; frame-ancestors 'none'"


def send_stored(source: Path | Reader, **options) -> Response:
    """A stored file with its length, ETag and ranges, never read whole into memory. A file of the folder
    store goes by its path (size, dates, ranges as send_file gives them); a blob of an object store is
    streamed as it arrives and answers a Range header as the folder does (206 with the part asked for,
    416 outside the file), its reader seeking to the part so that only that part is fetched.
    `options` are send_file's (mimetype, download name, ETag...)."""
    if isinstance(source, Path):
        return send_file(source, **options)
    response = send_file(source, conditional=False, **options)  # type: ignore[arg-type]  (closed after sending)
    # Werkzeug's own wrapper seeks the reader to the range's start (a WSGI server's may only read through it).
    response.response = FileWrapper(source, CHUNK)  # type: ignore[arg-type]
    response.content_length = source.size
    try:
        return response.make_conditional(request.environ, accept_ranges=True, complete_length=source.size)
    except RequestedRangeNotSatisfiable:
        source.close()
        raise


def evidence_store() -> EvidenceStore:
    """The evidence store of this instance (its folder or its S3 bucket, see create_app), with the size
    limit the configuration has now."""
    return EvidenceStore(report_store(current_app).evidence.blobs, current_app.config["EVIDENCE_MAX_BYTES"])


def send_evidence(item, link_message: str) -> Response:
    """An evidence file as an attachment under its original name, its sniffed type, an ETag of its hash and the
    download policy, recorded on the trail as downloaded; a link is a 404 saying `link_message`, a file the store
    lost a 410."""
    if not item.is_file:
        abort(404, description=link_message)
    store = evidence_store()
    try:
        stored = store.local_path(item.sha256) or store.open(item.sha256)
    except NotFound:
        abort(410, description="The stored file is missing from the evidence store.")
    evidence_service.record_download(item)
    response = send_stored(
        stored,
        mimetype=served_media_type(item.media_type),
        as_attachment=True,
        download_name=item.original_name,
        etag=item.sha256,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    return response
