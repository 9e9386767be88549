"""GitHub's and GitLab's webhook deliveries as delivery events (assessment/domain/delivery/webhooks.py).

The payloads in tests/data/webhooks are ours, written in the shapes the forges document and trimmed
to the fields read plus a few others; each gives the events below, and every event is one the
events format (delivery-events.md, section 1) accepts: checked key by key here, and read by the
engine's `read_events`.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment.domain.delivery import read_events
from assessment.domain.delivery.webhooks import (
    MAX_TEXT,
    Translation,
    WebhookError,
    github_events,
    gitlab_events,
    verify_github,
    verify_gitlab,
)

DATA = Path(__file__).parents[1] / "data" / "webhooks"
SECRET = b"It's a Secret to Everybody"


def payload(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def change(sha: str, service: str, time: str) -> dict:
    return {"type": "change", "id": sha, "service": service, "time": time}


GITHUB_CASES = [
    (
        "push",
        "github-push.json",
        Translation(
            events=(
                change("0a4b7c9e2d1f3a5b6c8d0e2f4a6b8c0d2e4f6a8b", "acme/checkout", "2026-11-30T09:12:45-05:00"),
                change("1d8c2f3b1e4a5d6c7b8a9f0e1d2c3b4a5f6e7d8c", "acme/checkout", "2026-11-30T15:40:02Z"),
            )
        ),
    ),
    (
        "deployment_status",
        "github-deployment-status-success.json",
        Translation(
            events=(
                {
                    "type": "deployment",
                    "id": "2400001",
                    "service": "acme/checkout",
                    "time": "2026-12-01T10:05:07Z",
                    "environment": "production",  # production_environment is true, though it is called "live"
                    "status": "success",
                },
            ),
            pending_changes=True,
        ),
    ),
    (
        "deployment_status",
        "github-deployment-status-failure.json",
        Translation(
            events=(
                {
                    "type": "deployment",
                    "id": "2400007",
                    "service": "acme/checkout",
                    "time": "2026-12-02T16:31:44+01:00",  # no updated_at: the status's created_at
                    "environment": "staging",
                    "status": "failure",
                },
            ),
        ),
    ),
    (
        "deployment_status",
        "github-deployment-status-pending.json",
        Translation(ignored="deployment_status 'in_progress' is not a finished deployment"),
    ),
    (
        "issues",
        "github-issue-incident-opened.json",
        Translation(
            events=(
                {
                    "type": "incident",
                    "id": "github:acme/checkout#42",
                    "service": "acme/checkout",
                    "started": "2026-12-01T11:20:00Z",
                },
            )
        ),
    ),
    (
        "issues",
        "github-issue-incident-closed.json",
        Translation(
            events=(
                {
                    "type": "incident",
                    "id": "github:acme/checkout#42",
                    "service": "acme/checkout",
                    "started": "2026-12-01T11:20:00Z",
                    "resolved": "2026-12-01T13:35:30Z",
                },
            )
        ),
    ),
    ("issues", "github-issue-not-incident.json", Translation(ignored="the issue is not labelled incident")),
    (
        "ping",
        "github-ping.json",
        Translation(ignored="ping: GitHub checks that the webhook answers; it carries no event"),
    ),
]

GITLAB_CASES = [
    (
        "Push Hook",
        "gitlab-push.json",
        Translation(
            events=(
                change("b3f0a1c2d3e4f5061728394a5b6c7d8e9f0a1b2c", "finance/ledger", "2026-11-29T18:03:11+01:00"),
                change("c4e1f2a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0d", "finance/ledger", "2026-11-30T08:45:00+01:00"),
            )
        ),
    ),
    (
        "Deployment Hook",
        "gitlab-deployment-success.json",
        Translation(
            events=(
                {
                    "type": "deployment",
                    "id": "5810",
                    "service": "finance/ledger",
                    "time": "2026-12-01T09:30:00+01:00",  # GitLab's "2026-12-01 09:30:00 +0100"
                    "environment": "production",  # its tier is production, though it is called "prd-eu"
                    "status": "success",
                },
            ),
            pending_changes=True,
        ),
    ),
    (
        "Deployment Hook",
        "gitlab-deployment-failed.json",
        Translation(
            events=(
                {
                    "type": "deployment",
                    "id": "5817",
                    "service": "finance/ledger",
                    "time": "2026-12-02T17:02:41Z",  # GitLab's "... UTC"
                    "environment": "review/close-month",
                    "status": "failure",
                },
            ),
        ),
    ),
    (
        "Deployment Hook",
        "gitlab-deployment-running.json",
        Translation(ignored="deployment status 'running' is not a finished deployment"),
    ),
    (
        "Issue Hook",
        "gitlab-incident-open.json",
        Translation(
            events=(
                {
                    "type": "incident",
                    "id": "gitlab:finance/ledger#7",
                    "service": "finance/ledger",
                    "started": "2026-12-01T21:15:43Z",
                },
            )
        ),
    ),
    (
        "Issue Hook",  # GitLab 17.2 on: an incident is a work item, its type "Incident"
        "gitlab-incident-closed.json",
        Translation(
            events=(
                {
                    "type": "incident",
                    "id": "gitlab:finance/ledger#7",
                    "service": "finance/ledger",
                    "started": "2026-12-01T21:15:43Z",
                    "resolved": "2026-12-02T01:45:43.250000Z",
                },
            )
        ),
    ),
    (
        "Issue Hook",
        "gitlab-issue-not-incident.json",
        Translation(ignored="the issue is not an incident (its type is 'Issue')"),
    ),
]


# --- each recorded delivery gives its events ------------------------------------------------------


@pytest.mark.parametrize(("event", "name", "expected"), GITHUB_CASES, ids=[case[1] for case in GITHUB_CASES])
def test_each_github_delivery_gives_its_events(event, name, expected):
    assert github_events(event, payload(name)) == expected


@pytest.mark.parametrize(("event", "name", "expected"), GITLAB_CASES, ids=[case[1] for case in GITLAB_CASES])
def test_each_gitlab_delivery_gives_its_events(event, name, expected):
    assert gitlab_events(event, payload(name)) == expected


def test_gitlab_is_read_by_its_object_kind_as_well_as_by_its_header():
    for _event, name, expected in GITLAB_CASES:
        body = payload(name)
        assert gitlab_events(body["object_kind"], body) == expected


def test_the_caller_may_name_the_service():
    pushed = github_events("push", payload("github-push.json"), service="checkout")
    assert {event["service"] for event in pushed.events} == {"checkout"}
    closed = gitlab_events("Issue Hook", payload("gitlab-incident-closed.json"), service="ledger")
    assert closed.events[0]["service"] == "ledger"
    assert closed.events[0]["id"] == "gitlab:finance/ledger#7"  # the issue's reference stays the forge's
    with pytest.raises(ValueError, match="service must be a non-empty text"):
        github_events("push", payload("github-push.json"), service="x" * (MAX_TEXT + 1))


# --- pushes that bring no change ------------------------------------------------------------------


def test_a_push_to_another_branch_than_the_default_is_ignored():
    body = payload("github-push.json") | {"ref": "refs/heads/feature/rounding"}
    assert github_events("push", body).ignored == (
        "the push is to 'refs/heads/feature/rounding', not the default branch 'main': only the trunk goes live"
    )
    body = payload("gitlab-push.json") | {"ref": "refs/heads/main"}
    assert gitlab_events("Push Hook", body).ignored.startswith(
        "the push is to 'refs/heads/main', not the default branch 'trunk'"
    )


def test_a_push_of_a_tag_is_ignored():
    body = payload("github-push.json") | {"ref": "refs/tags/v2.4.0"}
    assert github_events("push", body).ignored == "the push is to 'refs/tags/v2.4.0', not a branch"
    tag = payload("gitlab-push.json") | {"object_kind": "tag_push", "ref": "refs/tags/v2.4.0"}
    assert "tag push" in gitlab_events("Tag Push Hook", tag).ignored


def test_a_deleted_branch_is_ignored():
    body = payload("github-push.json") | {"deleted": True, "commits": [], "after": "0" * 40}
    assert (
        github_events("push", body).ignored == "the push deleted 'refs/heads/main': a deleted branch brings no change"
    )
    body = payload("gitlab-push.json") | {"after": "0" * 40, "checkout_sha": None, "commits": []}
    assert (
        gitlab_events("Push Hook", body).ignored
        == "the push deleted 'refs/heads/trunk': a deleted branch brings no change"
    )


def test_a_push_without_commits_is_ignored():
    assert (
        github_events("push", payload("github-push.json") | {"commits": []}).ignored
        == "the push to 'refs/heads/main' has no commits"
    )
    assert (
        gitlab_events("push", payload("gitlab-push.json") | {"commits": []}).ignored
        == "the push to 'refs/heads/trunk' has no commits"
    )


def test_the_first_push_to_an_empty_project_counts():
    """An empty GitLab project has no default branch yet; its first push makes one."""
    body = payload("gitlab-push.json")
    body["project"]["default_branch"] = None
    assert len(gitlab_events("Push Hook", body).events) == 2


def test_a_commit_named_twice_in_one_push_is_one_change():
    body = payload("github-push.json")
    body["commits"].append(dict(body["commits"][0]))
    assert [event["id"] for event in github_events("push", body).events] == [
        "0a4b7c9e2d1f3a5b6c8d0e2f4a6b8c0d2e4f6a8b",
        "1d8c2f3b1e4a5d6c7b8a9f0e1d2c3b4a5f6e7d8c",
    ]


# --- deployments and incidents --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["production", "prod", "Production", "PROD"])
def test_an_environment_named_production_or_prod_is_production(name):
    body = payload("github-deployment-status-failure.json")
    body["deployment"]["environment"] = name
    assert github_events("deployment_status", body).events[0]["environment"] == "production"
    body = payload("gitlab-deployment-failed.json") | {"environment": name}
    assert gitlab_events("Deployment Hook", body).events[0]["environment"] == "production"


@pytest.mark.parametrize("state", ["pending", "queued", "in_progress", "inactive"])
def test_an_unfinished_github_deployment_is_ignored(state):
    body = payload("github-deployment-status-success.json")
    body["deployment_status"]["state"] = state
    assert github_events("deployment_status", body) == Translation(
        ignored=f"deployment_status {state!r} is not a finished deployment"
    )


@pytest.mark.parametrize("status", ["created", "running", "canceled"])
def test_an_unfinished_gitlab_deployment_is_ignored(status):
    body = payload("gitlab-deployment-success.json") | {"status": status}
    assert (
        gitlab_events("Deployment Hook", body).ignored == f"deployment status {status!r} is not a finished deployment"
    )


def test_a_github_failure_and_an_error_are_both_a_failed_deployment():
    body = payload("github-deployment-status-success.json")
    for state in ("failure", "error"):
        body["deployment_status"]["state"] = state
        translated = github_events("deployment_status", body)
        assert translated.events[0]["status"] == "failure"
        assert not translated.pending_changes  # it took nothing live


@pytest.mark.parametrize("action", ["labeled", "reopened"])
def test_an_incident_labelled_or_reopened_is_an_open_incident(action):
    body = payload("github-issue-incident-opened.json") | {"action": action}
    assert github_events("issues", body).events[0].keys() == {"type", "id", "service", "started"}


@pytest.mark.parametrize("action", ["edited", "assigned", "unlabeled", "deleted"])
def test_other_issue_actions_are_ignored(action):
    body = payload("github-issue-incident-opened.json") | {"action": action}
    assert github_events("issues", body).ignored == (
        f"issues action {action!r} neither opens, labels, closes nor reopens an issue"
    )


def test_closing_an_issue_that_is_no_incident_is_ignored():
    body = payload("github-issue-not-incident.json") | {"action": "closed"}
    body["issue"] |= {"state": "closed", "closed_at": "2026-12-01T15:00:00Z"}
    assert github_events("issues", body).ignored == "the issue is not labelled incident"


def test_a_gitlab_incident_is_known_by_its_type_in_any_case():
    for key, value in (("issue_type", "INCIDENT"), ("type", "INCIDENT"), ("type", "incident")):
        body = payload("gitlab-issue-not-incident.json")
        del body["object_attributes"]["type"]
        body["object_attributes"][key] = value
        assert gitlab_events("Issue Hook", body).events[0]["id"] == "gitlab:finance/ledger#8"


# --- signatures -----------------------------------------------------------------------------------


def signed(body: bytes, secret: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def test_githubs_documented_example_signature_verifies():
    """The example of GitHub's "Validating webhook deliveries": this secret, "Hello, World!" and this digest."""
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert verify_github(SECRET, b"Hello, World!", header)
    assert verify_github(SECRET, b"Hello, World!", header.upper().replace("SHA256=", "sha256="))


