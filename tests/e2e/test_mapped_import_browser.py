"""Issue 18's whole path in a real browser: an admin imports two CISO Assistant libraries and the mapping set
between them on the web, a team member answers a requirement of one, and accepts the answer suggested for
its mapped requirement in the other. On an instance of its own (the shared server's library stays the shipped
one); with JavaScript on, as most people use it (the no-JavaScript path is test_suggestions_browser.py's)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import TIMEOUT_MS, migrated_app, served, sign_in, sign_out, team_with_assessments

pytestmark = pytest.mark.slow  # a real browser

MAPPINGS = Path(__file__).resolve().parents[1] / "data" / "mappings"
SCREENSHOT = Path(os.environ.get("MAPPING_SCREENSHOT", "/tmp/mapped-suggestion.png"))


@pytest.fixture(scope="module")
def mapping_server(tmp_path_factory, _browser_requirements):
    app = migrated_app(tmp_path_factory.mktemp("mapping-instance"), "mapping", demo_users=True)
    with served(app, "mapping-server") as url:
        yield url


def import_framework(page, expect, path: Path, title: str) -> None:
    page.goto("/library")
    form = page.locator("section.library-import")
    form.get_by_label("Framework file").set_input_files(str(path))
    form.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", name=re.compile(rf"^Import {title}"), level=1)).to_be_visible()
    page.get_by_role("button", name="Store this framework").click()
    expect(page.get_by_text(re.compile(rf"^Stored {title}"))).to_be_visible()


def test_import_libraries_and_their_mapping_then_accept_a_suggested_answer(browser, mapping_server, expect):
    context = browser.new_context(base_url=mapping_server)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, "admin")
        import_framework(page, expect, MAPPINGS / "alpha-library.yaml", "Tiny alpha")
        import_framework(page, expect, MAPPINGS / "beta-library.yaml", "Tiny beta")
        page.goto("/library/mappings")
        page.locator("input[type=file]").set_input_files(str(MAPPINGS / "alpha-to-beta.yaml"))
        page.locator("form[enctype='multipart/form-data'] button[type=submit]").click()
        expect(page.locator("body")).to_contain_text("Tiny alpha -> tiny beta")

        alpha, beta = team_with_assessments(page, expect, "Identity team", ("Tiny alpha", "Tiny beta"))
        sign_out(page)

        sign_in(page, "team")
        page.goto(alpha)
        requirement = page.locator("article#req-AC-1")
        requirement.get_by_label("Compliant", exact=False).first.check()
        requirement.get_by_label("Note").fill("Every account has an approved ticket.")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("article#req-AC-1 [data-status]")).not_to_have_text("Unanswered")

        page.goto(beta)
        target = page.locator("article#req-ID\\.1")
        suggestion = target.locator("[data-suggestion]")
        expect(suggestion).to_contain_text("Suggested by Tiny alpha AC-1 (equal)")
        expect(target.locator("[data-status]")).to_have_text("Unanswered")
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        suggestion.get_by_role("button", name="Accept").click()

        target = page.locator("article#req-ID\\.1")
        expect(target.get_by_label("Compliant", exact=False).first).to_be_checked()
        expect(target.get_by_label("Note")).to_have_value(
            "From Tiny alpha AC-1 (equal): Every account has an approved ticket."
        )
        expect(target.locator("[data-suggestion]")).to_have_count(0)
    finally:
        context.close()
