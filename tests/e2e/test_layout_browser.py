"""The layout at a phone's and a laptop's width: the header's menu without JavaScript, the skip
link and visible focus, charts whose text stays readable, and a dashboard heatmap that names its
domains, shows them all at 1280 px and spans every framework."""

from __future__ import annotations

import pytest

from tests.e2e import a11y
from tests.e2e.a11y import open_as
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.slow  # a real browser

demo_server, role_states = a11y.demo_server, a11y.role_states  # the fixtures


def test_the_menu_opens_without_javascript_on_a_phone_and_sign_out_is_in_it(browser, demo_server, role_states):
    base, _ = demo_server  # a session of its own: signing out ends it
    context = browser.new_context(base_url=base, viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, "lead")
    dashboard = page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard")
    assert not dashboard.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_text("Menu", exact=True).click()
    assert dashboard.is_visible()
    sign_out = page.get_by_role("button", name="Sign out", exact=True)
    box = sign_out.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    sign_out.click()
    page.wait_for_url(lambda url: "/login" in url)
    context.close()


def test_on_a_laptop_the_navigation_is_open_and_the_menu_button_hidden(browser, demo_server, role_states):
    context = open_as(browser, demo_server, role_states, "admin", 1280)
    page = context.new_page()
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Home", "Framework library", "Dashboard", "Audit trail", "Users"):
        assert nav.get_by_role("link", name=name).is_visible()
    assert not page.get_by_text("Menu", exact=True).is_visible()
    assert page.get_by_role("button", name="Sign out", exact=True).is_visible()
    top = page.locator("header.top").bounding_box()
    assert top is not None and top["height"] < 80  # one line
    context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_skip_link_comes_first_and_focus_is_visible(browser, demo_server, role_states, width):
    _, ids = demo_server
    context = open_as(browser, demo_server, role_states, "team", width)
    page = context.new_page()
    page.goto(f"/assessments/{ids.assessment}/domains/0")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => { const el = document.activeElement, s = getComputedStyle(el), r = el.getBoundingClientRect();
                   return {text: el.textContent.trim(), style: s.outlineStyle, width: parseFloat(s.outlineWidth),
                           colour: s.outlineColor, top: r.top, left: r.left}; }"""
    )
    assert focused["text"] == "Skip to content"
    assert focused["style"] != "none" and focused["width"] >= 2  # a visible ring, not the browser's default
    assert focused["top"] >= 0 and focused["left"] >= 0  # on screen while focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    page.keyboard.press("Tab")  # the first control of the content, not the header's
    assert page.evaluate("!document.querySelector('header.top').contains(document.activeElement)")
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert ring != "none"
    context.close()


def text_heights(page, selector: str) -> list[float]:
    """The rendered height in px of each <text> of the first SVG matching `selector`."""
    return page.evaluate(
        "(sel) => [...document.querySelector(sel).querySelectorAll('text')].map(t => t.getBoundingClientRect().height)",
        selector,
    )


@pytest.mark.parametrize(
    ("name", "path", "selector"),
    [
        ("domain chart", "/assessments/{ids.assessment}/results", "section.chart svg"),
        ("scope trend", "/scopes/{ids.scope}/trends?framework={ids.framework}", ".trend-chart svg"),
        ("framework trend", "/library/{ids.framework}/trends", ".trend-chart svg"),
    ],
)
def test_chart_text_stays_readable_on_a_phone(browser, demo_server, role_states, name, path, selector):
    _, ids = demo_server
    context = open_as(browser, demo_server, role_states, "lead", 360)
    page = context.new_page()
    page.goto(path.format(ids=ids))
    heights = sorted(h for h in text_heights(page, selector) if h > 0)
    assert heights, f"the {name} has no text"
    median = heights[len(heights) // 2]
    assert median >= 9, f"the {name}'s text is {median:.1f} px high"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # the chart scrolls inside its card
    context.close()


def test_scope_trends_fit_a_laptop(browser, demo_server, role_states):
    _, ids = demo_server
    context = open_as(browser, demo_server, role_states, "lead", 1280)
    page = context.new_page()
    page.goto(f"/scopes/{ids.scope}/trends?framework={ids.framework}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    context.close()


def test_heatmap_names_every_domain_and_shows_them_all_at_1280(browser, demo_server, role_states):
    context = open_as(browser, demo_server, role_states, "lead", 1280)
    page = context.new_page()
    page.goto("/dashboard?framework=devops-delivery-maturity")
    heads = page.locator("table.heatmap thead th.domain")
    titles = heads.evaluate_all("hs => hs.map(h => h.title)")
    assert len(titles) == 9 and titles[0] == "Version control and integration"
    shown = heads.evaluate_all("hs => hs.map(h => h.innerText.trim())")
    assert not any(text.startswith("DDM-") for text in shown)
    names = heads.evaluate_all("hs => hs.map(h => h.querySelector('.visually-hidden')?.textContent ?? h.textContent)")
    assert names == titles  # a screen reader hears the whole title
    fits = page.evaluate(
        "(() => { const w = document.querySelector('.heatmap-wrap'); return w.scrollWidth <= w.clientWidth; })()"
    )
    assert fits, "the heatmap scrolls at 1280 px: some domains are out of sight"
    context.close()


def test_dashboard_shows_every_framework(browser, demo_server, role_states):
    _, ids = demo_server
    context = open_as(browser, demo_server, role_states, "admin", 390)
    page = context.new_page()
    page.goto("/dashboard")
    page.get_by_label("Framework").select_option(label="All frameworks")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**framework=all**")  # a click only starts the navigation: read the new page
    boards = page.locator("[data-board]").evaluate_all("bs => bs.map(b => b.dataset.board)")
    assert boards[:2] == [ids.framework, ids.other_framework] or set(boards) == {ids.framework, ids.other_framework}
    assert page.locator("table.heatmap").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("link", name="in detail").first.click()
    page.wait_for_url(lambda url: "framework=all" not in url)
    assert page.locator("[data-board]").count() == 0 and page.locator("table.heatmap").count() == 1
    context.close()


def test_on_a_phone_ids_and_menus_in_tables_keep_their_words(browser, demo_server, role_states):
    """A squeezed table cell had broken the library's framework ids one letter a line and shrunk the Users
    page's role menus to their arrow; the tables scroll inside themselves instead."""
    context = open_as(browser, demo_server, role_states, "admin", 390)
    page = context.new_page()
    page.goto("/library")
    ids = page.locator("table.listing td code")
    assert ids.count() > 0
    for n in range(ids.count()):
        box = ids.nth(n).bounding_box()
        assert box is not None and box["height"] < 30, (ids.nth(n).inner_text(), box)  # one line
    page.goto("/users")
    menus = page.locator("table.listing select")
    assert menus.count() > 0
    for n in range(menus.count()):
        assert menus.nth(n).bounding_box()["width"] >= 100
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
