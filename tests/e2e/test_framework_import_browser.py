"""Importing a framework in a real browser, without JavaScript: upload a CISO Assistant library, read the
preview, store it, and find it in the library. On an instance of its own, so the shared server's library
(which test_library_browser.py counts) stays the shipped one."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import TIMEOUT_MS, migrated_app, served, sign_in

pytestmark = pytest.mark.slow  # a real browser

CISO = Path(__file__).resolve().parents[1] / "data" / "convert" / "tiny-library.yaml"
NOT_A_LIBRARY = CISO.with_name("not-a-library.yaml")
SCREENSHOT = Path(os.environ.get("IMPORT_SCREENSHOT", "/tmp/framework-import-preview.png"))


@pytest.fixture(scope="module")
def import_server(tmp_path_factory, _browser_requirements):
    """An instance with the demo accounts and the shipped library."""
    app = migrated_app(tmp_path_factory.mktemp("import-instance"), "import", demo_users=True)
    with served(app, "import-server") as url:
        yield url


def test_upload_preview_store(browser, import_server, expect):
    context = browser.new_context(base_url=import_server, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, "admin")
        page.goto("/library")
        form = page.locator("section.library-import")
        expect(form.get_by_role("heading", name="Import a framework")).to_be_visible()
        form.get_by_label("Framework file").set_input_files(str(NOT_A_LIBRARY))
        form.get_by_role("button", name="Upload and preview").click()
        expect(page.locator(".error-summary")).to_contain_text("not-a-library.yaml cannot be imported: 1 problem")
        expect(page.locator("ul.problems li")).to_have_count(1)
        page.screenshot(path=str(SCREENSHOT.with_name("framework-import-problems.png")), full_page=True)
        form.get_by_label("Framework file").set_input_files(str(CISO))
        form.get_by_role("button", name="Upload and preview").click()

        expect(page.get_by_role("heading", name=re.compile(r"^Import Tiny practices"), level=1)).to_be_visible()
        expect(page.locator("dd.count-domains")).to_have_text("2")
        expect(page.locator("dd.count-requirements")).to_have_text("6")
        expect(page.locator("table.first-domains tbody tr")).to_have_count(2)
        expect(page.get_by_text("A new framework", exact=False)).to_be_visible()
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        page.get_by_role("button", name="Store this framework").click()
        expect(page).to_have_url(re.compile(r"/library/tiny-practices\?version=\d+$"))
        expect(page.get_by_text(re.compile(r"^Stored Tiny practices"))).to_be_visible()
        page.get_by_role("link", name="Framework library").first.click()
        expect(page.locator("table.listing").get_by_role("link", name="Tiny practices", exact=True)).to_be_visible()
    finally:
        context.close()


def test_the_preview_and_the_problems_pass_axe(browser, import_server):
    from tests.e2e import a11y

    source = a11y.axe_source()
    context = browser.new_context(base_url=import_server)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, "admin")
        for upload in (NOT_A_LIBRARY, CISO):
            page.goto("/library")
            page.get_by_label("Framework file").set_input_files(str(upload))
            with page.expect_navigation():
                page.get_by_role("button", name="Upload and preview").click()
            assert page.locator("ul.problems, section.import-preview").count() == 1
            violations = a11y.axe_violations(page, source)
            assert violations == [], a11y.describe(violations)
    finally:
        context.close()
