"""Each role's main pages at a phone's and a laptop's width: axe-core finds no violation of
serious or critical impact, and the page never scrolls sideways (the page list: tests/e2e/a11y.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e import a11y
from tests.e2e.a11y import AXE, WIDTHS, axe_source, axe_violations, cases, describe, open_as, overflow, too_wide

demo_server, role_states = a11y.demo_server, a11y.role_states  # the fixtures

pytestmark = pytest.mark.slow  # a real browser


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("role", "target"), cases())
def test_page_is_accessible_and_fits(browser, demo_server, role_states, role, target, width):
    _, ids = demo_server
    context = open_as(browser, demo_server, role_states, role, width)
    try:
        page = context.new_page()
        response = page.goto(target.url(ids))
        assert response is not None and response.status == 200, f"{target.url(ids)} answered {response.status}"
        if os.environ.get("SCREENS"):
            folder = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{role}-{target.name}-{width}.png"), full_page=True)
        document, viewport = overflow(page)
        problems = []
        if document > viewport:
            wide = ", ".join(too_wide(page))
            problems.append(f"{target.name} is {document} px wide in a {viewport} px window; too wide: {wide}")
        assert not problems or AXE.exists(), problems[0]  # the width is checked even without axe-core
        violations = axe_violations(page, axe_source())
        assert not (problems or violations), "\n".join(problems + [describe(violations)])
    finally:
        context.close()
