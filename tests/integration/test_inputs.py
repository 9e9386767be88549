"""Input the application must refuse cleanly: ids beyond the database's integers, forged origins,
uploads that are not what they claim. Each gets a 4xx page, and nothing changes."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from tests.integration.helpers import example_version, make_scope
from tests.integration.test_transfer import ANSWERS, assert_refused, post_zip

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


# -- imports ------------------------------------------------------------------------------------


def test_import_of_a_5000_digit_number_is_refused_with_its_line(app, client):
    example_version(app)
    scope = make_scope(client)
    huge = ANSWERS.replace(b"DEP-02: 36", b"DEP-02: " + b"9" * 5000)
    number = huge.split(b"\n").index(b"  DEP-02: " + b"9" * 5000) + 1
    response = post_zip(client, scope, {"answers.yaml": huge})
    assert_refused(app, response, f"answers.yaml:{number}: answers.DEP-02: expected a finite number of reasonable size")


def _zip_with_a_bad_crc() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("answers.yaml", ANSWERS)
        archive.writestr("evidence/pipeline.yml", b"stages: [build, test, deploy]\n")
    data = bytearray(buffer.getvalue())
    at = data.index(b"stages: [build")
    data[at] ^= 0x01  # one changed byte: the entry's CRC-32 no longer matches
    return bytes(data)


def test_import_of_a_zip_with_a_bad_crc_is_refused(app, client):
    example_version(app)
    scope = make_scope(client)
    response = client.post(
        f"/scopes/{scope}/import",
        data={"file": (io.BytesIO(_zip_with_a_bad_crc()), "x.zip")},
        content_type="multipart/form-data",
    )
    assert_refused(app, response, "evidence/pipeline.yml")
    assert "damaged" in response.get_data(as_text=True)
