"""`assessment push`, `pull` and `gate`: assessment-as-code against a server, through its /api/v1.

A client of the API, nothing more: neither Flask nor SQLAlchemy is imported, the token comes from
ASSESSMENT_TOKEN (never an option, so it stays out of shell histories and process lists), and every refusal
of the server is printed with the problem's own detail. Exit codes follow the file commands': 0 done (or the
gate passed), 2 invalid input or a request the server refused, 3 a failed gate.

`push` writes an answers file and its evidence files into the scope's draft assessment (one PATCH, then an
upload or a link for each evidence item not attached yet). `pull` writes the web export's files
(framework.yaml, answers.yaml, evidence/) into a folder, refusing any zip member that would land outside it.
`gate` judges a scope's latest approved assessment against a level and a score, for a pipeline.
"""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn
from urllib.parse import quote

import click

TOKEN_VARIABLE = "ASSESSMENT_TOKEN"
TIMEOUT = 60  # seconds a request may take; an export of large evidence streams within it
MAX_MEMBERS = 10_000
MAX_UNPACKED = 4 << 30  # bytes a pulled zip may unpack to: a bomb stops here, a real export never gets near
PAGE = 200


def _refused(message: str) -> NoReturn:
    from .cli_files import EXIT_INVALID

    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_INVALID)


class Server:
    """The API of one server, with the token of ASSESSMENT_TOKEN."""

    def __init__(self, url: str) -> None:
        import requests

        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        if not token:
            _refused(f"set {TOKEN_VARIABLE} to an API token (`assessment tokens create USER --name NAME` makes one)")
        if not url.startswith(("http://", "https://")):
            _refused(f"--server {url!r}: give the server's address with http:// or https://")
        self.base = url.rstrip("/") + "/api/v1"
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})

    def get(self, path: str, *, stream: bool = False, params: dict | None = None):
        """The response to GET `path` (under /api/v1, or a whole next-page address); any refusal ends the command."""
        return self.send("GET", path, stream=stream, params=params)

    def send(self, method: str, path: str, **options):
        """The response to `method` on `path`; a refusal (4xx, 5xx) or no answer ends the command with its reason."""
        import requests

        url = path if path.startswith(("http://", "https://")) else self.base + path
        try:
            response = self.http.request(method, url, timeout=TIMEOUT, **options)
        except requests.RequestException as error:
            _refused(f"{self.base}: {error}")
        if response.status_code >= 400:
            _refused(f"{method} {url}: {response.status_code} {_problem_detail(response)}")
        return response

    def json(self, path: str, params: dict | None = None) -> Any:
        response = self.get(path, params=params)
        try:
            return response.json()
        except ValueError:
            _refused(f"GET {response.url}: the server did not answer JSON")

    def pages(self, path: str) -> Iterator[dict]:
        """Every item of a paginated list, following its `Link: rel="next"` headers."""
        response = self.get(path, params={"limit": PAGE})
        while True:
            try:
                yield from response.json()
            except ValueError:
                _refused(f"GET {response.url}: the server did not answer JSON")
            following = response.links.get("next", {}).get("url")
            if not following:
                return
            response = self.get(following)


def _problem_detail(response) -> str:
    """The detail of a problem+json answer (and the first error's pointer), else the status's reason."""
    try:
        problem = response.json()
    except ValueError:
        return response.reason or "refused"
    if not isinstance(problem, dict):
        return response.reason or "refused"
    detail = str(problem.get("detail") or problem.get("title") or response.reason)
    errors = problem.get("errors") or []
    if errors and isinstance(errors[0], dict):
        detail += f" ({errors[0].get('pointer')}: {errors[0].get('detail')})"
    return detail


# --- pull ----------------------------------------------------------------------------------------------


def safe_member(name: str) -> PurePosixPath | None:
    """A zip member's path relative to the folder it unpacks into, or None when it could land anywhere else
    (absolute, a drive, a backslash, `..`, empty)."""
    if not name or "\\" in name or "\0" in name or name.startswith("/"):
        return None
    path = PurePosixPath(name)
    if any(part in ("", ".", "..") for part in path.parts) or ":" in path.parts[0]:
        return None
    return path


