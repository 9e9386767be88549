"""`assessment users …` and `assessment audit verify`: administration from the command line.

Changes made here go to the audit trail under the actor `cli:<login name>`.
"""

from __future__ import annotations

import getpass
import os
import sys

import click
from flask.cli import AppGroup

EXIT_INVALID = 2

users_group = AppGroup(
    "users", help="Accounts: create, set-role, disable, enable, set-password, end-sessions, reset-mfa, list."
)
audit_group = AppGroup("audit", help="The audit trail: verify its hash chain, keyed MACs and checkpoints.")


def cli_actor() -> str:
    """Who runs the command, as the audit trail names them."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = str(os.getuid())
    return f"cli:{name}"


def _apply(change) -> None:
    """Run a change as the command's actor, commit it, or print the error and exit 2."""
    from .extensions import db
    from .services import audit
    from .services.errors import ServiceError

    try:
        with audit.acting_as(cli_actor()):
            result = change()
            db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        click.echo(f"error: {error.message}", err=True)
        sys.exit(EXIT_INVALID)
    return result


def _password(value: str | None, stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    if value:
        return value
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_group.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "lead", "member", "auditor"]))
@click.option("--name", "display_name", default="", help="Full name shown in the app.")
@click.option("--password", default=None, help="The password (prefer the prompt or --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def users_create(username: str, role: str, display_name: str, password: str | None, password_stdin: bool) -> None:
    """Add an account."""
    from .services import accounts

    secret = _password(password, password_stdin)
    user = _apply(lambda: accounts.create_user(username, display_name, role, secret))
    click.echo(f"created {user.username} ({accounts.ROLE_LABELS[user.role]})")


@users_group.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(["admin", "lead", "member", "auditor"]))
def users_set_role(username: str, role: str) -> None:
    """Change an account's role."""
    from .services import accounts

    user = _apply(lambda: accounts.set_role(username, role))
    click.echo(f"{user.username} is now {accounts.ROLE_LABELS[user.role]}")


@users_group.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable an account: it cannot sign in, and its open sessions end."""
    from .services import accounts

    user = _apply(lambda: accounts.set_disabled(username, True))
    click.echo(f"{user.username} is disabled")


@users_group.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Enable a disabled account again."""
    from .services import accounts

    user = _apply(lambda: accounts.set_disabled(username, False))
    click.echo(f"{user.username} is enabled")


@users_group.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def users_set_password(username: str, password_stdin: bool) -> None:
    """Replace an account's password."""
    from .services import accounts

    secret = _password(None, password_stdin)
    user = _apply(lambda: accounts.set_password(username, secret))
    click.echo(f"password of {user.username} changed")


@users_group.command("end-sessions")
@click.argument("username")
def users_end_sessions(username: str) -> None:
    """End every open session of an account (its cookies, copies included, stop working)."""
    from .services import accounts

    ended = _apply(lambda: accounts.end_sessions(accounts.get_user(username), "ended by an admin", always_record=True))
    click.echo(f"{ended} session(s) of {username.strip().lower()} ended")


@users_group.command("reset-mfa")
@click.argument("username")
def users_reset_mfa(username: str) -> None:
    """Switch an account's second factor off (a lost phone, the last admin's included); the trail records it."""
    from .services import accounts, mfa

    _apply(lambda: mfa.reset(accounts.get_user(username), by=None))
    click.echo(f"second factor of {username.strip().lower()} reset: sign in with the password and set it up again")


@users_group.command("list")
def users_list() -> None:
    """Every account: user name, role, state, name."""
    from .services import accounts

    for user in accounts.list_users():
        state = "disabled" if user.disabled else "active"
        click.echo(f"{user.username:<20} {user.role:<8} {state:<8} {user.display_name}")


def _anchor(_ctx, _param, values: tuple[str, ...]):
    from .domain.trail import parse_anchor

    try:
        return tuple(parse_anchor(v, f"the anchor {v[:20]}… given on the command line") for v in values)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@audit_group.command("verify")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    callback=_anchor,
    metavar="SEQ:HEAD",
    help="An anchor printed in a report or a bundle's manifest.json: the trail must still hold that entry "
    "with that hash. May be given more than once.",
)
def audit_verify(anchors) -> None:
    """Check the whole trail: its hash chain, every entry's keyed MAC, the signed checkpoints of
    instance/audit-checkpoints.jsonl and any --anchor. Exit 2 naming the entry and the check that fail."""
    from .adapters.trail_anchor import TrailKeyError
    from .services import audit

    try:
        result = audit.check(anchors)
    except TrailKeyError as error:
        click.echo(f"audit trail cannot be checked: {error}", err=True)
        sys.exit(EXIT_INVALID)
    verdict = result.verdict
    for problem in result.problems:
        click.echo(f"audit trail checkpoint BROKEN: {problem}", err=True)
    if verdict.ok and not result.problems:
        click.echo(f"audit trail intact: {verdict.count} entries, head {verdict.head}")
        last = result.last_checkpoint
        against = f"; last checkpoint at entry {last.seq} ({last.at})" if last else ""
        click.echo(f"checked against {result.checkpoints} checkpoint(s){against} and {len(anchors)} anchor(s)")
        if not result.checkpoints and verdict.count:
            click.echo("no checkpoint file: a deleted tail is found only against an --anchor", err=True)
        if result.first_keyed and result.first_keyed > 1:
            click.echo(
                f"entries 1 to {result.first_keyed - 1} predate the trail key: they are covered by the public "
                f"hash chain up to entry {result.first_keyed}, whose keyed MAC covers them"
            )
        return
    broken = verdict.broken
    if broken is not None:
        row = f"row id {broken.entry_id}" if broken.entry_id is not None else "no row"
        click.echo(
            f"audit trail BROKEN at entry {broken.seq} ({row}), {broken.check} check: {broken.reason}. "
            f"{verdict.count} entries before it verify.",
            err=True,
        )
    sys.exit(EXIT_INVALID)
