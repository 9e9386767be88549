"""GitHub's and GitLab's webhook deliveries as delivery events (`delivery-events.md`, section 1).

A forge that posts a webhook says what happened in its own words: a push of commits, a deployment's
new status, an issue opened or closed. This module checks that a delivery is the forge's (its
signature or token) and reads its payload into the events the metrics are computed from, and nothing
else: the web route receives and stores, this decides. Pure Python, so the rules are tested with
recorded payloads and no server.

A payload is never trusted: every value read is checked for its type and length, and a payload that
lacks what its event must carry raises `WebhookError` naming the JSON path and what would be valid.
A delivery that is well formed but carries nothing for the metrics (a ping, a deployment still
running, an issue that is not an incident) is not an error: its `Translation` says why it was ignored,
so the forge's delivery log shows a success and the reason.

Readings chosen here, and why:

- A push counts only on the repository's default branch: in a trunk-based reading only the trunk goes
  live, and a commit pushed to a branch that is never merged never does. Its time is the commit's own
  timestamp, so a merged branch's commits keep the time they were first committed.
- A webhook's deployment names one commit, not the changes it took live: its event leaves `changes`
  out and the translation says `pending_changes`, for the ingestion to give it the service's changes
  made up to its time and not yet live. A failed deployment took nothing live, so it has none pending.
- An incident's id is the forge's own reference to the issue, `github:owner/repo#42` or
  `gitlab:group/project#7`: an issue number alone repeats in every repository, and the spec wants ids
  unique among all incidents; the reference stays the same when the issue is closed or reopened, so a
  later delivery about it replaces the earlier one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MAX_TEXT = 200  # characters of an id, a service or an environment name
MAX_COMMITS = 2048  # GitHub's own cap on the commits of one push delivery; GitLab sends at most 20
MAX_LABELS = 1000
PRODUCTION = "production"
PRODUCTION_NAMES = frozenset({"production", "prod"})

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})\Z")
_DELETED_SHA = re.compile(r"0+\Z")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d{1,9})?([Zz]|[+-]\d\d:\d\d)\Z")
_GITLAB_TIME = re.compile(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d{1,9})?) (UTC|[+-]\d\d:?\d\d)\Z")

GITHUB_EVENTS = ("push", "deployment_status", "issues", "ping")
GITLAB_EVENTS = ("Push Hook", "Tag Push Hook", "Deployment Hook", "Issue Hook", "Confidential Issue Hook")
_GITLAB_KINDS = {
    "Push Hook": ("push",),
    "push": ("push",),
    "Tag Push Hook": ("tag_push",),
    "tag_push": ("tag_push",),
    "Deployment Hook": ("deployment",),
    "deployment": ("deployment",),
    "Issue Hook": ("issue", "work_item"),
    "Confidential Issue Hook": ("issue", "work_item"),
    "issue": ("issue",),
    "work_item": ("work_item",),
}
_GITHUB_DEPLOYED = {"success": "success", "failure": "failure", "error": "failure"}
_GITHUB_UNFINISHED = ("pending", "queued", "in_progress", "inactive")
_GITLAB_DEPLOYED = {"success": "success", "failed": "failure"}
_GITLAB_UNFINISHED = ("created", "running", "canceled", "blocked", "skipped")
_GITHUB_ISSUE_ACTIONS = ("opened", "labeled", "closed", "reopened")


class WebhookError(ValueError):
    """A delivery whose payload is not what its event must carry; `path` is the JSON path of the value
    (`$.commits[2].timestamp`), or None when the event's name itself is not one we read."""

    def __init__(self, path: str | None, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)

    @property
    def pointer(self) -> str | None:
        """The path as a JSON pointer into the delivery's body (`/commits/2/timestamp`), for a problem."""
        if self.path is None:
            return None
        parts = re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", self.path[1:])
        return "/" + "/".join(name or index for name, index in parts)


@dataclass(frozen=True)
class Translation:
    """What one delivery means for the metrics: its events (JSON objects in the spec's format), or why it
    carries none, and whether its deployment still needs its changes given by the ingestion."""

    events: tuple[dict, ...] = ()
    ignored: str | None = None
    pending_changes: bool = False


def verify_github(secret: bytes, body: bytes, signature_header: str | None) -> bool:
    """Whether `X-Hub-Signature-256` is `sha256=` and the HMAC-SHA256 of the raw body under the secret.

    Compared in constant time; a missing or malformed header, or an empty secret, never verifies. A secret
    or body that is not bytes is the caller's mistake, and raises TypeError rather than failing quietly."""
    if not isinstance(secret, bytes) or not isinstance(body, bytes | bytearray):
        raise TypeError("verify_github takes the secret and the raw body as bytes")
    if not secret:
        return False
    found = _SIGNATURE.match(signature_header) if isinstance(signature_header, str) else None
    if found is None:
        return False
    expected = hmac.new(secret, bytes(body), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, found.group(1).lower())