def test_a_github_signature_verifies_only_the_body_it_signed_under_the_secret():
    body = (DATA / "github-push.json").read_bytes()
    assert verify_github(SECRET, body, signed(body))
    assert not verify_github(b"another secret", body, signed(body))
    assert not verify_github(SECRET, body.replace(b"acme/checkout", b"acme/checkouts"), signed(body))
    assert not verify_github(SECRET, body + b" ", signed(body))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        "sha256=" + "g" * 64,
        "sha256=" + "0" * 63,
        "sha256=" + "0" * 65,
        " sha256=" + "0" * 64,
        "sha256=" + "é" * 64,
        12345,
    ],
)
def test_a_missing_or_malformed_github_signature_fails(header):
    assert not verify_github(SECRET, b"{}", header)


def test_an_empty_github_secret_never_verifies_and_a_secret_that_is_not_bytes_is_a_mistake():
    assert not verify_github(b"", b"{}", signed(b"{}", b""))
    with pytest.raises(TypeError):
        verify_github(SECRET.decode(), b"{}", signed(b"{}"))
    with pytest.raises(TypeError):
        verify_github(SECRET, "{}", signed(b"{}"))


def test_a_gitlab_token_verifies_only_when_it_is_the_secret():
    assert verify_gitlab("hook-token-4d1f", "hook-token-4d1f")
    assert verify_gitlab("jetón-ñ", "jetón-ñ")
    for header in (None, "", "hook-token-4d1", "hook-token-4d1f ", "HOOK-TOKEN-4D1F", 7):
        assert not verify_gitlab("hook-token-4d1f", header)
    assert not verify_gitlab("", "")
    with pytest.raises(TypeError):
        verify_gitlab(b"hook-token-4d1f", "hook-token-4d1f")


