"""Answer once, satisfy many, in a browser without JavaScript: a member answers a SOX requirement, opens
the scope's HIPAA assessment, sees the answer suggested through the shared practice tag, and accepts it."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in, sign_out, team_with_assessments

pytestmark = pytest.mark.slow  # a real browser


def test_a_member_accepts_an_answer_suggested_from_another_assessment(browser, live_server, expect):
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, "admin")
        sox, hipaa = team_with_assessments(
            page, expect, "Mapped team", ("SOX IT general controls", "HIPAA Security Rule")
        )
        sign_out(page)

        sign_in(page, "team")
        page.goto(sox)
        requirement = page.locator("article#req-SOX-AC-01")
        requirement.get_by_label("Designed and operating effectively", exact=False).check()
        requirement.get_by_label("Note").fill("Every grant goes through the access workflow.")
        page.get_by_role("button", name="Save", exact=True).click()

        page.goto(hipaa)
        target = page.locator("article#req-HIPAA-AS-06")
        suggestion = target.locator("[data-suggestion]")
        expect(suggestion).to_contain_text("Suggested by SOX IT general controls SOX-AC-01 (intersect)")
        expect(suggestion).to_contain_text("Implemented as specified")
        expect(target.locator("[data-status]")).to_have_text("Unanswered")
        suggestion.get_by_role("button", name="Accept").click()

        target = page.locator("article#req-HIPAA-AS-06")
        expect(target.get_by_label("Implemented as specified", exact=False)).to_be_checked()
        expect(target.get_by_label("Note")).to_have_value(
            "From SOX IT general controls SOX-AC-01 (intersect): Every grant goes through the access workflow."
        )
        expect(target.locator("[data-suggestion]")).to_have_count(0)
    finally:
        context.close()