def verify_gitlab(secret: str, token_header: str | None) -> bool:
    """Whether `X-Gitlab-Token` is the hook's secret token, compared in constant time (as UTF-8 bytes).

    GitLab sends the token as it was typed, unsigned, so it must travel over HTTPS; a missing header
    or an empty secret never verifies."""
    if not isinstance(secret, str):
        raise TypeError("verify_gitlab takes the secret token as text")
    if not secret or not isinstance(token_header, str):
        return False
    return hmac.compare_digest(secret.encode(), token_header.encode())


def github_events(event_name: str, payload: dict, *, service: str | None = None) -> Translation:
    """The events of a GitHub delivery, by its `X-GitHub-Event` name; `service` overrides the repository's
    full name as the events' service (ValueError when it is empty or longer than an id may be)."""
    root = _object(payload, "$")
    if event_name == "ping":
        return Translation(ignored="ping: GitHub checks that the webhook answers; it carries no event")
    if event_name not in GITHUB_EVENTS:
        raise WebhookError(
            None, f"the GitHub event {_shown(event_name)} is not one we read ({', '.join(GITHUB_EVENTS)})"
        )
    repository = _object(root.get("repository"), "$.repository")
    full_name = _text(repository, "full_name", "$.repository")
    owner = _override(service) or full_name
    if event_name == "push":
        return _github_push(root, repository, owner)
    if event_name == "deployment_status":
        return _github_deployment(root, owner)
    return _github_issue(root, full_name, owner)


def gitlab_events(event_name_or_object_kind: str, payload: dict, *, service: str | None = None) -> Translation:
    """The events of a GitLab delivery, by its `X-Gitlab-Event` header (`Push Hook`) or its payload's
    `object_kind` (`push`); `service` overrides the project's path as the events' service."""
    root = _object(payload, "$")
    kinds = _GITLAB_KINDS.get(event_name_or_object_kind) if isinstance(event_name_or_object_kind, str) else None
    if kinds is None:
        shown = _shown(event_name_or_object_kind)
        raise WebhookError(None, f"the GitLab event {shown} is not one we read ({', '.join(GITLAB_EVENTS)})")
    kind = _text(root, "object_kind", "$", optional=True) or kinds[0]
    if kind not in kinds:
        raise WebhookError("$.object_kind", f"is {_shown(kind)}, not {' or '.join(map(repr, kinds))}")
    if kind == "tag_push":
        return Translation(ignored="a tag push: a tag names a commit already pushed, it is no new change")
    project = _object(root.get("project"), "$.project")
    path = _text(project, "path_with_namespace", "$.project")
    owner = _override(service) or path
    if kind == "push":
        return _gitlab_push(root, project, owner)
    if kind == "deployment":
        return _gitlab_deployment(root, owner)
    return _gitlab_issue(root, path, owner)


# --- GitHub ---------------------------------------------------------------------------------------


def _github_push(root: dict, repository: dict, owner: str) -> Translation:
    ref = _text(root, "ref", "$", limit=1000)
    if _bool(root, "deleted", "$"):
        return Translation(ignored=f"the push deleted {_shown(ref, 100)}: a deleted branch brings no change")
    ignored = _off_trunk(ref, _text(repository, "default_branch", "$.repository", optional=True))
    if ignored:
        return Translation(ignored=ignored)
    return _changes(root, owner, ref)


def _github_deployment(root: dict, owner: str) -> Translation:
    status = _object(root.get("deployment_status"), "$.deployment_status")
    deployment = _object(root.get("deployment"), "$.deployment")
    state = _text(status, "state", "$.deployment_status")
    if state in _GITHUB_UNFINISHED:
        return Translation(ignored=f"deployment_status {state!r} is not a finished deployment")
    if state not in _GITHUB_DEPLOYED:
        known = ", ".join(map(repr, (*_GITHUB_DEPLOYED, *_GITHUB_UNFINISHED)))
        raise WebhookError("$.deployment_status.state", f"is {_shown(state)}, not one of {known}")
    time = _time(status, "updated_at", "$.deployment_status", optional=True)
    time = time or _time(status, "created_at", "$.deployment_status")
    name = _text(deployment, "environment", "$.deployment")
    production = _bool(deployment, "production_environment", "$.deployment")
    return _deployment(_integer_id(deployment, "id", "$.deployment"), owner, time, name, production, state)


