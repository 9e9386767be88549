"""A small assessment completed end to end in a real browser: start, answer, upload evidence,
see results and backlog, export. Once with JavaScript (answers save as they are given) and once
without (the plain submit buttons)."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.slow  # a real browser

FRAMEWORK = "SOX IT general controls"


def start_assessment(page, expect, scope: str) -> str:
    """As the admin, create a scope and start a SOX assessment from the pages; return the questionnaire URL."""
    sign_in(page, "admin")
    page.goto("/")
    page.get_by_label("Name").fill(scope)
    page.get_by_role("button", name="Add scope").click()
    expect(page.get_by_role("heading", name=scope, level=1)).to_be_visible()
    option = page.locator("select[name=framework_version] option", has_text=FRAMEWORK)
    page.select_option("select[name=framework_version]", value=option.get_attribute("value"))
    page.fill("input[name=as_of]", "2026-11-21")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access to programs and data")
    return page.url


def test_complete_an_assessment_with_javascript(page, expect, tmp_path):
    start_assessment(page, expect, "Checkout team")
    first = page.locator("article.requirement").first
    rid = first.get_attribute("data-requirement")
    first.get_by_label("Designed and operating effectively", exact=False).check()
    # saved at once: evidence is required and there is none yet, so the claim is unsupported
    expect(first.locator("[data-save-state]")).to_have_text("Saved")
    expect(first.locator("[data-unsupported]")).to_be_visible()
    expect(first.locator("[data-status]")).to_have_text("Not met")
    first.get_by_label("Note").fill("Quarterly review signed by the CFO.")
    expect(first.locator("[data-save-state]")).to_have_text("Saved", timeout=5000)
    expect(page.locator("nav.domains li.current .count")).to_have_text(re.compile(r"^1/\d+$"))

    # upload evidence for it, on its evidence page
    first.get_by_role("button", name="Add or reuse evidence").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Evidence for {rid}")
    evidence = tmp_path / "access-review-q3.pdf"
    evidence.write_bytes(b"%PDF-1.4 access review sign-off\n")
    page.get_by_label("Title").fill("Q3 access review")
    page.get_by_label("File").set_input_files(str(evidence))
    page.get_by_role("button", name="Add evidence").click()
    first = page.locator(f"article#req-{rid}")
    expect(first.get_by_role("link", name="Q3 access review")).to_be_visible()
    expect(first.locator("[data-status]")).to_have_text("Met")
    expect(first.locator("[data-unsupported]")).to_be_hidden()
    # the note typed earlier was saved, not lost by the upload's page load
    expect(first.get_by_label("Note")).to_have_value("Quarterly review signed by the CFO.")

    second = page.locator("article.requirement").nth(1)
    second_id = second.get_attribute("data-requirement")
    second.get_by_label("Not in place", exact=False).check()
    expect(second.locator("[data-save-state]")).to_have_text("Saved")

    # results
    page.get_by_role("link", name="Results").first.click()
    expect(page.get_by_role("heading", name=re.compile("^Results"))).to_be_visible()
    expect(page.locator("[data-count=met]")).to_have_text("1")
    expect(page.locator("[data-count=not_met]")).to_have_text("1")
    expect(page.locator("section.chart svg")).to_be_visible()
    expect(page.locator("table.gaps")).to_contain_text(second_id)

    # backlog
    page.get_by_role("button", name=re.compile("Generate the improvement backlog")).click()
    expect(page.get_by_role("heading", name=re.compile("^Improvement backlog"))).to_be_visible()
    item = page.locator("li.backlog-item").first
    requirement = item.get_attribute("data-requirement")
    item.get_by_role("link", name=re.compile("^Edit")).click()
    item = page.locator(f'li.backlog-item[data-requirement="{requirement}"]')
    item.get_by_label("Status").select_option("do")
    item.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("saved")
    expect(page.locator(f'section.status-do li[data-requirement="{requirement}"]')).to_be_visible()

    # export
    page.get_by_role("link", name="Results").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("^Export")).click()
    data = download_info.value.path().read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        answers = archive.read("answers.yaml").decode()
    assert "framework.yaml" in names and any(n.endswith("/access-review-q3.pdf") for n in names)
    assert "Quarterly review signed by the CFO." in answers and "sha256:" in answers


def test_answer_without_javascript(browser, live_server, expect):
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    try:
        start_assessment(page, expect, "No-script team")
        first = page.locator("article.requirement").first
        rid = first.get_attribute("data-requirement")
        first.get_by_label("Not in place", exact=False).check()
        first.get_by_label("Note").fill("Not started.")
        page.get_by_role("button", name="Save and continue").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Program change management")
        page.get_by_role("button", name="Access to programs and data").click()
        first = page.locator(f"article#req-{rid}")
        expect(first.get_by_label("Not in place", exact=False)).to_be_checked()
        expect(first.get_by_label("Note")).to_have_value("Not started.")
        expect(first.locator("[data-status]")).to_have_text("Not met")
    finally:
        context.close()