# --- malformed payloads: a WebhookError naming the path, never a KeyError -------------------------


def broken(name: str, change) -> dict:
    body = payload(name)
    change(body)
    return body


MALFORMED = [
    (
        "github",
        "push",
        "github-push.json",
        lambda b: b.pop("repository"),
        "$.repository",
        "missing; expected an object",
    ),
    (
        "github",
        "push",
        "github-push.json",
        lambda b: b["repository"].update(full_name=7),
        "$.repository.full_name",
        "is a number",
    ),
    (
        "github",
        "push",
        "github-push.json",
        lambda b: b["repository"].update(full_name="a" * 201),
        "$.repository.full_name",
        "at most 200",
    ),
    ("github", "push", "github-push.json", lambda b: b.update(commits={}), "$.commits", "expected a list"),
    (
        "github",
        "push",
        "github-push.json",
        lambda b: b["commits"].__setitem__(1, "x"),
        "$.commits[1]",
        "expected an object",
    ),
    (
        "github",
        "push",
        "github-push.json",
        lambda b: b["commits"][1].update(id=1234),
        "$.commits[1].id",
        "expected a non-empty text",
    ),
    ("github", "push", "github-push.json", lambda b: b["commits"][0].update(id=""), "$.commits[0].id", "is ''"),
    (
        "github",
        "push",
        "github-push.json",
        lambda b: b["commits"][0].update(id="f" * 201),
        "$.commits[0].id",
        "at most 200",
    ),
    (
        "github",
        "push",
        "github-push.json",
        lambda b: b["commits"][0].pop("timestamp"),
        "$.commits[0].timestamp",
        "is missing",
    ),
    (
        "github",
        "push",
        "github-push.json",
        lambda b: b["commits"][0].update(timestamp="2026-11-30T09:12:45"),
        "$.commits[0].timestamp",
        "expected a time with its offset",
    ),
    (
        "github",
        "push",
        "github-push.json",
        lambda b: b["commits"][0].update(timestamp="2026-02-30T09:12:45Z"),
        "$.commits[0].timestamp",
        "no date and time",
    ),
    (
        "github",
        "push",
        "github-push.json",
        lambda b: b["commits"][0].update(timestamp="yesterday"),
        "$.commits[0].timestamp",
        "expected a time",
    ),
    ("github", "push", "github-push.json", lambda b: b.update(commits=[{}] * 2049), "$.commits", "at most 2048"),
    ("github", "push", "github-push.json", lambda b: b.update(deleted="no"), "$.deleted", "expected true or false"),
    ("github", "push", "github-push.json", lambda b: b.pop("ref"), "$.ref", "is missing"),
    (
        "github",
        "deployment_status",
        "github-deployment-status-success.json",
        lambda b: b.pop("deployment"),
        "$.deployment",
        "missing",
    ),
    (
        "github",
        "deployment_status",
        "github-deployment-status-success.json",
        lambda b: b["deployment"].update(id="2400001"),
        "$.deployment.id",
        "expected a whole number",
    ),
    (
        "github",
        "deployment_status",
        "github-deployment-status-success.json",
        lambda b: b["deployment"].update(id=True),
        "$.deployment.id",
        "is a boolean",
    ),
    (
        "github",
        "deployment_status",
        "github-deployment-status-success.json",
        lambda b: b["deployment_status"].update(state="done"),
        "$.deployment_status.state",
        "not one of 'success'",
    ),
    (
        "github",
        "deployment_status",
        "github-deployment-status-success.json",
        lambda b: b["deployment_status"].update(updated_at=None, created_at=None),
        "$.deployment_status.created_at",
        "expected a non-empty text",
    ),
    (
        "github",
        "deployment_status",
        "github-deployment-status-success.json",
        lambda b: b["deployment"].update(production_environment="yes"),
        "$.deployment.production_environment",
        "true or false",
    ),
    (
        "github",
        "deployment_status",
        "github-deployment-status-success.json",
        lambda b: b["deployment"].update(environment=["production"]),
        "$.deployment.environment",
        "is a list",
    ),
    (
        "github",
        "issues",
        "github-issue-incident-opened.json",
        lambda b: b["issue"].update(labels="incident"),
        "$.issue.labels",
        "expected a list",
    ),
    (
        "github",
        "issues",
        "github-issue-incident-opened.json",
        lambda b: b["issue"]["labels"].append({"name": None}),
        "$.issue.labels[2].name",
        "is null",
    ),
    (
        "github",
        "issues",
        "github-issue-incident-opened.json",
        lambda b: b["issue"].update(number="42"),
        "$.issue.number",
        "whole number",
    ),
    (
        "github",
        "issues",
        "github-issue-incident-opened.json",
        lambda b: b["issue"].update(state="gone"),
        "$.issue.state",
        "not 'open' or 'closed'",
    ),
    (
        "github",
        "issues",
        "github-issue-incident-closed.json",
        lambda b: b["issue"].update(closed_at=None),
        "$.issue.closed_at",
        "is null",
    ),
    (
        "github",
        "issues",
        "github-issue-incident-closed.json",
        lambda b: b["issue"].update(closed_at="2026-12-01T10:00:00Z"),
        "$.issue.closed_at",
        "before the issue was opened",
    ),
    (
        "github",
        "issues",
        "github-issue-incident-opened.json",
        lambda b: b["repository"].update(full_name="o/" + "r" * 198),
        "$",
        "expected at most 200",
    ),
    ("gitlab", "Push Hook", "gitlab-push.json", lambda b: b.update(object_kind="issue"), "$.object_kind", "not 'push'"),
    (
        "gitlab",
        "Push Hook",
        "gitlab-push.json",
        lambda b: b["project"].pop("path_with_namespace"),
        "$.project.path_with_namespace",
        "missing",
    ),
    (
        "gitlab",
        "Push Hook",
        "gitlab-push.json",
        lambda b: b["project"].update(default_branch=1),
        "$.project.default_branch",
        "or null",
    ),
    (
        "gitlab",
        "Push Hook",
        "gitlab-push.json",
        lambda b: b["commits"][0].update(timestamp=1701420000),
        "$.commits[0].timestamp",
        "is a number",
    ),
    (
        "gitlab",
        "Deployment Hook",
        "gitlab-deployment-success.json",
        lambda b: b.update(status_changed_at="2026-12-01 09:30:00"),
        "$.status_changed_at",
        "offset",
    ),
    (
        "gitlab",
        "Deployment Hook",
        "gitlab-deployment-success.json",
        lambda b: b.update(status_changed_at="2026-12-01 09:30:00 +2500"),
        "$.status_changed_at",
        "no date and time",
    ),
    (
        "gitlab",
        "Deployment Hook",
        "gitlab-deployment-success.json",
        lambda b: b.pop("deployment_id"),
        "$.deployment_id",
        "missing",
    ),
    (
        "gitlab",
        "Deployment Hook",
        "gitlab-deployment-success.json",
        lambda b: b.update(status="exploded"),
        "$.status",
        "not one of 'success', 'failed'",
    ),
    (
        "gitlab",
        "Deployment Hook",
        "gitlab-deployment-success.json",
        lambda b: b.update(environment_tier=3),
        "$.environment_tier",
        "is a number",
    ),
    (
        "gitlab",
        "Issue Hook",
        "gitlab-incident-open.json",
        lambda b: b.pop("object_attributes"),
        "$.object_attributes",
        "missing",
    ),
    (
        "gitlab",
        "Issue Hook",
        "gitlab-incident-open.json",
        lambda b: b["object_attributes"].update(iid=-1),
        "$.object_attributes.iid",
        "whole number",
    ),
    (
        "gitlab",
        "Issue Hook",
        "gitlab-incident-open.json",
        lambda b: b["object_attributes"].update(created_at="2026-12-01 21:15:43 CET"),
        "$.object_attributes.created_at",
        "offset",
    ),
    (
        "gitlab",
        "Issue Hook",
        "gitlab-incident-closed.json",
        lambda b: b["object_attributes"].update(state="locked"),
        "$.object_attributes.state",
        "not 'opened' or 'closed'",
    ),
    (
        "gitlab",
        "Issue Hook",
        "gitlab-incident-closed.json",
        lambda b: b["object_attributes"].update(issue_type=["incident"]),
        "$.object_attributes.issue_type",
        "is a list",
    ),
]