def _github_issue(root: dict, full_name: str, owner: str) -> Translation:
    action = _text(root, "action", "$", limit=1000)
    issue = _object(root.get("issue"), "$.issue")
    if action not in _GITHUB_ISSUE_ACTIONS:
        return Translation(ignored=f"issues action {_shown(action)} neither opens, labels, closes nor reopens an issue")
    labels = _list(issue, "labels", "$.issue", MAX_LABELS)
    names = [
        _text(_object(label, f"$.issue.labels[{i}]"), "name", f"$.issue.labels[{i}]") for i, label in enumerate(labels)
    ]
    if not any(name.casefold() == "incident" for name in names):
        return Translation(ignored="the issue is not labelled incident")
    number = _integer_id(issue, "number", "$.issue")
    state = _text(issue, "state", "$.issue")
    if state not in ("open", "closed"):
        raise WebhookError("$.issue.state", f"is {_shown(state)}, not 'open' or 'closed'")
    started = _time(issue, "created_at", "$.issue")
    resolved = _time(issue, "closed_at", "$.issue") if state == "closed" else None
    return _incident(f"github:{full_name}#{number}", owner, started, resolved, "$.issue.closed_at")


# --- GitLab ---------------------------------------------------------------------------------------


def _gitlab_push(root: dict, project: dict, owner: str) -> Translation:
    ref = _text(root, "ref", "$", limit=1000)
    after = _text(root, "after", "$", optional=True)
    if after is not None and _DELETED_SHA.match(after):
        return Translation(ignored=f"the push deleted {_shown(ref, 100)}: a deleted branch brings no change")
    ignored = _off_trunk(ref, _text(project, "default_branch", "$.project", optional=True))
    if ignored:
        return Translation(ignored=ignored)
    return _changes(root, owner, ref)


def _gitlab_deployment(root: dict, owner: str) -> Translation:
    status = _text(root, "status", "$")
    if status in _GITLAB_UNFINISHED:
        return Translation(ignored=f"deployment status {status!r} is not a finished deployment")
    if status not in _GITLAB_DEPLOYED:
        known = ", ".join(map(repr, (*_GITLAB_DEPLOYED, *_GITLAB_UNFINISHED)))
        raise WebhookError("$.status", f"is {_shown(status)}, not one of {known}")
    time = _time(root, "status_changed_at", "$")
    name = _text(root, "environment", "$")
    production = _text(root, "environment_tier", "$", optional=True) == PRODUCTION
    return _deployment(_integer_id(root, "deployment_id", "$"), owner, time, name, production, status)


def _gitlab_issue(root: dict, path: str, owner: str) -> Translation:
    attributes = _object(root.get("object_attributes"), "$.object_attributes")
    where = "$.object_attributes"
    kinds = [_text(attributes, key, where, optional=True) for key in ("issue_type", "type")]
    if not any(kind is not None and kind.casefold() == "incident" for kind in kinds):
        shown = next((kind for kind in kinds if kind is not None), "issue")
        return Translation(ignored=f"the issue is not an incident (its type is {_shown(shown)})")
    iid = _integer_id(attributes, "iid", where)
    state = _text(attributes, "state", where)
    if state not in ("opened", "closed"):
        raise WebhookError(f"{where}.state", f"is {_shown(state)}, not 'opened' or 'closed'")
    started = _time(attributes, "created_at", where)
    resolved = _time(attributes, "closed_at", where) if state == "closed" else None
    return _incident(f"gitlab:{path}#{iid}", owner, started, resolved, f"{where}.closed_at")


# --- events, in the spec's words ------------------------------------------------------------------


def _off_trunk(ref: str, default_branch: str | None) -> str | None:
    """Why a push to `ref` brings no change to the trunk, or None when it does (an empty repository has no
    default branch yet: its first push makes one)."""
    if not ref.startswith("refs/heads/"):
        return f"the push is to {_shown(ref, 100)}, not a branch"
    if default_branch is not None and ref != f"refs/heads/{default_branch}":
        branch = _shown(default_branch, 100)
        return f"the push is to {_shown(ref, 100)}, not the default branch {branch}: only the trunk goes live"
    return None


def _changes(root: dict, owner: str, ref: str) -> Translation:
    commits = _list(root, "commits", "$", MAX_COMMITS)
    events: dict[str, dict] = {}
    for index, commit in enumerate(commits):
        where = f"$.commits[{index}]"
        commit = _object(commit, where)
        sha = _text(commit, "id", where)
        time = _time(commit, "timestamp", where)
        events.setdefault(sha, {"type": "change", "id": sha, "service": owner, "time": time})
    if not events:
        return Translation(ignored=f"the push to {_shown(ref, 100)} has no commits")
    return Translation(events=tuple(events.values()))


