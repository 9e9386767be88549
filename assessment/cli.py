"""The `assessment` command line: a Flask CLI group, so application commands join it.

Exit codes follow the spec, section 4: 0 success, 2 invalid input (every problem on standard
error, nothing on standard output), 3 a failed gate.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup
from flask_migrate.cli import db as migrations_group

from .cli_admin import audit_group, cli_actor, users_group
from .cli_config import config_group
from .cli_files import EXIT_INVALID, FILE_COMMANDS, fail
from .cli_storage import storage_group
from .cli_tokens import tokens_group
from .config import default_library_dir
from .domain.errors import ROOT_PATH, Problem


def _create_app():
    from . import create_app
    from .config import UnsafeSecretKey
    from .domain.sso import SsoConfigError

    try:
        return create_app()
    except (UnsafeSecretKey, SsoConfigError) as refused:  # one line a person can act on, not a traceback
        click.echo(f"error: {refused}", err=True)
        sys.exit(EXIT_INVALID)


class CommandGroup(FlaskGroup):
    """Flask's command group, listing its commands without building the application: building it
    made `assessment --help` take two seconds, only to find Flask-Migrate's `db` group, which is
    added to this group directly below. A command that is not found here is still looked up in the
    application, as Flask does."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return sorted(click.Group.list_commands(self, ctx))


@click.group(
    cls=CommandGroup,
    create_app=_create_app,
    add_default_commands=True,
    load_dotenv=False,
    help="Maturity assessment and governance tracking: validate frameworks, score answers, serve the app.",
)
def cli() -> None:
    """The `assessment` command group."""


@cli.group(name="frameworks")
def frameworks_group() -> None:
    """The framework library."""


@frameworks_group.command(name="list", with_appcontext=False)
@click.option(
    "--library",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Library directory (default: $ASSESSMENT_LIBRARY or the shipped frameworks/).",
)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def frameworks_list(library: Path | None, output_format: str) -> None:
    """List the library's frameworks: id, version, kind, domain and requirement counts."""
    from .services.library import read_library, summarise  # SQLAlchemy: loaded only by the commands that need it

    directory = library or default_library_dir()
    if not directory.is_dir():
        fail([Problem(str(directory), 1, ROOT_PATH, "no such directory")])
    frameworks, problems = read_library(directory)
    if not frameworks and not problems:
        fail([Problem(str(directory), 1, ROOT_PATH, "no framework files (*.yaml, *.yml) in this directory")])
    rows = [summarise(f) for f in frameworks]
    if output_format == "json":
        click.echo(json.dumps([row.__dict__ for row in rows], indent=2))
    else:
        header = ("ID", "VERSION", "KIND", "DOMAINS", "REQUIREMENTS", "TITLE")
        table = [header] + [(r.id, r.version, r.kind, str(r.domains), str(r.requirements), r.title) for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(5)]
        for row in table:
            cells = [
                row[0].ljust(widths[0]),
                row[1].ljust(widths[1]),
                row[2].ljust(widths[2]),
                row[3].rjust(widths[3]),
                row[4].rjust(widths[4]),
                row[5],
            ]
            click.echo("  ".join(cells))
    if problems:
        fail(problems)


