"""Single sign-on in Chromium: the sign-in page's button, the provider's own sign-in form (node-oidc-provider in
its own process, tests/support/oidc.py), and back on the home page, signed in with the role the groups give."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import TIMEOUT_MS, migrated_app, served
from tests.support.oidc import PEOPLE, running_provider

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory):
    """The application served on a free port, with single sign-on at a provider that knows its callback."""
    app = migrated_app(tmp_path_factory.mktemp("sso-instance"), "e2e")
    with served(app, "e2e-sso-server") as url:
        with running_provider(tmp_path_factory.mktemp("sso-provider"), [f"{url}/login/sso/callback"]) as provider:
            app.config.update(provider.settings())
            yield url


@pytest.fixture
def sso_page(browser, sso_server):
    context = browser.new_context(base_url=sso_server)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_signing_in_with_the_provider_lands_on_the_home_page_signed_in(sso_page, sso_server, expect):
    page = sso_page
    page.goto("/")  # asks to sign in first
    page.wait_for_url(lambda url: "/login" in url)
    page.get_by_role("link", name="Sign in with Test provider").click()
    page.wait_for_url(lambda url: not url.startswith(sso_server + "/"))  # at the provider's own form
    page.get_by_label("Provider user name").fill("carol")
    page.get_by_label("Provider password").fill(PEOPLE["carol"]["password"])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{sso_server}/")
    expect(page.locator(".who")).to_contain_text("Carol Danvers")
    expect(page.locator(".who")).to_contain_text("Admin")
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    # signing out here asks the provider to sign out too, and comes back to the sign-in page
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(lambda url: not url.startswith(sso_server + "/"))  # the provider's own question
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{sso_server}/login")
    expect(page.get_by_text("You are signed out. Test provider was asked to sign you out as well.")).to_be_visible()
    # and the provider asks who is there at the next sign-in, instead of signing Carol straight back in
    page.get_by_role("link", name="Sign in with Test provider").click()
    expect(page.get_by_label("Provider user name")).to_be_visible()


def test_a_person_of_no_mapped_group_sees_why_and_is_not_signed_in(sso_page, expect):
    page = sso_page
    page.goto("/login")
    page.get_by_role("link", name="Sign in with Test provider").click()
    page.get_by_label("Provider user name").fill("erin")
    page.get_by_label("Provider password").fill(PEOPLE["erin"]["password"])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("none of your groups there gives access to this application")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(0)
