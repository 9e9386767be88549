"""Security hardening: response headers, pages a strict CSP allows, upload types, downloads, error pages."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

from assessment.extensions import db
from assessment.models import ReportJob
from tests.integration.helpers import autosave
from tests.integration.test_evidence import upload

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
        finder = _InlineFinder()
        finder.feed(response.get_data(as_text=True))
        seen[url] = finder.problems
        for href in finder.links:
            href = urldefrag(href).url
            if href.startswith("/") and not urlsplit(href).netloc and not any(s in href for s in SKIP):
                queue.append(href)
    return seen


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
