"""Two cycles of one scope in a real browser: an improvement and a regression seen in the
comparison and the trend; a backlog item achieved by the second cycle and another reopened."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import sign_in, sign_out

pytestmark = pytest.mark.slow  # a real browser

FRAMEWORK = "DevOps Delivery Maturity"


def answer(page, expect, rid: str, label: str) -> None:
    block = page.locator(f"article#req-{rid}")
    block.get_by_label(label, exact=True).check()
    expect(block.locator("[data-save-state]")).to_have_text("Saved")


def submit(page, expect) -> None:
    """Submit for review, confirming it when questions are left unanswered (the page then asks first)."""
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("h1")).to_contain_text(re.compile(r"Results|unanswered"))
    if page.get_by_role("button", name="Submit for review anyway").count():
        page.get_by_role("button", name="Submit for review anyway").click()
    expect(page.locator(".flash")).to_contain_text("Submitted for review")


def approve_as_lead(page, expect, results: str) -> None:
    sign_out(page)
    sign_in(page, "lead")
    page.goto(results)
    page.get_by_role("button", name="Approve and lock").click()
    page.get_by_role("button", name="Approve and lock").click()  # again, on its confirmation page
    expect(page.locator(".flash")).to_contain_text("Approved")
    sign_out(page)
    sign_in(page, "admin")


def test_two_cycles_compare_trend_and_backlog_continuity(page, expect):
    sign_in(page, "admin")
    page.get_by_label("Name").fill("Loop team")
    page.get_by_role("button", name="Add scope").click()
    option = page.locator("select[name=framework_version] option", has_text=FRAMEWORK)
    page.select_option("select[name=framework_version]", value=option.get_attribute("value"))
    page.fill("input[name=as_of]", "2026-01-15")
    page.get_by_role("button", name="Start").click()
    answer(page, expect, "DDM-VC-01", "No")  # will improve
    answer(page, expect, "DDM-VC-02", "Yes")  # will regress
    answer(page, expect, "DDM-VC-03", "No")  # the team will believe it fixed; the next cycle says otherwise

    page.get_by_role("link", name="Results").first.click()
    results_1 = page.url.split("#")[0]
    page.get_by_role("button", name=re.compile("Generate the improvement backlog")).click()
    item = page.locator('li.backlog-item[data-requirement="DDM-VC-03"]')
    item.get_by_role("link", name=re.compile("^Edit")).click()
    item.get_by_label("Status").select_option("done")
    item.get_by_label("Measured outcome").fill("Review bot added")
    item.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("saved")
    page.goto(results_1)
    submit(page, expect)
    approve_as_lead(page, expect, results_1)

    # Cycle 2, from cycle 1.
    page.goto(results_1)
    page.fill("#cycles input[name=as_of]", "2026-04-15")
    page.get_by_role("button", name="Start the next cycle from this one").click()
    expect(page.locator(".flash")).to_contain_text("Next cycle started")
    expect(page.locator("article#req-DDM-VC-01 [data-carried]")).to_be_visible()
    answer(page, expect, "DDM-VC-01", "Yes")
    answer(page, expect, "DDM-VC-02", "No")
    page.get_by_role("button", name=re.compile(r"Confirm the \d+ carried-over answer")).click()
    expect(page.locator(".flash")).to_contain_text("confirmed")
    expect(page.locator("[data-carried]")).to_have_count(0)

    page.get_by_role("link", name="Results").first.click()
    results_2 = page.url.split("#")[0]
    page.get_by_role("link", name="compare with it").click()
    expect(page.locator('tr[data-requirement="DDM-VC-01"]')).to_have_attribute("data-kind", "improved")
    expect(page.locator('tr[data-requirement="DDM-VC-02"]')).to_have_attribute("data-kind", "regressed")
    expect(page.locator('[data-count="improved"]')).to_have_text("1")
    expect(page.locator('[data-count="regressed"]')).to_have_text("1")

    page.get_by_role("link", name="Trend").click()
    expect(page.locator(".trend-chart svg")).to_be_visible()
    expect(page.locator("[data-trend-score]")).to_have_count(2)
    expect(page.locator("table.trend")).to_contain_text("2026-01-15")
    expect(page.locator("table.trend")).to_contain_text("2026-04-15")

    page.goto(results_2)
    submit(page, expect)
    approve_as_lead(page, expect, results_2)
    page.goto(results_2.replace("/results", "/backlog"))
    achieved = page.locator('li.backlog-item[data-requirement="DDM-VC-01"]')
    expect(achieved.locator("[data-achieved]")).to_contain_text("2026-04-15")
    reopened = page.locator('li.backlog-item[data-requirement="DDM-VC-03"]')
    expect(reopened.locator("[data-reopened]")).to_be_visible()
    reopened.locator("details.history summary").click()
    expect(reopened.locator("details.history")).to_contain_text("Review bot added")