@pytest.mark.parametrize(
    ("forge", "event", "name", "change", "path", "message"), MALFORMED, ids=[f"{m[4]} {m[5]}" for m in MALFORMED]
)
def test_a_malformed_payload_is_refused_at_its_path(forge, event, name, change, path, message):
    translate = github_events if forge == "github" else gitlab_events
    with pytest.raises(WebhookError) as caught:
        translate(event, broken(name, change))
    assert caught.value.path == path
    assert message in caught.value.message
    assert str(caught.value) == f"{path}: {caught.value.message}"


def test_a_payload_that_is_not_an_object_is_refused():
    for body in ([], "push", None, 3):
        with pytest.raises(WebhookError, match=r"^\$: "):
            github_events("push", body)
        with pytest.raises(WebhookError, match=r"^\$: "):
            gitlab_events("Push Hook", body)


def test_an_event_we_do_not_read_is_refused_by_its_name():
    with pytest.raises(WebhookError, match="the GitHub event 'pull_request' is not one we read") as caught:
        github_events("pull_request", {"action": "opened"})
    assert caught.value.path is None and caught.value.pointer is None
    with pytest.raises(WebhookError, match="the GitLab event 'Pipeline Hook' is not one we read"):
        gitlab_events("Pipeline Hook", {"object_kind": "pipeline"})


