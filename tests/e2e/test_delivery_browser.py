"""The delivery metrics pages in a real browser: at a phone's width the tables and charts scroll inside
their cards (never the page), axe-core finds nothing serious, and the as-of form works without JavaScript."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e import a11y
from tests.e2e.conftest import TIMEOUT_MS, migrated_app, served, sign_in
from tests.integration.test_delivery_pages import EXAMPLE, _weekly_lead_times

pytestmark = pytest.mark.slow  # a real browser


@pytest.fixture(scope="module")
def delivery_server(tmp_path_factory, _browser_requirements):
    """An instance with the demo accounts and one scope of the team's holding the spec's example events and
    thirteen weeks of a service whose lead time jumps (so the control chart has signals)."""
    from assessment.extensions import db
    from assessment.models import Scope
    from assessment.services import delivery
    from assessment.services.demo import load_demo_users

    app = migrated_app(tmp_path_factory.mktemp("delivery-instance"), "delivery")
    with app.app_context():
        scope = Scope(name="Delivery team", kind="team")
        db.session.add(scope)
        db.session.flush()
        load_demo_users(scope)
        delivery.add_file(scope, "checkout.events.jsonl", EXAMPLE.read_bytes(), source="upload", actor="admin")
        hours = [2, 2.5, 2, 3, 2, 2.5, 2, 3, 2, 2.5, 2, 3, 100]
        delivery.add_events(scope, _weekly_lead_times("a-service-with-a-long-name", dt.date(2026, 11, 30), hours),
                            source="api", actor="admin")  # fmt: skip
        db.session.commit()
        scope_id = scope.id
    with served(app, "delivery-server") as url:
        yield url, scope_id


PATHS = ("/scopes/{scope}/delivery?as_of=2026-11-30", "/scopes/{scope}/delivery/a-service-with-a-long-name?as_of=2026-11-30",
         "/scopes/{scope}/delivery/checkout?as_of=2026-11-30&days=30")  # fmt: skip


@pytest.mark.parametrize("width", a11y.WIDTHS)
@pytest.mark.parametrize("path", PATHS)
def test_the_pages_fit_the_screen_and_pass_axe(browser, delivery_server, width, path):
    base, scope_id = delivery_server
    source = a11y.axe_source()
    context = browser.new_context(base_url=base, viewport={"width": width, "height": 844 if width < 800 else 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, "team")
    page.goto(path.format(scope=scope_id))
    assert page.locator("table.listing").count() >= 1
    document, window = a11y.overflow(page)
    assert document <= window, a11y.too_wide(page)
    violations = a11y.axe_violations(page, source)
    assert violations == [], a11y.describe(violations)
    context.close()


def test_the_as_of_form_works_without_javascript(browser, delivery_server):
    base, scope_id = delivery_server
    context = browser.new_context(base_url=base, java_script_enabled=False, viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, "team")
    page.goto(f"/scopes/{scope_id}/delivery")
    page.get_by_label("As of").fill("2026-11-30")
    page.get_by_label("Days").fill("30")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(lambda url: "as_of=2026-11-30" in url)
    assert page.locator('tr[data-service="checkout"] [data-figure="lead_time"]').inner_text() == "5.0"
    page.get_by_role("link", name="checkout").click()
    page.wait_for_url(lambda url: "/delivery/checkout?as_of=2026-11-30&days=30" in url)  # the window carried over
    assert page.locator('tr[data-metric="change_failure_rate"] [data-figure]').inner_text() == "33.3"
    assert page.locator('tr[data-release="dep-1"] a').get_attribute("href").endswith("/releases/dep-1")
    context.close()
