"""The commands that work on files alone: `validate`, `score`, `report`, `bundle`,
`verify-bundle` and `schema`.

They import neither Flask nor SQLAlchemy, so a pipeline that gates on a maturity score pays only
for the engine: the console script runs them through the plain group `files` (assessment.launch),
and `assessment.cli` adds them to the full command group beside the application's commands.
Exit codes follow the spec, section 4: 0 success, 2 invalid input (every problem on standard
error, nothing on standard output), 3 a failed gate.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from .domain.answers import check_target_level, read_answers_file
from .domain.display import level_text, one_decimal
from .domain.errors import ROOT_PATH, InvalidFile, Problem
from .domain.loader import framework_json_schema, framework_paths, load_framework_file
from .domain.schema import Context
from .domain.scoring import Scorecard, score, scorecard_to_dict

EXIT_INVALID = 2
EXIT_GATE = 3


def fail(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)
    sys.exit(EXIT_INVALID)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
def validate(paths: tuple[Path, ...], quiet: bool) -> None:
    """Check framework files (a directory: each *.yaml and *.yml in it)."""
    problems: list[Problem] = []
    valid = 0
    for path in paths:
        if not path.exists():
            problems.append(Problem(str(path), 1, ROOT_PATH, "no such file or directory"))
            continue
        files = framework_paths(path)
        if not files:
            problems.append(Problem(str(path), 1, ROOT_PATH, "no framework files (*.yaml, *.yml) in this directory"))
            continue
        for file in files:
            try:
                framework = load_framework_file(file)
            except InvalidFile as exc:
                problems.extend(exc.problems)
                continue
            valid += 1
            if not quiet:
                click.echo(
                    f"ok  {file}: {framework.id} {framework.version}, {len(framework.domains)} domains, "
                    f"{len(framework.requirements)} requirements"
                )
    if problems:
        fail(problems)
    if not quiet:
        click.echo(f"{valid} framework file(s) valid")


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


def _not_blank(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("must not be empty; leave the option out for the default")
    return None if value is None else value.strip()


@click.command(name="score")
@click.argument("framework_path", metavar="FRAMEWORK", type=click.Path(path_type=Path))
@click.argument("answers_path", metavar="ANSWERS", type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--as-of", callback=_parse_date, metavar="DATE", help="Judge evidence at this date (overrides the file's)."
)
@click.option("--target-level", type=int, metavar="N", help="Target level (overrides the file's).")
@click.option("--fail-under-score", type=float, metavar="X", help="Exit 3 when the overall score is below X.")
@click.option("--fail-under-level", type=int, metavar="N", help="Exit 3 when the overall level is below N.")
def score_command(
    framework_path: Path,
    answers_path: Path,
    output_format: str,
    as_of: dt.date | None,
    target_level: int | None,
    fail_under_score: float | None,
    fail_under_level: int | None,
) -> None:
    """Score one answers file against its framework."""
    framework = _load_framework(framework_path, target_level)
    try:
        answers = read_answers_file(answers_path, framework)
    except InvalidFile as exc:
        fail(exc.problems)
    card = score(framework, answers, as_of=as_of, target_level=target_level)
    if output_format == "json":
        click.echo(json.dumps(scorecard_to_dict(card), indent=2, ensure_ascii=False))
    else:
        click.echo(format_scorecard(card))
    failed = []
    if fail_under_score is not None and (card.score is None or card.score < fail_under_score):
        failed.append(f"overall score {_num(card.score)} is below {fail_under_score:g}")
    if fail_under_level is not None and (card.level is None or card.level < fail_under_level):
        failed.append(f"overall level {card.level if card.level is not None else 'none'} is below {fail_under_level}")
    for reason in failed:
        click.echo(f"gate failed: {reason}", err=True)
    if failed:
        sys.exit(EXIT_GATE)


def _num(value: float | None) -> str:
    return one_decimal(value)


def _level_text(card: Scorecard, number: int | None) -> str:
    return level_text(number, card.framework.level_name(number), missing="none")


def format_scorecard(card: Scorecard) -> str:
    """A readable summary: overall against target, one line per domain, the gaps with their actions."""
    fw = card.framework
    lines = [f"{fw.title} ({fw.id} {fw.version})"]
    lines.append(f"Scope: {card.scope or '-'}    As of: {card.as_of.isoformat()}")
    lines.append("")
    overall = f"Overall score: {_num(card.score)} / 100"
    if fw.is_maturity:
        verdict = ""
        if card.target_level is not None:
            reached = card.level is not None and card.level >= card.target_level
            verdict = f"    target {_level_text(card, card.target_level)}: {'reached' if reached else 'not reached'}"
        overall += f"    Level: {_level_text(card, card.level)}{verdict}"
    lines.append(overall)
    counts = card.counts
    lines.append(
        f"Completion: {one_decimal(card.completion)}%    met {counts.met}, partial {counts.partial}, "
        f"not met {counts.not_met}, not applicable {counts.not_applicable}, unanswered {counts.unanswered}"
    )
    lines.append("")
    lines.append("Domains")
    id_width = max(len(d.domain.id) for d in card.domains)
    title_width = min(40, max(len(d.domain.title) for d in card.domains))
    for d in card.domains:
        title = d.domain.title if len(d.domain.title) <= title_width else d.domain.title[: title_width - 1] + "…"
        row = f"  {d.domain.id:<{id_width}}  {title:<{title_width}}  {_num(d.score):>5}"
        if fw.is_maturity:
            row += f"  level {_level_text(card, d.level)}"
        row += f"  ({d.counts.met} met of {d.counts.total - d.counts.not_applicable} applicable)"
        lines.append(row)
    lines.append("")
    scope = f" up to level {card.target_level}" if fw.is_maturity and card.target_level is not None else ""
    lines.append(f"Gaps{scope}: {len(card.gaps)}")
    for gap in card.gaps:
        req = gap.requirement
        level = f"L{req.level} " if req.level is not None else ""
        status = gap.status.replace("_", " ") + (", unsupported: no current evidence" if gap.unsupported else "")
        lines.append(f"  {level}{req.id}  {req.title}  [{status}]")
        if req.recommendation:
            lines.append(f"      -> {' '.join(req.recommendation.split())}")
    return "\n".join(lines)


def report_inputs(command):
    """The arguments and options every report command takes: the files, the date, the target, the author."""
    decorators = (
        click.argument("framework_path", metavar="FRAMEWORK", type=click.Path(path_type=Path)),
        click.argument("answers_path", metavar="ANSWERS", type=click.Path(path_type=Path)),
        click.option("--as-of", callback=_parse_date, metavar="DATE", help="Evidence date (overrides the file's)."),
        click.option("--target-level", type=int, metavar="N", help="Target level (overrides the file's)."),
        click.option(
            "--prepared-by",
            callback=_not_blank,
            metavar="NAME",
            help="Preparer printed on the cover and the sign-off, and the PDF's author (default: not stated).",
        ),
        click.option("--organisation", callback=_not_blank, metavar="NAME", help="Organisation named on the cover."),
        click.option(
            "--period-start",
            callback=_parse_date,
            metavar="DATE",
            help="First day of the assessment period (default: 90 days before the as-of date).",
        ),
        click.option(
            "--confidentiality",
            callback=_not_blank,
            metavar="TEXT",
            help="Marking on the cover and every page (default: Confidential).",
        ),
    )
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


@contextlib.contextmanager
def _rendering() -> Iterator[None]:
    """A rendering worker's failure as an error message (exit 1) rather than a stack trace."""
    from reports.pool import WorkerFailed

    try:
        yield
    except WorkerFailed as exc:
        raise click.ClickException(f"the report could not be rendered: {exc}") from None