@frameworks_group.command(name="import")
@click.option(
    "--library",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Library directory (default: the app's LIBRARY_DIR).",
)
def frameworks_import(library: Path | None) -> None:
    """Import the library's framework files into the database (a changed file adds a version)."""
    from flask import current_app

    from .extensions import db
    from .services.audit import acting_as
    from .services.library import import_library

    with acting_as(cli_actor()):
        report = import_library(library or Path(current_app.config["LIBRARY_DIR"]))
    db.session.commit()
    for line in report.added:
        click.echo(f"added      {line}")
    click.echo(f"{len(report.added)} added, {len(report.unchanged)} unchanged")
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if report.problems:
        sys.exit(EXIT_INVALID)


@cli.group(name="mappings")
def mappings_group() -> None:
    """Mapping sets between frameworks: answer once, satisfy many."""


@mappings_group.command(name="import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
def mappings_import(file: Path) -> None:
    """Import a CISO Assistant mapping library (YAML) or an OSCAL mapping collection (JSON) as one set."""
    from .domain.errors import InvalidFile
    from .extensions import db
    from .services.audit import acting_as
    from .services.mappings import import_mapping_file

    actor = cli_actor()
    try:
        with acting_as(actor):
            row = import_mapping_file(file.read_bytes(), file.name, actor)
    except InvalidFile as error:
        db.session.rollback()
        for problem in error.problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_INVALID)
    db.session.commit()
    click.echo(f"imported   mapping set {row.id}: {row.name} ({len(row.mappings)} mappings)")


@cli.group(name="snapshots")
def snapshots_group() -> None:
    """The score snapshots dashboards and trends read."""


@snapshots_group.command(name="refresh")
@click.option("--scope", "scope_id", type=int, default=None, help="Only this scope's assessments (its id).")
@click.option("--now", is_flag=True, help="Score them in this command instead of queuing a job for a worker.")
def snapshots_refresh(scope_id: int | None, now: bool) -> None:
    """Bring the score snapshots up to date: a job on the queue (one waiting is reused), or here with --now."""
    from flask import current_app

    from .adapters import report_jobs
    from .extensions import db, report_store
    from .models import Scope
    from .services.job_requests import request_snapshots

    if scope_id is not None and db.session.get(Scope, scope_id) is None:
        fail([f"No scope has the id {scope_id}."])
    app = current_app._get_current_object()
    if now:
        app.config["REPORTS_SYNC"] = True
    job = request_snapshots(scope_id, cli_actor())
    db.session.commit()
    report_jobs.start(app, job, report_store(app))
    db.session.refresh(job)
    click.echo(f"job {job.id}: {job.status}{': ' + job.message if job.message else ''}")
    if job.status == "failed":
        sys.exit(1)


@cli.command(name="init")
@click.option("--no-demo", is_flag=True, help="Do not create the demo workspace.")
def init_command(no_demo: bool) -> None:
    """Prepare the instance: migrate the database, import the library, add the demo on an empty instance."""
    from flask import current_app
    from flask_migrate import upgrade

    from .extensions import db, report_store
    from .services.audit import acting_as, ensure_key
    from .services.demo import load_demo, load_demo_users
    from .services.library import import_library

    upgrade()
    ensure_key()  # the audit trail's key, in instance/ (unless ASSESSMENT_TRAIL_KEY is set)
    with acting_as(cli_actor()):
        report = import_library(Path(current_app.config["LIBRARY_DIR"]))
        db.session.commit()
    click.echo(f"library: {len(report.added)} framework version(s) added, {len(report.unchanged)} unchanged")
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if not no_demo:
        store = report_store(current_app).evidence  # the folder, or the S3 bucket
        with acting_as("demo"):
            scope = load_demo(store)
            people = load_demo_users(scope)
            db.session.commit()
        if scope is not None:
            click.echo(f"demo: scope {scope.name!r} with a partly completed assessment")
        if people:
            click.echo("demo users (sign in at /login; change these passwords before real use):")
            for username, role, password in people:
                click.echo(f"  {username:<8} {role:<13} password: {password}")


for _command in FILE_COMMANDS:
    cli.add_command(_command)
cli.add_command(users_group)
cli.add_command(audit_group)
cli.add_command(tokens_group)
cli.add_command(config_group)
cli.add_command(storage_group)
cli.add_command(migrations_group, name="db")  # the group Flask-Migrate adds to the application's commands


@cli.command(name="run", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="The interface to listen on.")
@click.option("--port", default=5000, type=click.IntRange(0, 65535), show_default=True, help="The port to listen on.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Web worker processes (default: $WEB_CONCURRENCY, else 2).",
)
@click.option("--dev", is_flag=True, help="Flask's development server, one process: never in production.")
@click.option(
    "--no-worker",
    is_flag=True,
    help="Start no background jobs' worker beside the web workers (run `assessment worker` elsewhere).",
)
def run_command(host: str, port: int, workers: int | None, dev: bool, no_worker: bool) -> None:
    """Serve the application: through gunicorn with several worker processes and a supervised background
    jobs' worker, or with --dev through Flask's development server. SIGTERM finishes the requests in flight
    and stops; SIGHUP replaces the web workers without closing the socket."""
    from .serving import BadSetting, serve, workers_from_environment

    try:
        count = workers or workers_from_environment()
    except BadSetting as bad:
        click.echo(f"error: {bad}", err=True)
        sys.exit(EXIT_INVALID)
    app = _create_app()
    if dev:
        from werkzeug.serving import run_simple

        from .serving import supervisor_command

        supervisor = None if no_worker else subprocess.Popen(supervisor_command())
        try:
            run_simple(host, port, app, threaded=True)
        finally:
            if supervisor is not None:
                supervisor.terminate()
                supervisor.wait(timeout=60)
    else:
        serve(app, host, port, count, with_job_worker=not no_worker)


@cli.command(name="worker", with_appcontext=False)
@click.option("--supervised", is_flag=True, help="Run one worker and start it again whenever it stops.")
@click.option("--server-pid", type=int, hidden=True, help="With --supervised: stop when this process is gone.")
def worker_command(supervised: bool, server_pid: int | None) -> None:
    """Run background jobs (reports, bundles, large imports, score snapshots) from the queue: Redis when
    REDIS_URL is set, else the instance's queue file. Any number of workers, on any machine, may share one
    queue and database. SIGTERM or SIGINT stops it; a job it was running is queued again."""
    if supervised:
        from .serving import supervise

        supervise(server_pid=server_pid)
    from .adapters import background

    background.run_worker(_create_app())


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="assessment")
