"""`assessment answers export|import`: an answers file as a spreadsheet (CSV or XLSX) and back.

For teams who answer in a spreadsheet first: export the questionnaire (every requirement, with
its allowed values), fill it in, import it into an answers file of the spec (section 2). The
columns and rules are `domain/answer_sheet.py`'s. No Flask, no SQLAlchemy.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli_convert import read_source
from .domain.answer_sheet import read_answer_sheet, to_csv, to_xlsx
from .domain.answers import Answers, read_answers_file
from .domain.answers_writer import answers_to_yaml
from .domain.errors import ROOT_PATH, InvalidFile, Problem
from .domain.loader import load_framework_file

SHEET_SUFFIXES = (".csv", ".xlsx")


@click.group(name="answers")
def answers_group() -> None:
    """Answers as a spreadsheet (CSV or XLSX): export one to fill in, import one into an answers file."""


def _framework(path: Path):
    from .cli_files import fail

    try:
        return load_framework_file(path)
    except InvalidFile as exc:
        fail(exc.problems)


def _suffix(path: Path, allowed: tuple[str, ...], what: str) -> str:
    from .cli_files import fail

    suffix = path.suffix.lower()
    if suffix not in allowed:
        fail([Problem(str(path), 1, ROOT_PATH, f"{what} must end in {' or '.join(allowed)}")])
    return suffix


@answers_group.command(name="export")
@click.argument("framework_path", metavar="FRAMEWORK", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("answers_path", metavar="[ANSWERS]", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The sheet to write: .xlsx or .csv.")  # fmt: skip
def export_command(framework_path: Path, answers_path: Path | None, output: Path) -> None:
    """Write every requirement of FRAMEWORK as a sheet, with the answers of ANSWERS where given."""
    from .cli_files import _write_atomically, fail

    suffix = _suffix(output, SHEET_SUFFIXES, "-o")
    framework = _framework(framework_path)
    if answers_path is None:
        answers = Answers(framework.id, framework.version)
    else:
        try:
            answers = read_answers_file(answers_path, framework)
        except InvalidFile as exc:
            fail(exc.problems)
    data = to_xlsx(framework, answers) if suffix == ".xlsx" else to_csv(framework, answers).encode("utf-8")
    _write_atomically(output, data)
    click.echo(f"{output}: {len(framework.requirements)} requirements, {len(answers.answers)} answered", err=True)


@answers_group.command(name="import")
@click.argument("framework_path", metavar="FRAMEWORK", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("sheet_path", metavar="SHEET", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="The answers file to write (YAML); standard output without it.")  # fmt: skip
@click.option("--scope", help="The answers file's scope (the team or system assessed).")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), help="The answers' date (YYYY-MM-DD).")
def import_command(framework_path: Path, sheet_path: Path, output: Path | None, scope: str | None, as_of) -> None:
    """Read a filled-in SHEET (.xlsx or .csv) into an answers file of FRAMEWORK: exit 2 naming each bad cell."""
    from .cli_files import _write_atomically, fail

    _suffix(sheet_path, SHEET_SUFFIXES, "SHEET")
    framework = _framework(framework_path)
    try:
        base = Answers(framework.id, framework.version, scope=scope, as_of=as_of.date() if as_of else None)
        answers = read_answer_sheet(read_source(sheet_path), str(sheet_path), framework, base)
        text = answers_to_yaml(answers, framework)
    except InvalidFile as exc:
        fail(exc.problems)
    if output is None:
        click.echo(text, nl=False)
        return
    _write_atomically(output, text.encode("utf-8"))
    click.echo(f"{output}: {len(answers.answers)} answers from {sheet_path}", err=True)
