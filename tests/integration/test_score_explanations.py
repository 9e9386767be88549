"""Scores explain themselves on the results page: a provisional mark while the assessment may still
change, the reason for each level in words (vacuous levels said so), and why a claim earns nothing."""

from __future__ import annotations

import html as htmllib
import re

from tests.integration.helpers import autosave
from tests.integration.test_evidence import upload


def _page(client, assessment: int) -> str:
    return htmllib.unescape(client.get(f"/assessments/{assessment}/results").get_data(as_text=True))


def _reason(page: str, key: str) -> str:
    return re.search(rf'data-level-reason="{key}">([^<]*)<', page).group(1)


def test_vacuous_levels_are_explained(client, devops):
    assessment, _ = devops
    page = _page(client, assessment)
    # OPS holds only level-3 requirements: at 0.0 it still shows level 2, and says why
    assert _reason(page, "OPS") == "L2 reached because no requirement at L1–L2 applies. L3 missed: 0 of 2 met."
    assert _reason(page, "CI") == "L1 reached because no requirement at L1 applies. L2 missed: 0 of 2 met."
    overall = re.search(r"data-level-reason>([^<]*)<", page).group(1)
    assert overall == "L1 reached because no requirement at L1 applies. L2 missed: 0 of 3 met."
    for rid, value in (("CI-02", "all"), ("DEP-01", "yes"), ("CI-03", "yes")):
        assert autosave(client, assessment, rid, value).status_code == 200
    assert autosave(client, assessment, "CI-01", "na").status_code == 200
    page = _page(client, assessment)
    assert _reason(page, "CI") == "L4 reached: all 2 applicable requirements at L1–L4 met."


def test_a_claim_without_current_evidence_says_why_it_is_not_met(client, devops):
    assessment, _ = devops
    assert autosave(client, assessment, "CI-01", "yes").status_code == 200
    page = _page(client, assessment)
    assert re.search(r'data-claim-reason="CI-01">Yes, but no evidence attached: evidence required.<', page)
    response = upload(client, assessment, "CI-01", b"old\n", "old.txt", title="Old", expires="2026-10-01")
    assert response.status_code == 302
    page = _page(client, assessment)
    assert re.search(r'data-claim-reason="CI-01">Yes, but no current evidence: evidence expired on 2026-10-01.<', page)
    upload(client, assessment, "CI-01", b"new\n", "new.txt", title="New")
    assert 'data-claim-reason="CI-01"' not in _page(client, assessment)


def test_a_draft_or_returned_score_is_provisional_an_approved_one_is_not(client, as_user, devops):
    assessment, _ = devops
    page = _page(client, assessment)
    assert "data-provisional" in page and '<span class="provisional">provisional</span>' in page
    assert client.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    assert "data-provisional" not in _page(client, assessment)
    assert client.post(f"/assessments/{assessment}/return", data={"confirm": "1", "comment": "More"}).status_code == 302
    assert "The assessment was returned for changes: its score and level can still change" in _page(client, assessment)
    assert client.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    lead = as_user("lead")  # not its submitter
    assert lead.post(f"/assessments/{assessment}/approve", data={"confirm": "1"}).status_code == 302
    assert "provisional" not in _page(client, assessment).lower()


def test_the_dashboard_marks_a_drafts_score_provisional(client, as_user, devops):
    assessment, _ = devops
    board = client.get("/dashboard?framework=devops-delivery").get_data(as_text=True)
    assert '<span class="provisional" data-provisional>provisional</span>' in board
    assert client.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    assert "data-provisional" not in client.get("/dashboard?framework=devops-delivery").get_data(as_text=True)


def test_the_questionnaire_and_its_autosave_say_why_a_claim_is_not_met(client, devops):
    assessment, _ = devops
    response = autosave(client, assessment, "CI-01", "yes")
    assert response.get_json()["unsupported_reason"] == "Yes, but no evidence attached: evidence required."
    page = htmllib.unescape(client.get(f"/assessments/{assessment}/domains/0").get_data(as_text=True))
    assert re.search(r"<span class=\"claim-reason\" data-claim-reason >Yes, but no evidence attached", page)
    response = autosave(client, assessment, "CI-01", "no", revision=response.get_json()["revision"])
    assert response.get_json()["unsupported_reason"] is None
    page = client.get(f"/assessments/{assessment}/domains/0").get_data(as_text=True)
    assert re.search(r"data-claim-reason hidden></span>", page)