def unpack(archive: zipfile.ZipFile, target: Path) -> list[Path]:
    """Write the archive's files under `target` and return them; a member that would leave it, a link, too
    many members or too many bytes stop the unpacking before anything is written."""
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_MEMBERS:
        _refused(f"the export holds {len(members)} files, more than {MAX_MEMBERS}")
    if sum(m.file_size for m in members) > MAX_UNPACKED:
        _refused(f"the export would unpack to more than {MAX_UNPACKED >> 30} GB")
    root = target.resolve()
    planned = []
    for member in members:
        relative = safe_member(member.filename)
        is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
        destination = (root / relative).resolve() if relative is not None else None
        if relative is None or is_link or destination is None or not destination.is_relative_to(root):
            _refused(f"the export holds {member.filename!r}, which would be written outside {target}")
        planned.append((member, destination))
    written = []
    for member, destination in planned:
        destination.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(member) as source, open(destination, "wb") as out:
            while chunk := source.read(1 << 20):
                out.write(chunk)
        written.append(destination)
    return written


@click.command(name="pull")
@click.argument("assessment_id", metavar="ASSESSMENT", type=click.IntRange(min=1))
@click.option("--server", required=True, metavar="URL", help="The server's address, e.g. https://assess.example.org")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write framework.yaml, answers.yaml and evidence/ into (made if missing).",
)
def pull_command(assessment_id: int, server: str, output: Path) -> None:
    """Write an assessment's framework.yaml, answers.yaml and evidence/ files from a server (as its export)."""
    api = Server(server)
    response = api.get(f"/assessments/{assessment_id}/export", stream=True)
    with tempfile.TemporaryFile() as spooled:
        for chunk in response.iter_content(1 << 20):
            spooled.write(chunk)
        spooled.seek(0)
        try:
            archive = zipfile.ZipFile(spooled)
        except zipfile.BadZipFile:
            _refused(f"the server's export of assessment {assessment_id} is not a zip")
        with archive:
            output.mkdir(parents=True, exist_ok=True)
            written = unpack(archive, output)
    evidence = sum(1 for path in written if path.parent != output.resolve() and "evidence" in path.parts)
    click.echo(f"pulled assessment {assessment_id} into {output}: {len(written)} files, {evidence} of them evidence")


# --- gate ----------------------------------------------------------------------------------------------


def _scope_id(api: Server, scope: str) -> int:
    """The scope named by its id or by its exact name."""
    if scope.isdigit():
        return int(scope)
    found = [s for s in api.pages("/scopes") if s.get("name") == scope]
    if not found:
        _refused(f"no scope named {scope!r} that this token's owner may see")
    return int(found[0]["id"])


def latest_approved(assessments: list[dict]) -> dict | None:
    """The approved assessment approved last (the later as-of date, then the higher id, on a tie)."""
    approved = [a for a in assessments if a.get("status") == "approved"]
    return max(approved, key=lambda a: (a.get("approved_at") or "", a.get("as_of") or "", a["id"]), default=None)


@click.command(name="gate")
@click.option("--server", required=True, metavar="URL", help="The server's address, e.g. https://assess.example.org")
@click.option("--scope", required=True, metavar="SCOPE", help="The scope's id, or its exact name.")
@click.option("--fail-under-score", type=float, metavar="X", help="Exit 3 when the overall score is below X.")
@click.option("--fail-under-level", type=int, metavar="N", help="Exit 3 when the overall level is below N.")
def gate_command(server: str, scope: str, fail_under_score: float | None, fail_under_level: int | None) -> None:
    """Judge a scope's latest approved assessment on a server: exit 3 when it is under either bar."""
    from .cli_files import EXIT_GATE, gate_failures
    from .domain.display import one_decimal

    if fail_under_score is None and fail_under_level is None:
        _refused("give --fail-under-level, --fail-under-score or both")
    api = Server(server)
    scope_id = _scope_id(api, scope)
    chosen = latest_approved(list(api.pages(f"/scopes/{scope_id}/assessments")))
    if chosen is None:
        _refused(f"scope {scope} has no approved assessment to judge")
    overall = api.json(f"/assessments/{quote(str(chosen['id']))}/score").get("overall") or {}
    score, level = overall.get("score"), overall.get("level")
    failed = gate_failures(score, level, fail_under_score, fail_under_level)
    approved = str(chosen.get("approved_at") or "")[:10]
    shown = "none" if score is None else one_decimal(score)
    click.echo(
        f"assessment {chosen['id']} (approved {approved}, as of {chosen.get('as_of')}): "
        f"score {shown}, level {'none' if level is None else level}"
    )
    for reason in failed:
        click.echo(f"gate failed: {reason}", err=True)
    if failed:
        sys.exit(EXIT_GATE)
    click.echo("gate passed")