def test_the_path_is_also_a_json_pointer():
    with pytest.raises(WebhookError) as caught:
        github_events("push", broken("github-push.json", lambda b: b["commits"][1].update(timestamp="")))
    assert caught.value.pointer == "/commits/1/timestamp"
    assert WebhookError("$", "x").pointer == "/"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
FIXTURES = sorted(DATA.glob("*.json"))
EVENT_OF = {name: event for event, name, _ in GITHUB_CASES + GITLAB_CASES}


def spoiled(body, path: list, value):
    """The body with the value at `path` (keys and indexes, taken modulo the sizes found) replaced."""
    node = body
    for step in path[:-1]:
        if isinstance(node, dict) and node:
            node = node[sorted(node)[step % len(node)]]
        elif isinstance(node, list) and node:
            node = node[step % len(node)]
    if isinstance(node, dict) and node:
        node[sorted(node)[path[-1] % len(node)]] = value
    elif isinstance(node, list) and node:
        node[path[-1] % len(node)] = value
    return body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fixture=st.sampled_from(FIXTURES),
    path=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=4),
    value=JSON,
)
def test_any_spoiled_payload_gives_events_or_a_webhook_error_never_another_exception(fixture, path, value):
    body = spoiled(json.loads(fixture.read_text()), path, value)
    translate = github_events if fixture.name.startswith("github") else gitlab_events
    try:
        translated = translate(EVENT_OF[fixture.name], body)
    except WebhookError as error:
        assert error.path is None or error.path.startswith("$")
    else:
        assert_valid_events(translated)


