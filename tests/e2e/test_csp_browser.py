"""The Content-Security-Policy in a real browser: the pages' scripts run and nothing is blocked.

Chromium reports every blocked inline script, style attribute or handler as a console error and a
`securitypolicyviolation` event; a page that relied on one would also stop saving answers.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_assessment_browser import start_assessment

pytestmark = pytest.mark.slow  # a real browser

WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def test_pages_run_under_the_policy_without_violations(page, expect):
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(WATCH)
    start_assessment(page, expect, "CSP team")
    violations = page.evaluate("window.__violations")

    first = page.locator("article.requirement").first
    first.get_by_label("Designed and operating effectively", exact=False).check()
    expect(first.locator("[data-save-state]")).to_have_text("Saved")  # questionnaire.js ran and saved
    expect(page.locator("nav.domains li.current progress")).to_have_attribute("value", "1")  # updated in place
    violations += page.evaluate("window.__violations")

    page.get_by_role("link", name="Results").first.click()
    expect(page.get_by_role("heading", name=re.compile("^Results"))).to_be_visible()
    expect(page.locator("section.chart svg")).to_be_visible()
    violations += page.evaluate("window.__violations")

    assert violations == []
    assert [text for text in console if "Content Security Policy" in text] == []