def _deployment(event_id: str, owner: str, time: str, name: str, production: bool, state: str) -> Translation:
    environment = PRODUCTION if production or name.casefold() in PRODUCTION_NAMES else name
    status = (_GITHUB_DEPLOYED | _GITLAB_DEPLOYED)[state]
    event = {"type": "deployment", "id": event_id, "service": owner, "time": time, "environment": environment}
    event["status"] = status
    return Translation(events=(event,), pending_changes=status == "success")


def _incident(event_id: str, owner: str, started: str, resolved: str | None, resolved_at: str) -> Translation:
    """An issue as an incident; its id is the forge's reference, which a repository's long path could make
    too long for an id."""
    if len(event_id) > MAX_TEXT:
        raise WebhookError(
            "$",
            f"gives the incident id {event_id[:40]!r}... of {len(event_id)} characters; expected at most {MAX_TEXT}",
        )
    event = {"type": "incident", "id": event_id, "service": owner, "started": started}
    if resolved is not None:
        if _instant(resolved) < _instant(started):
            raise WebhookError(resolved_at, f"is {resolved}, before the issue was opened ({started})")
        event["resolved"] = resolved
    return Translation(events=(event,))


# --- reading a payload that is not trusted --------------------------------------------------------


def _shown(value: Any, limit: int = 40) -> str:
    """A value a payload gave, as a message may quote it: text quoted and cut, anything else by its kind."""
    if isinstance(value, str):
        return repr(value if len(value) <= limit else value[:limit] + "...")
    names = {dict: "an object", list: "a list", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _object(value: Any, where: str) -> dict:
    if not isinstance(value, Mapping):
        raise WebhookError(where, f"is {'missing' if value is None else _shown(value)}; expected an object")
    return value  # type: ignore[return-value]


def _text(obj: dict, key: str, where: str, *, optional: bool = False, limit: int = MAX_TEXT) -> Any:
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        expected = "a non-empty text" + (" or null" if optional else "")
        raise WebhookError(
            f"{where}.{key}", f"is {'missing' if key not in obj else _shown(value)}; expected {expected}"
        )
    if len(value) > limit:
        raise WebhookError(f"{where}.{key}", f"has {len(value)} characters; expected at most {limit}")
    return value


def _integer_id(obj: dict, key: str, where: str) -> str:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WebhookError(
            f"{where}.{key}", f"is {'missing' if key not in obj else _shown(value)}; expected a whole number"
        )
    text = str(value)
    if len(text) > MAX_TEXT:
        raise WebhookError(f"{where}.{key}", f"has {len(text)} digits; expected at most {MAX_TEXT}")
    return text


def _bool(obj: dict, key: str, where: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise WebhookError(f"{where}.{key}", f"is {_shown(value)}; expected true or false")
    return value


def _list(obj: dict, key: str, where: str, limit: int) -> list:
    value = obj.get(key)
    if not isinstance(value, list):
        raise WebhookError(f"{where}.{key}", f"is {'missing' if key not in obj else _shown(value)}; expected a list")
    if len(value) > limit:
        raise WebhookError(f"{where}.{key}", f"has {len(value)} items; expected at most {limit}")
    return value


def _time(obj: dict, key: str, where: str, *, optional: bool = False) -> Any:
    """An RFC 3339 time with its offset, from the forges' forms: `2026-11-03T14:05:00Z`, `...+02:00`, and
    GitLab's `2021-04-28 21:50:00 +0200` and `2013-12-03 17:15:43 UTC`; UTC is written `Z`."""
    value = _text(obj, key, where, optional=optional, limit=64)
    if value is None:
        return None
    gitlab = _GITLAB_TIME.match(value)
    if gitlab:
        day, clock, offset = gitlab.groups()
        offset = "+00:00" if offset == "UTC" else f"{offset[:3]}:{offset[-2:]}"
        text = f"{day}T{clock}{offset}"
    elif _RFC3339.match(value):
        text = value
    else:
        example = "2026-11-03T14:05:00Z or 2026-11-03T16:05:00+02:00"
        raise WebhookError(f"{where}.{key}", f"is {_shown(value)}; expected a time with its offset, as {example}")
    try:
        moment = datetime.fromisoformat(text.upper().replace(" ", "T"))
    except ValueError:
        raise WebhookError(f"{where}.{key}", f"is {_shown(value)}, which is no date and time") from None
    if moment.utcoffset() == timedelta(0):
        return moment.replace(tzinfo=None).isoformat() + "Z"
    return moment.isoformat()


def _instant(time: str) -> datetime:
    return datetime.fromisoformat(time)


def _override(service: str | None) -> str | None:
    if service is None:
        return None
    if not isinstance(service, str) or not service.strip() or len(service) > MAX_TEXT:
        raise ValueError(f"service must be a non-empty text of at most {MAX_TEXT} characters, not {_shown(service)}")
    return service