# --- every event is one the events format accepts -------------------------------------------------

KEYS = {  # delivery-events.md, section 1: (required, optional) keys of each type the webhooks give
    "change": ({"type", "id", "service", "time"}, set()),
    "deployment": ({"type", "id", "service", "time"}, {"environment", "status", "changes", "rollback_of"}),
    "incident": ({"type", "id", "service", "started"}, {"resolved", "caused_by"}),
}
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\Z")


def assert_valid_events(translated: Translation) -> None:
    assert (translated.ignored is None) == bool(translated.events)
    for event in translated.events:
        required, optional = KEYS[event["type"]]
        assert required <= event.keys() <= required | optional
        assert all(isinstance(event[key], str) and 0 < len(event[key]) <= MAX_TEXT for key in ("id", "service"))
        for key in ("time", "started", "resolved"):
            if key in event:
                assert TIME.match(event[key]) and datetime.fromisoformat(event[key]).utcoffset() is not None
        if event["type"] == "deployment":
            assert event["status"] in ("success", "failure") and isinstance(event["environment"], str)
            assert translated.pending_changes == (event["status"] == "success")
        else:
            assert not translated.pending_changes
        if "resolved" in event:
            assert datetime.fromisoformat(event["resolved"]) >= datetime.fromisoformat(event["started"])
    # and the engine's own reader takes them, as one events file (a deployment without its changes too)
    lines = "\n".join(json.dumps(event) for event in translated.events)
    assert len(read_events([("delivery.jsonl", lines)])) == len(translated.events)


