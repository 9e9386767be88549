"""The second factor in a browser, at a phone's width and a laptop's: a new person sets it up from
the account page with a code computed by pyotp, keeps the recovery codes, signs in with password and
code, and an admin resets it from the Users page."""

from __future__ import annotations

import time

import pyotp
import pytest

from .conftest import sign_in, sign_out

pytestmark = pytest.mark.slow  # a browser

PASSWORD = "a second factor"


def _sign_out(page, width: int) -> None:
    if width < 800:  # the header's menu is folded on a phone
        page.locator("details.menu > summary").click()
    sign_out(page)


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


@pytest.mark.parametrize("width", [390, 1280])
def test_set_up_a_second_factor_and_sign_in_with_its_code(page, expect, width):
    page.set_viewport_size({"width": width, "height": 844})
    username = f"totp{width}"
    # an admin adds the person (the demo users are shared by every browser test: they stay as they are)
    sign_in(page, "admin")
    page.goto("/users")
    page.locator("#user-username").fill(username)
    page.locator("#user-role").select_option("member")
    page.locator("#user-password").fill(PASSWORD)
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_text(f"Added {username}")).to_be_visible()
    _sign_out(page, width)

    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    if width < 800:
        page.locator("details.menu > summary").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    page.get_by_role("button", name="Set up a second factor").click()
    secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
    expect(page.locator(f"a[href^='otpauth://totp/Assessment:{username}?secret={secret}']")).to_be_visible()
    _fits(page, width)
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Switch it on").click()
    expect(page.locator("#mfa-code-error")).to_contain_text("does not match")
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Switch it on").click()
    expect(page.get_by_role("heading", name="Your second factor is on")).to_be_visible()
    assert page.locator("ul.recovery-codes li").count() == 10
    _fits(page, width)
    page.get_by_role("link", name="I have kept them").click()
    expect(page.get_by_text("10 unused recovery codes")).to_be_visible()
    assert secret not in page.content()
    _sign_out(page, width)

    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your code")).to_be_visible()
    _fits(page, width)
    next_code = totp.at(time.time() + 30)  # the set-up spent this step's code
    page.get_by_label("Code").fill("000000" if next_code != "000000" else "111111")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#mfa-code-error")).to_contain_text("wrong or was used already")
    _fits(page, width)
    page.get_by_label("Code").fill(next_code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.get_by_role("heading", name="Waiting for you")).to_be_visible()  # signed in, at home
    _sign_out(page, width)

    sign_in(page, "admin")
    page.goto("/users")
    row = page.locator("tr", has=page.locator("code", has_text=username))
    row.get_by_role("button", name="Reset second factor").click()
    expect(page.get_by_text(f"{username}'s second factor is reset")).to_be_visible()
