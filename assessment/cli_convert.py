"""`assessment convert`: another tool's catalogue (so far a CISO Assistant library) -> a framework file of ours.

Like the other file commands it imports neither Flask nor SQLAlchemy. The result is checked by the
framework loader before anything is written, so a file it writes always validates. Exit 0 on
success, 2 when the source cannot be converted (every problem on standard error, nothing written).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .domain.convert import convert_text
from .domain.errors import InvalidFile, Problem
from .domain.loader import load_framework_text
from .domain.yamlread import read_text

EXIT_INVALID = 2


def _fail(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)
    sys.exit(EXIT_INVALID)


@click.command(name="convert")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to this file.")
def convert_command(source: Path, output: Path | None) -> None:
    """Turn a CISO Assistant library (YAML) into a framework file; print it, or write it with -o."""
    try:
        text = convert_text(read_text(source), str(source))
        framework = load_framework_text(text, str(output or "<converted>"))
    except InvalidFile as exc:
        _fail(exc.problems)
    if output is None:
        click.echo(text, nl=False)
        return
    from .cli_files import _write_atomically  # here: cli_files imports this module

    _write_atomically(output, text.encode("utf-8"))
    click.echo(
        f"wrote {output}: {framework.id} {framework.version}, {len(framework.domains)} domains, "
        f"{len(framework.requirements)} requirements",
        err=True,
    )
