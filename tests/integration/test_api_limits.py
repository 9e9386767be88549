"""/api/v1's rate limit per token (api/limits.py): over it a 429 problem with Retry-After, other tokens unaffected,
the count shared through Redis when REDIS_URL is set; and unknown paths and methods answer problems too."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assessment import create_app
from tests.integration.conftest import _config
from tests.integration.test_api import token_for


def _another(app, **changes):
    """Another application on the same database and instance folder, with some settings changed."""
    config = _config(Path(app.instance_path), app.config["SQLALCHEMY_DATABASE_URI"])
    return create_app({**config, "S3_PREFIX": app.config.get("S3_PREFIX"), **changes})


def test_a_token_over_its_limit_gets_a_429_problem_while_another_token_still_passes(app):
    limited = _another(app, API_RATE_LIMIT="3/minute")
    client = limited.test_client()
    alice, lead = token_for(app, "alice"), token_for(app, "lead")
    assert [client.get("/api/v1/scopes", headers=alice).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/api/v1/scopes", headers=alice)
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert refused.json["status"] == 429 and "try again" in refused.json["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get("/api/v1/frameworks", headers=alice).status_code == 429  # one count for every operation
    assert client.get("/api/v1/scopes", headers=lead).status_code == 200  # the limit is the token's, not the address's
    assert client.get("/api/v1/scopes").status_code == 401  # no token: refused before anything is counted


def test_the_limit_is_configurable_and_can_be_switched_off(app):
    alice = token_for(app, "alice")
    unlimited = _another(app, API_RATE_LIMIT="off").test_client()
    assert {unlimited.get("/api/v1/scopes", headers=alice).status_code for _ in range(5)} == {200}
    assert app.config["API_RATE_LIMIT"] == "600/minute"  # the default
    with pytest.raises(ValueError, match="API_RATE_LIMIT 'often'"):
        _another(app, API_RATE_LIMIT="often")


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis server (REDIS_URL, bin/with-stack)")
def test_with_redis_every_process_shares_one_count_per_token(app):
    settings = {
        "API_RATE_LIMIT": "2/minute",
        "REDIS_URL": os.environ["REDIS_URL"],
        "JOBS_QUEUE_NAME": f"limits-{os.getpid()}",
    }
    first, second = _another(app, **settings).test_client(), _another(app, **settings).test_client()
    alice = token_for(app, "alice")
    assert first.get("/api/v1/scopes", headers=alice).status_code == 200
    assert second.get("/api/v1/scopes", headers=alice).status_code == 200
    assert first.get("/api/v1/scopes", headers=alice).status_code == 429
    assert second.get("/api/v1/scopes", headers=alice).status_code == 429


def test_an_unknown_api_path_or_method_answers_a_problem_not_a_web_page(app, anonymous, client):
    alice = token_for(app, "alice")
    for who, headers in ((anonymous, {}), (anonymous, alice), (client, {})):  # no token, a token, a web session
        for path in (
            "/api/v1/nothing-here",
            "/api/v1/scopes/1/nothing",
            "/api/v1/scopes/99999999999999999999",
            "/api/v1",
        ):
            missing = who.get(path, headers=headers)
            assert missing.status_code == 404 and missing.mimetype == "application/problem+json", (path, missing.data)
            assert missing.json["status"] == 404 and "openapi.json" in missing.json["detail"]
        # an id above the largest is no scope's, whatever the method (werkzeug alone would say 405 to a POST)
        huge = who.post("/api/v1/scopes/9921437955146990879768576/assessments", headers=headers, json={})
        assert huge.status_code == 404 and huge.mimetype == "application/problem+json", huge.data
        wrong = who.delete("/api/v1/scopes", headers=headers)
        assert wrong.status_code == 405 and wrong.mimetype == "application/problem+json"
        assert "GET" in wrong.headers["Allow"] and "DELETE" in wrong.json["detail"]
    page = client.get("/no-such-page")  # the web keeps its HTML error page
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert client.post("/").status_code == 405 and client.post("/").mimetype == "text/html"
