"""A numeric question in a real browser: its bands and unit beside the field, the band following
the number as it is typed, and its guidance's Markdown shown as formatting."""

from __future__ import annotations

import os

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.slow  # a real browser

SHOTS = os.environ.get("INBOX_SCREENSHOTS")


def test_the_band_follows_the_typed_number(page, expect):
    sign_in(page, "admin")
    page.goto("/")
    page.get_by_label("Name").fill("Bands team")
    page.get_by_role("button", name="Add scope").click()
    option = page.locator("select[name=framework_version] option", has_text="DevOps Delivery Maturity")
    page.select_option("select[name=framework_version]", value=option.first.get_attribute("value"))
    page.get_by_role("button", name="Start").click()
    page.goto(page.url.rsplit("/", 1)[0] + "/8")  # DORA key metrics
    block = page.locator("article#req-DDM-KM-03")
    expect(block.locator("[data-band]")).to_have_text(
        [
            "10 or more: full credit",
            "1 to under 10: credit 0.75",
            "0.23 to under 1: credit 0.5",
            "0 to under 0.23: credit 0.25",
        ]
    )
    expect(block.locator(".band-title")).to_have_text("Credit by band (deployments per week):")
    field = block.get_by_label("Answer in deployments per week")
    field.fill("3")
    expect(block.locator("[data-band-now]")).to_have_text(
        "3 deployments per week falls in the band 1 to under 10 deployments per week: credit 0.75."
    )
    expect(block.locator(".current-band")).to_have_text("1 to under 10: credit 0.75 (this answer)")
    field.fill("12")
    expect(block.locator(".current-band")).to_have_text("10 or more: full credit (this answer)")
    block.get_by_text("Guidance").click()
    expect(block.locator(".guidance strong").first).to_have_text("Elite")
    expect(block.locator(".guidance li")).to_have_count(4)
    if SHOTS:
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            block.screenshot(path=f"{SHOTS}/bands-{width}.png")


def test_results_explain_a_provisional_score_and_its_levels(page, expect):
    sign_in(page, "admin")
    page.goto("/")
    page.get_by_label("Name").fill("Explained team")
    page.get_by_role("button", name="Add scope").click()
    option = page.locator("select[name=framework_version] option", has_text="DevOps Delivery Maturity")
    page.select_option("select[name=framework_version]", value=option.first.get_attribute("value"))
    page.get_by_role("button", name="Start").click()
    questionnaire = page.url
    # a claim on an evidence-required requirement says at once why it earns nothing
    claim = page.locator("article#req-DDM-CI-01")
    reason = claim.locator("[data-claim-reason]")
    expect(reason).to_be_hidden()
    claim.get_by_label("Yes", exact=True).check()
    expect(reason).to_have_text("Yes, but no evidence attached: evidence required.")
    claim.get_by_label("No", exact=True).check()
    expect(reason).to_be_hidden()
    page.goto(questionnaire.split("/domains/")[0] + "/results")
    expect(page.locator("[data-provisional]")).to_contain_text("Provisional")
    expect(page.locator(".headline .provisional")).to_have_text("provisional")
    expect(page.locator(".headline [data-level-reason]")).to_contain_text("missed: 0 of")
    expect(page.locator('[data-level-reason="DDM-KM"]')).to_contain_text("reached because no requirement at")
    if SHOTS:
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=f"{SHOTS}/results-{width}.png", full_page=False)
            page.locator("table.listing").first.screenshot(path=f"{SHOTS}/results-domains-{width}.png")