@click.command(name="report")
@report_inputs
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True, help="Output file.")
@click.option("--format", "output_format", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True)
def report_command(
    framework_path: Path,
    answers_path: Path,
    output: Path,
    output_format: str,
    as_of: dt.date | None,
    target_level: int | None,
    prepared_by: str | None,
    organisation: str | None,
    period_start: dt.date | None,
    confidentiality: str | None,
) -> None:
    """Render the auditor-ready report of an answers file (PDF, or the print HTML)."""
    if output_format == "pdf":
        from reports import pool

        pool.warm()  # the rendering workers load WeasyPrint while the files are read
    from reports.render import render_html, render_pdf

    facts = {"organisation": organisation, "period_start": period_start, "confidentiality": confidentiality}
    report = _load_report(framework_path, answers_path, as_of, target_level, prepared_by, facts)
    with _rendering():
        data = render_pdf(report) if output_format == "pdf" else render_html(report).encode("utf-8")
    _write_atomically(output, data)
    click.echo(f"{output}: {output_format.upper()} report {report.id}, {len(data):,} bytes")


@click.command(name="bundle")
@report_inputs
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True, help="Output zip.")
def bundle_command(
    framework_path: Path,
    answers_path: Path,
    output: Path,
    as_of: dt.date | None,
    target_level: int | None,
    prepared_by: str | None,
    organisation: str | None,
    period_start: dt.date | None,
    confidentiality: str | None,
) -> None:
    """Write the evidence bundle: the PDF, every evidence file (E-001-name) and the manifests."""
    import io

    from reports import pool

    pool.warm()  # the rendering workers load WeasyPrint while the files are read
    from reports.bundle import write_bundle
    from reports.render import render_pdf

    facts = {"organisation": organisation, "period_start": period_start, "confidentiality": confidentiality}
    report = _load_report(framework_path, answers_path, as_of, target_level, prepared_by, facts)
    buffer = io.BytesIO()
    with _rendering():
        pdf = render_pdf(report)
    try:
        write_bundle(report, pdf, buffer)
    except ValueError as exc:
        fail([Problem(str(answers_path), 1, ROOT_PATH, str(exc))])
    _write_atomically(output, buffer.getvalue())
    files = sum(1 for e in report.evidence if e.sha256)
    click.echo(f"{output}: bundle of report {report.id}, {files} evidence file(s), {len(report.evidence)} item(s)")


