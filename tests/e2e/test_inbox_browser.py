"""The home page's "Waiting for you" in a real browser, for each role along one assessment's review:
the team sees what to answer and, once returned, the lead's comment; the lead and the admin see what
awaits review; the auditor sees what is shared and not yet reviewed. Each item leads to its page,
and the navigation names the count."""

from __future__ import annotations

import os
import re

import pytest

from tests.e2e.conftest import sign_in, sign_out

pytestmark = pytest.mark.slow  # a real browser

SCOPE = "Inbox ledger team"
FRAMEWORK = "SOX IT general controls"
SHOTS = os.environ.get("INBOX_SCREENSHOTS")  # a folder: save the home page of each role at both widths


def _shoot(page, name: str) -> None:
    if not SHOTS:
        return
    for width, height in ((390, 844), (1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _item(page, section: str, expect):
    """The inbox item of this test's scope in one section."""
    item = page.locator(f"section[data-inbox={section}] li", has_text=SCOPE)
    expect(item).to_have_count(1)
    return item


def _waiting(page):
    return page.get_by_role("navigation").get_by_role("link", name=re.compile(r"^Home \d+ waiting$"))


def test_each_role_sees_what_waits_for_them(page, expect):
    sign_in(page, "lead")
    page.get_by_label("Name").fill(SCOPE)
    page.get_by_role("button", name="Add scope").click()
    page.select_option("#team select[name=username]", value="team")
    page.get_by_role("button", name="Add to the team").click()
    option = page.locator("select[name=framework_version] option", has_text=FRAMEWORK)
    page.select_option("select[name=framework_version]", value=option.get_attribute("value"))
    page.get_by_role("button", name="Start").click()
    questionnaire = page.url
    sign_out(page)

    # The team member finds the draft to answer, with its completion, and opens it from the inbox.
    sign_in(page, "team")
    page.goto("/")
    expect(page.get_by_role("heading", name="Waiting for you", level=1)).to_be_visible()
    expect(_waiting(page)).to_be_visible()
    draft = _item(page, "answer", expect)
    expect(draft).to_contain_text("0 % answered")
    _shoot(page, "team-draft")
    draft.get_by_role("link").click()
    assert page.url == questionnaire
    page.locator("article.requirement").first.get_by_label("Designed and operating effectively").check()
    expect(page.locator("article.requirement").first.locator("[data-save-state]")).to_have_text("Saved")
    page.get_by_role("link", name="Results").first.click()
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_role("button", name="Submit for review anyway").click()  # the questions left unanswered are confirmed
    expect(page.locator(".flash")).to_contain_text("Submitted for review")
    page.goto("/")
    expect(page.locator("section[data-inbox=answer] li", has_text=SCOPE)).to_have_count(0)
    sign_out(page)

    # The program lead, and the admin, find it awaiting review; the lead returns it with a comment.
    sign_in(page, "admin")
    _item(page, "review", expect)
    _shoot(page, "admin")
    sign_out(page)
    sign_in(page, "lead")
    _item(page, "review", expect).get_by_role("link").click()
    assert page.url.endswith("#review")
    page.get_by_label("Comments for the team").fill("Attach the Q3 access review.")
    page.get_by_role("button", name="Return for changes").click()
    page.locator(".confirm-page").get_by_role("button", name="Return for changes").click()
    page.goto("/")
    expect(page.locator("section[data-inbox=review] li", has_text=SCOPE)).to_have_count(0)
    _shoot(page, "lead")
    sign_out(page)

    # The team sees the comment right on the home page, and its link leads to the review.
    sign_in(page, "team")
    returned = _item(page, "returned", expect)
    expect(returned.locator("blockquote")).to_have_text("Attach the Q3 access review.")
    _shoot(page, "team-returned")
    returned.get_by_role("link").click()
    assert page.url.endswith("#review")
    expect(page.locator("#review")).to_contain_text("Attach the Q3 access review.")
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_role("button", name="Submit for review anyway").click()
    sign_out(page)

    # The lead approves and shares it; the auditor finds it waiting until they record a review.
    sign_in(page, "lead")
    _item(page, "review", expect).get_by_role("link").click()
    page.get_by_role("button", name="Approve and lock").click()
    page.locator(".confirm-page").get_by_role("button", name="Approve and lock").click()
    page.select_option("#review select[name=username]", value="auditor")
    page.get_by_role("button", name="Share").click()
    sign_out(page)
    sign_in(page, "auditor")
    expect(_waiting(page)).to_be_visible()
    shared = _item(page, "shared", expect)
    _shoot(page, "auditor")
    shared.get_by_role("link").click()
    assert page.url.endswith("#findings")
    page.get_by_role("button", name="Record review").click()
    page.goto("/")
    expect(page.locator("section[data-inbox=shared] li", has_text=SCOPE)).to_have_count(0)
    sign_out(page)
