"""`assessment pull` and `assessment gate`: assessment-as-code against a server, through its /api/v1.

A client of the API, nothing more: neither Flask nor SQLAlchemy is imported, the token comes from
ASSESSMENT_TOKEN (never an option, so it stays out of shell histories and process lists), and every refusal
of the server is printed with the problem's own detail. Exit codes follow the file commands': 0 done (or the
gate passed), 2 invalid input or a request the server refused, 3 a failed gate.

`pull` writes the web export's files (framework.yaml, answers.yaml, evidence/) into a folder, refusing any
zip member that would land outside it. `gate` judges a scope's latest approved assessment against a level
and a score, for a pipeline.
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
        import requests

        url = path if path.startswith(("http://", "https://")) else self.base + path
        try:
            response = self.http.get(url, params=params, stream=stream, timeout=TIMEOUT)
        except requests.RequestException as error:
            _refused(f"{self.base}: {error}")
        if response.status_code >= 400:
            _refused(f"GET {url}: {response.status_code} {_problem_detail(response)}")
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


REMOTE_COMMANDS = (pull_command, gate_command)
