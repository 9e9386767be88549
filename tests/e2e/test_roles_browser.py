"""Each role's main path in a real browser, on one assessment: the program lead sets up a scope
for the team; the team member answers and submits; the lead approves and shares it with the
auditor; the auditor downloads the evidence bundle and records a finding."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from tests.e2e.conftest import sign_in, sign_out

pytestmark = pytest.mark.slow  # a real browser

FRAMEWORK = "SOX IT general controls"


def test_team_submits_lead_approves_auditor_reviews(page, expect):
    # The program lead creates the scope, puts the team member on it and starts the assessment.
    sign_in(page, "lead")
    page.get_by_label("Name").fill("Ledger team")
    page.get_by_role("button", name="Add scope").click()
    expect(page.get_by_role("heading", name="Ledger team", level=1)).to_be_visible()
    page.select_option("#team select[name=username]", value="team")
    page.get_by_role("button", name="Add to the team").click()
    expect(page.locator("#team")).to_contain_text("Tam Team (team)")
    option = page.locator("select[name=framework_version] option", has_text=FRAMEWORK)
    page.select_option("select[name=framework_version]", value=option.get_attribute("value"))
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access to programs and data")
    questionnaire = page.url
    # A program lead reads but does not answer.
    expect(page.locator("p.notice")).to_contain_text("only its team changes the answers")
    sign_out(page)

    # The team member answers with evidence and submits.
    sign_in(page, "team")
    page.goto(questionnaire)
    first = page.locator("article.requirement").first
    rid = first.get_attribute("data-requirement")
    first.get_by_label("Designed and operating effectively", exact=False).check()
    expect(first.locator("[data-save-state]")).to_have_text("Saved")
    first.get_by_role("button", name="Add or reuse evidence").click()
    page.get_by_label("File").set_input_files(
        files=[{"name": "access-review.txt", "mimeType": "text/plain", "buffer": b"Q3 access review, signed.\n"}]
    )
    page.get_by_label("Title").fill("Q3 access review")
    page.get_by_role("button", name="Add evidence").click()
    expect(page.locator(f"article#req-{rid}")).to_contain_text("Q3 access review")
    page.get_by_role("link", name="Results").first.click()
    page.get_by_role("button", name="Submit for review").click()
    # most questions are unanswered: the team confirms it means to submit anyway
    expect(page.get_by_role("heading", level=1)).to_contain_text("questions unanswered")
    page.get_by_role("button", name="Submit for review anyway").click()
    expect(page.locator(".flash")).to_contain_text("Submitted for review")
    results = page.url.split("#")[0]
    page.goto(questionnaire)
    expect(page.locator("p.notice")).to_contain_text("submitted for review")
    sign_out(page)

    # The program lead approves and shares with the auditor.
    sign_in(page, "lead")
    page.goto(results)
    page.get_by_role("button", name="Approve and lock").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approve and lock this assessment?")
    page.get_by_role("button", name="Approve and lock").click()
    expect(page.locator(".flash")).to_contain_text("Approved")
    expect(page.locator("#review")).to_contain_text("Approved by lead")
    page.select_option("#review select[name=username]", value="auditor")
    page.get_by_role("button", name="Share").click()
    expect(page.locator("#review")).to_contain_text("Aud Auditor (auditor)")
    sign_out(page)

    # The auditor finds it shared, downloads the bundle and records a finding.
    sign_in(page, "auditor")
    expect(page.get_by_role("heading", name="Shared with you", exact=True)).to_be_visible()
    # it waits for them on the home page until they record a review
    page.locator("section[data-inbox=shared]").get_by_role("link", name=re.compile(FRAMEWORK)).click()
    page.get_by_role("button", name="Evidence bundle (zip)").click()
    link = page.get_by_role("link", name=re.compile("Download"))
    expect(link).to_be_visible(timeout=60_000)
    with page.expect_download() as download_info:
        link.click()
    with zipfile.ZipFile(io.BytesIO(download_info.value.path().read_bytes())) as bundle:
        names = bundle.namelist()
    assert "manifest.json" in names and any(n.endswith("-access-review.txt") for n in names)
    page.goto(results)
    form = page.locator("form.record-finding")
    form.get_by_label("Requirement").select_option(rid)
    form.get_by_label("Finding", exact=True).check()
    form.get_by_label("Severity").select_option("minor")
    form.get_by_label("Comment").fill("The review sheet lacks the approver's date.")
    form.get_by_role("button", name="Record review").click()
    expect(page.locator("table.findings")).to_contain_text("Finding (minor)")
    expect(page.locator("table.findings")).to_contain_text("lacks the approver's date")
    # The auditor can never change an answer: the questionnaire is read-only for them.
    page.goto(questionnaire)
    expect(page.locator("p.notice")).to_contain_text("approved and locked")
    expect(page.locator("article.requirement").first.locator("input[type=radio]").first).to_be_disabled()
