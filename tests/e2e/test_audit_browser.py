"""The audit trail page in a browser: changed fields in words, filters as choices, the CSV export
and, for admins, the "Verify the chain" button, at a phone's width and a laptop's."""

from __future__ import annotations

import csv
import io

import pytest

from .conftest import sign_in, sign_out

pytestmark = pytest.mark.slow  # a browser


@pytest.mark.parametrize("width", [390, 1280])
def test_an_admin_filters_exports_and_verifies_the_trail(page, expect, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "admin")
    page.goto("/audit")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # the table scrolls in its box
    # the filters are choices among what the trail holds, not id boxes
    actors = page.get_by_label("Who").locator("option").all_inner_texts()
    assert "admin" in actors and "anyone" in actors
    page.get_by_label("Who").select_option("admin")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**actor=admin**")
    whos = page.locator("table.audit tbody tr td:nth-child(3)").all_inner_texts()
    assert whos and set(whos) == {"admin"}
    # the export is the filtered trail, as CSV, and is itself recorded
    with page.expect_download() as download:
        page.get_by_role("link", name="as CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert len(rows) > 1 and any("admin" in cell for cell in rows[1])
    page.goto("/audit")
    expect(page.locator("table.audit tbody tr").first).to_contain_text("export")
    # the chain is verified from the page
    page.get_by_role("button", name="Verify the chain").click()
    expect(page.locator("[data-verify=ok]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_the_verify_button_is_for_admins_only(page, expect):
    sign_in(page, "lead")
    page.goto("/audit")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Audit trail")
    expect(page.get_by_role("button", name="Verify the chain")).to_have_count(0)
    sign_out(page)
