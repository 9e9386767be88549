"""The library as a person sees it in a browser: the shipped frameworks, then one of them."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.slow  # a real browser

FRAMEWORKS = {
    "cmmi-process-maturity": "CMMI-style process maturity",
    "continuous-improvement": "Continuous improvement program maturity",
    "devops-delivery-maturity": "DevOps Delivery Maturity (DORA capabilities)",
    "gdpr-engineering": "GDPR for engineering teams",
    "hipaa-security-rule": "HIPAA Security Rule",
    "release-review": "After-Release Review Checklist",
    "sox-itgc": "SOX IT general controls",
    "sre-operational-excellence": "SRE Operational Excellence",
}


def test_library_lists_the_frameworks_and_opens_sox(page, expect):
    sign_in(page, "auditor")  # every role reads the library
    page.goto("/")
    page.get_by_role("link", name="Framework library").click()
    expect(page.get_by_role("heading", name="Framework library", level=1)).to_be_visible()

    listing = page.locator("table.listing")
    expect(listing.get_by_role("link")).to_have_count(len(FRAMEWORKS))
    for fid, title in FRAMEWORKS.items():
        link = listing.get_by_role("link", name=title, exact=True)
        expect(link).to_be_visible()
        expect(link).to_have_attribute("href", f"/library/{fid}")

    listing.get_by_role("link", name="SOX IT general controls", exact=True).click()

    expect(page).to_have_url(re.compile(r"/library/sox-itgc$"))
    expect(page.get_by_role("heading", name=re.compile(r"^SOX IT general controls"), level=1)).to_be_visible()
    requirement = page.locator("article.requirement").filter(has=page.get_by_text("SOX-CM-03", exact=True))
    expect(requirement).to_have_count(1)
    expect(requirement.get_by_role("heading", level=3)).to_contain_text(
        "Changes are approved before they reach production"
    )
    expect(requirement.get_by_text("Evidence required", exact=True)).to_be_visible()
