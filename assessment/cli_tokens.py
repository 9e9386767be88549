"""`assessment tokens …`: personal access tokens for the API, made, listed and revoked from the command line.

`create` prints the token alone on standard output (for `ASSESSMENT_TOKEN=$(assessment tokens create …)`);
it is shown once and cannot be read back. Changes go to the audit trail under `cli:<login name>`.
"""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup

from .cli_admin import _apply

tokens_group = AppGroup("tokens", help="Personal access tokens for the API: create, list, revoke.")


@tokens_group.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for (a pipeline, a tool).")
@click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Last day (UTC) it works.")
@click.option("--read-only", is_flag=True, help="The token reads but changes nothing.")
def tokens_create(username: str, name: str, expires: dt.datetime | None, read_only: bool) -> None:
    """Make a token for USERNAME and print it alone (shown once)."""
    from .services import accounts, tokens

    # A date's token works through that day: it expires at the next midnight, UTC.
    expires_at = (expires + dt.timedelta(days=1)).replace(tzinfo=dt.UTC) if expires else None
    _, secret = _apply(
        lambda: tokens.create(accounts.get_user(username), name, expires_at=expires_at, read_only=read_only)
    )
    click.echo(secret)


@tokens_group.command("list")
@click.argument("username")
def tokens_list(username: str) -> None:
    """USERNAME's tokens: id, state, access, last use, name (never the secret)."""
    from .services import accounts, tokens

    for token in _apply(lambda: tokens.listed(accounts.get_user(username))):
        access = "read-only" if token.read_only else "read-write"
        used = token.last_used_at.isoformat() if token.last_used_at else "never"
        click.echo(f"{token.id:<6} {tokens.state(token):<8} {access:<10} {used:<26} {token.name}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID for good."""
    from .services import tokens

    _apply(lambda: tokens.revoke(token_id, by=None))
    click.echo(f"token {token_id} revoked")
