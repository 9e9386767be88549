"""Input the application must refuse cleanly: ids beyond the database's integers, forged origins,
uploads that are not what they claim. Each gets a 4xx page, and nothing changes."""

from __future__ import annotations

import re

import pytest

HUGE = (2**63, 10**30)


@pytest.mark.parametrize("number", HUGE)
def test_every_get_route_with_an_id_gives_404_for_a_huge_id(app, client, devops, number):
    assessment, scope = devops
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and "<int" in r.rule]
    assert len(rules) >= 14
    for rule in rules:
        url = re.sub(r"<int:\w+>", str(number), rule.rule)
        url = re.sub(r"<(?:path:)?\w+>", "x", url)
        response = client.get(url)
        assert response.status_code == 404, (rule.rule, response.status_code)


@pytest.mark.parametrize("number", HUGE)
def test_ids_in_query_strings_and_forms_give_404_for_a_huge_id(app, client, devops, number):
    assessment, scope = devops
    for url in (
        f"/audit?assessment={number}",
        f"/audit?scope={number}",
        f"/dashboard?scope={number}",
        f"/library/devops-delivery?version={number}",
        f"/assessments/{assessment}/compare?other={number}",
    ):
        response = client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        assert "does not exist" in response.get_data(as_text=True)
    for url, data in (
        (f"/scopes/{scope}/assessments", {"framework_version": str(number), "as_of": "2026-11-21"}),
        (f"/assessments/{assessment}/next-cycle", {"framework_version": str(number)}),
        (f"/assessments/{assessment}/requirements/CI-01/evidence/reuse", {"evidence": f"#{number} Title"}),
    ):
        response = client.post(url, data=data)
        assert response.status_code == 404, (url, response.status_code)


@pytest.mark.parametrize("digits", (str(2**63), str(10**30), "9" * 5000))
def test_huge_numbers_elsewhere_in_forms_give_a_4xx(app, client, devops, digits):
    assessment, _ = devops
    response = client.get(f"/audit?page={digits}")
    assert response.status_code in (200, 400), response.status_code  # a page past the end shows the last one
    response = client.post(
        f"/assessments/{assessment}/answers/CI-01",
        data={"value": "yes", "revision": digits},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 400
    assert "too large" in response.get_json()["error"]
    response = client.get(f"/audit?assessment={digits}")
    assert response.status_code == 404