@click.command(name="verify-bundle")
@click.argument("bundle", type=click.Path(path_type=Path))
def verify_bundle_command(bundle: Path) -> None:
    """Recompute every hash of a bundle; name each missing, extra or altered file (exit 2 if any)."""
    from reports.bundle import verify_bundle

    problems = verify_bundle(bundle)
    for problem in problems:
        click.echo(f"{bundle}: {problem}", err=True)
    if problems:
        sys.exit(EXIT_INVALID)
    click.echo(f"{bundle}: every file matches its manifest")


def _load_framework(framework_path: Path, target_level: int | None):
    """The framework file, or exit 2 naming its problems or those of `--target-level`."""
    try:
        framework = load_framework_file(framework_path)
    except InvalidFile as exc:
        fail(exc.problems)
    if target_level is not None:
        ctx = Context("--target-level")
        if not check_target_level(framework, target_level, ctx, 1, "target_level"):
            fail(ctx.problems)
    return framework


def _load_report(framework_path, answers_path, as_of, target_level, prepared_by, facts):
    """The report of the files, or exit 2 naming the problems of either file or of the options."""
    from reports.sources import report_from_files

    framework = _load_framework(framework_path, target_level)
    try:
        return report_from_files(
            framework_path, answers_path, prepared_by=prepared_by, as_of=as_of, target_level=target_level,
            framework=framework, **facts,
        )  # fmt: skip
    except InvalidFile as exc:
        fail(exc.problems)
    except ValueError as exc:  # a period that starts after the as-of date
        raise click.BadParameter(str(exc), param_hint="'--period-start'") from None


def _write_atomically(output: Path, data: bytes) -> None:
    """Write to a temporary file beside `output`, then rename: a failed run leaves nothing half-written."""
    import os
    import tempfile

    directory = output.parent if str(output.parent) else Path(".")
    if not directory.is_dir():
        fail([Problem(str(output), 1, ROOT_PATH, f"cannot write here: {directory} is not a directory")])
    from reports.bundle import follow_umask

    handle, temp = tempfile.mkstemp(dir=directory, prefix=f".{output.name}.")
    try:
        follow_umask(handle)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, output)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@click.command(name="schema")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to this file.")
def schema_command(output: Path | None) -> None:
    """Print (or write) the JSON Schema of the framework format."""
    text = json.dumps(framework_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


FILE_COMMANDS = (validate, score_command, report_command, bundle_command, verify_bundle_command, schema_command)


@click.group(help="Maturity assessment and governance tracking: validate frameworks, score answers, render reports.")
def files() -> None:
    """The file commands on their own (see the module's docstring)."""


for _command in FILE_COMMANDS:
    files.add_command(_command)