def test_every_event_of_every_recorded_delivery_is_valid_by_the_spec():
    translations = [github_events(e, payload(n)) for e, n, _ in GITHUB_CASES]
    translations += [gitlab_events(e, payload(n)) for e, n, _ in GITLAB_CASES]
    for translated in translations:
        assert_valid_events(translated)
    assert sum(len(t.events) for t in translations) == 12
    assert {p.name for p in FIXTURES} == set(EVENT_OF)  # every recorded payload has its expected translation


def test_translating_leaves_the_payload_as_it_was():
    for event, name, _ in GITHUB_CASES:
        body = payload(name)
        kept = copy.deepcopy(body)
        github_events(event, body)
        assert body == kept


def test_the_translation_is_pure_it_loads_none_of_the_web_stack():
    """tests/unit/test_purity.py looks at assessment/domain's own modules; this one sits a folder below."""
    import subprocess
    import sys

    from tests.unit.test_purity import FORBIDDEN, imported_modules

    source = (Path(__file__).parents[2] / "assessment" / "domain" / "delivery" / "webhooks.py").read_text()
    assert not imported_modules(source) & set(FORBIDDEN)
    check = "import sys, assessment.domain.delivery.webhooks; print(sorted(m for m in sys.modules if m.split('.')[0] in %r))"
    found = subprocess.run([sys.executable, "-c", check % (FORBIDDEN,)], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


def test_a_reason_quotes_what_the_payload_said_cut_and_escaped():
    body = payload("github-push.json") | {"ref": "refs/heads/<b>\n" + "x" * 300}
    reason = github_events("push", body).ignored
    assert "\n" not in reason and "\\n" in reason and "x" * 85 + "...'" in reason and len(reason) < 200