# --- push ----------------------------------------------------------------------------------------------

EDITABLE = ("draft", "returned")


def _draft(api: Server, scope_id: int, answers) -> tuple[int, bool]:
    """The scope's newest editable assessment of the answers' framework version, or a new one; (id, started)."""
    editable = [
        a
        for a in api.pages(f"/scopes/{scope_id}/assessments")
        if a.get("status") in EDITABLE
        and (a.get("framework_id"), a.get("framework_version")) == (answers.framework_id, answers.version)
    ]
    if editable:
        return max(a["id"] for a in editable), False
    body: dict[str, Any] = {"framework_id": answers.framework_id, "version": answers.version}
    if answers.as_of is not None:
        body["as_of"] = answers.as_of.isoformat()
    if answers.target_level is not None:
        body["target_level"] = answers.target_level
    return int(api.send("POST", f"/scopes/{scope_id}/assessments", json=body).json()["id"]), True


def _dates(item) -> dict[str, str]:
    return {name: getattr(item, name).isoformat() for name in ("effective", "expires") if getattr(item, name)}


@click.command(name="push")
@click.argument("answers_path", metavar="ANSWERS", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--server", required=True, metavar="URL", help="The server's address, e.g. https://assess.example.org")
@click.option("--scope", required=True, metavar="SCOPE", help="The scope's id, or its exact name.")
@click.option(
    "--framework",
    "framework_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The framework file the answers answer (default: framework.yaml beside ANSWERS, as pull writes it).",
)
def push_command(answers_path: Path, server: str, scope: str, framework_path: Path | None) -> None:
    """Write an answers file (format 1) and its evidence files into the scope's draft assessment on a server,
    starting one when the scope has no draft of that framework version. The file's answers replace the
    server's; evidence already attached (the same file, the same link) is not attached twice."""
    from .cli_files import fail
    from .domain.answers import read_answers_file
    from .domain.errors import InvalidFile
    from .domain.loader import load_framework_file

    framework_path = framework_path or answers_path.with_name("framework.yaml")
    try:
        answers = read_answers_file(answers_path, load_framework_file(framework_path))
    except InvalidFile as invalid:
        fail(invalid.problems)
    except OSError as error:
        _refused(f"{error.filename}: {error.strerror} (give the framework file with --framework)")
    api = Server(server)
    assessment_id, started = _draft(api, _scope_id(api, scope), answers)
    base = f"/assessments/{assessment_id}"
    stored = {a["requirement_id"]: a for a in api.pages(f"{base}/answers")}
    body = {
        rid: {"value": answer.value, "note": answer.note, "revision": stored.get(rid, {}).get("revision", 0)}
        for rid, answer in answers.answers.items()
    }
    saved = api.send("PATCH", f"{base}/answers", json={"answers": body}).json()["saved"] if body else []
    attached = {(e["requirement_id"], e.get("sha256") or e.get("url")) for e in api.pages(f"{base}/evidence")}
    added = 0
    for rid, answer in answers.answers.items():
        for item in answer.evidence:
            if (rid, item.sha256 or item.url) in attached:
                continue
            fields = {"title": item.title, **_dates(item)}
            if item.file:
                with open(answers_path.parent / item.file, "rb") as data:
                    upload = {"file": (Path(item.file).name, data)}
                    api.send("POST", f"{base}/requirements/{quote(rid)}/evidence", data=fields, files=upload)
            else:
                api.send("POST", f"{base}/requirements/{quote(rid)}/links", json={"url": item.url, **fields})
            attached.add((rid, item.sha256 or item.url))
            added += 1
    click.echo(
        f"pushed {answers_path} into assessment {assessment_id}{' (started)' if started else ''}: "
        f"{len(saved)} answers saved, {len(body) - len(saved)} unchanged, {added} evidence items attached"
    )


REMOTE_COMMANDS = (pull_command, gate_command, push_command)
