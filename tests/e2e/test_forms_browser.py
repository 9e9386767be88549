"""Forms in a real browser: a questionnaire page without JavaScript keeps its good answers and shows the
bad one back; irreversible actions ask first, with and without JavaScript."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.slow  # a real browser

FRAMEWORK = "DevOps Delivery Maturity"
METRICS = 8  # the domain "DORA key metrics": DDM-KM-01 is a scale, DDM-KM-03 a number


def _start(page, expect, scope: str) -> str:
    """As the admin, a new scope with a DevOps assessment; the URL of the assessment."""
    sign_in(page, "admin")
    page.goto("/")
    page.get_by_label("Name").fill(scope)
    page.get_by_role("button", name="Add scope").click()
    option = page.locator("select[name=framework_version] option", has_text=FRAMEWORK).first
    page.select_option("select[name=framework_version]", value=option.get_attribute("value"))
    page.get_by_role("button", name="Start").click()
    expect(page.locator("form#answers")).to_be_visible()
    return re.sub(r"/domains/\d+.*$", "", page.url)


def _shot(page, name: str) -> None:
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"/tmp/forms/{name}-{width}.png", full_page=True)


def test_without_javascript_a_bad_number_comes_back_and_the_good_answer_is_saved(browser, live_server, expect):
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    try:
        assessment = _start(page, expect, "No-script metrics team")
        page.goto(f"{assessment}/domains/{METRICS}")
        good = page.locator("article#req-DDM-KM-01")
        good.locator("input[type=radio]").first.check()
        chosen = good.locator("input[type=radio]:checked").get_attribute("value")
        page.locator("#answer-DDM-KM-03").fill("lots")
        page.locator("#note-DDM-KM-03").fill("from the deploy log")
        page.get_by_role("button", name="Save", exact=True).click()
        field = page.locator("#answer-DDM-KM-03")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_attribute("aria-describedby", "answer-DDM-KM-03-error")
        expect(field).to_have_value("lots")
        expect(page.locator("#answer-DDM-KM-03-error")).to_contain_text("is not a number")
        expect(page.locator("#note-DDM-KM-03")).to_have_value("from the deploy log")
        # the message sits right after the number, before the note box
        order = page.evaluate(
            "() => { const m = document.getElementById('answer-DDM-KM-03-error');"
            " const n = document.getElementById('note-DDM-KM-03');"
            " return !!(m.compareDocumentPosition(n) & Node.DOCUMENT_POSITION_FOLLOWING); }"
        )
        assert order
        summary = page.locator(".error-summary")
        expect(summary).to_have_attribute("role", "alert")
        expect(summary.get_by_role("link")).to_have_attribute("href", "#answer-DDM-KM-03")
        expect(page.locator(".flash")).to_contain_text("1 answer saved")
        _shot(page, "questionnaire-error")
        # the good answer was saved: a fresh load shows it
        page.goto(f"{assessment}/domains/{METRICS}")
        expect(page.locator(f"article#req-DDM-KM-01 input[value='{chosen}']")).to_be_checked()
        expect(page.locator("#answer-DDM-KM-03")).to_have_value("")
    finally:
        context.close()


def _confirm_submit_and_approve(page, expect, assessment: str) -> None:
    page.goto(f"{assessment}/results")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        re.compile(r"Submit with \d+ of \d+ questions unanswered")
    )
    page.get_by_role("button", name="Submit for review anyway").click()
    expect(page.locator(".flash")).to_contain_text("Submitted for review")


def test_confirmations_with_and_without_javascript(browser, live_server, expect):
    for scripts in (True, False):
        context = browser.new_context(base_url=live_server, java_script_enabled=scripts)
        page = context.new_page()
        try:
            assessment = _start(page, expect, f"Guarded team {'js' if scripts else 'nojs'}")
            # remove evidence: asked first, then undone from the message
            page.goto(f"{assessment}/requirements/DDM-VC-01/evidence")
            page.get_by_label("or link").fill("https://wiki.example.com/repos")
            page.get_by_label("Title").fill("Repository list")
            page.get_by_role("button", name="Add evidence").click()
            expect(page.locator(".flash")).to_contain_text("attached to DDM-VC-01: https://wiki.example.com/repos")
            page.locator("article#req-DDM-VC-01").get_by_role("button", name="Remove").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Remove evidence #")
            if not scripts:
                _shot(page, "confirm-remove")
            page.get_by_role("link", name="Cancel").click()
            expect(
                page.locator("article#req-DDM-VC-01 section.evidence li", has_text="Repository list")
            ).to_be_visible()
            page.locator("article#req-DDM-VC-01").get_by_role("button", name="Remove").click()
            page.get_by_role("button", name="Remove the evidence").click()
            expect(page.locator(".flash")).to_contain_text("removed from DDM-VC-01")
            expect(page.locator("article#req-DDM-VC-01 section.evidence li", has_text="Repository list")).to_have_count(
                0
            )
            page.locator(".flash").get_by_role("button", name="Undo").click()
            expect(
                page.locator("article#req-DDM-VC-01 section.evidence li", has_text="Repository list")
            ).to_be_visible()
            # submit with unanswered questions, then approve as the lead: both ask first
            _confirm_submit_and_approve(page, expect, assessment)
            page.get_by_role("button", name="Sign out", exact=True).click()
            sign_in(page, "lead")
            page.goto(f"{assessment}/results")
            page.get_by_role("button", name="Approve and lock").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Approve and lock this assessment?")
            expect(page.locator(".confirm-meaning")).to_contain_text("% complete")
            expect(page.locator(".confirm-meaning")).to_contain_text("unanswered")
            if scripts:
                _shot(page, "confirm-approve")
            page.get_by_role("button", name="Approve and lock").click()
            expect(page.locator(".flash")).to_contain_text("Approved")
            expect(page.get_by_role("heading", level=1)).to_contain_text("approved")
        finally:
            context.close()
