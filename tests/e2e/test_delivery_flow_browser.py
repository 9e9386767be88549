"""Issue 17's loop in a real browser, as a team lead would walk it: upload the spec's example events,
see the four metrics and a control chart, start an assessment whose metric questions are measured,
open a release review, turn its "one change" into a backlog item, and check that item's hypothesis
by the numbers. Screenshots of each step go to test-artifacts/delivery-*.png."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.slow  # a real browser

EVENTS = EXAMPLES / "delivery" / "checkout.events.jsonl"
FRAMEWORK = "DevOps Delivery Maturity"
PHONE = {"width": 390, "height": 844}


def _shot(page, request, name: str) -> None:
    artifacts = Path(request.config.rootpath) / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / f"delivery-{name}.png"), full_page=True)


def test_upload_measure_review_and_check_an_improvement(page, expect, request):
    sign_in(page, "admin")
    page.get_by_label("Name").fill("Delivery loop team")
    page.get_by_role("button", name="Add scope").click()
    scope_url = page.url.split("#")[0]

    # 1. Upload the events: a job reads them, its page follows it, then the delivery data opens.
    page.get_by_role("link", name="Delivery data").click()
    expect(page.get_by_text("No delivery events yet")).to_be_visible()
    page.get_by_label("Events file (JSON Lines)").set_input_files(str(EVENTS))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url(re.compile(r"/scopes/\d+/delivery$"), timeout=30_000)
    expect(page.locator(".flash")).to_contain_text("checkout.events.jsonl: 19 events added.")

    # 2. The metrics of the spec's window (as of 2026-11-30, 30 days): exactly its expected figures.
    page.get_by_label("As of", exact=True).fill("2026-11-30")
    page.get_by_label("Days", exact=True).fill("30")
    page.get_by_role("button", name="Show").click()
    row = page.locator('tr[data-service="checkout"]')
    expect(row.locator('[data-metric="deployment_frequency"]')).to_contain_text("0.7")
    expect(row.locator('[data-metric="lead_time"]')).to_contain_text("5.0")
    expect(row.locator('[data-metric="change_failure_rate"]')).to_contain_text("33.3")
    expect(row.locator('[data-metric="time_to_restore"]')).to_contain_text("1.5")
    _shot(page, request, "overview")
    row.get_by_role("link", name="checkout").click()
    expect(page.locator("svg.control-chart").first).to_be_visible()
    assert page.locator("svg.control-chart").count() == 2 and page.locator("svg.weekly-chart").count() == 4
    _shot(page, request, "service")

    # 3. An assessment measured from the service: its metric questions say where their values came from.
    page.goto(scope_url)
    option = page.locator("select[name=framework_version] option", has_text=FRAMEWORK)
    page.select_option("select[name=framework_version]", value=option.get_attribute("value"))
    page.fill("input[name=as_of]", "2026-11-30")
    page.fill("input[name=period_start]", "2026-11-01")
    page.get_by_label("Delivery service").select_option("checkout")
    page.get_by_role("button", name="Start").click()
    page.get_by_role("link", name="Results").first.click()
    expect(page.get_by_text(re.compile("Lead time for changes measured from 3 changes")).first).to_be_visible()
    results_url = page.url
    page.goto(results_url.replace("/results", "/domains/0"))
    for index in range(12):  # the domain that holds the four key metrics' questions
        page.goto(results_url.replace("/results", f"/domains/{index}"))
        if page.locator("[data-measured]").count():
            break
    expect(page.locator("[data-measured]").first).to_contain_text("measured from")
    _shot(page, request, "questionnaire")

    # 4. The release review of dep-1, prefilled from its events; its one change becomes a backlog item.
    page.goto(scope_url.replace("#", "") + "/delivery/checkout?as_of=2026-11-30&days=30")
    page.get_by_role("link", name="dep-1").first.click()
    expect(page.locator('[data-fact="lead_time"]')).to_contain_text("25.5 h")
    page.get_by_label("What one change would make the next release faster or safer?").fill(
        "Approve changes in the pull request"
    )
    page.get_by_role("button", name="Add to the backlog").click()
    expect(page.locator(".flash")).to_contain_text("its one change is backlog item")
    _shot(page, request, "release")

    # 5. The item's hypothesis, checked by the numbers around the day its change went live.
    page.goto(results_url.replace("/results", "/backlog"))
    item = page.locator("li.backlog-item", has_text="Approve changes in the pull request")
    item.get_by_role("link", name=re.compile("^Edit")).click()
    item = page.locator("li.backlog-item", has_text="Approve changes in the pull request")
    item.get_by_label("Hypothesis").fill("lead time down 40 %")
    item.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("saved")
    item = page.locator("li.backlog-item", has_text="Approve changes in the pull request")
    item.get_by_role("link", name=re.compile("^Edit")).click()
    item = page.locator("li.backlog-item", has_text="Approve changes in the pull request")
    item.get_by_label("Went live on").fill("2026-11-10")
    item.get_by_label("Service").select_option("checkout")
    item.get_by_label("Days per window").fill("14")
    item.get_by_role("button", name="Check").click()
    expect(page.locator(".flash")).to_contain_text("checked:")
    item = page.locator("li.backlog-item", has_text="Approve changes in the pull request")
    item.locator("details.history summary").click()
    expect(item.locator("details.history")).to_contain_text("held")
    _shot(page, request, "checked")

    # The release review reads well on a phone too: its facts and checklist fit the width.
    page.set_viewport_size(PHONE)
    page.goto(scope_url + "/delivery/checkout/releases/dep-1")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(page, request, "release-phone")
