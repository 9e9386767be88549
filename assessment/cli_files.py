"""The commands that work on files alone: `validate`, `score`, `report`, `bundle`,
`verify-bundle`, `verify-report`, `schema` and `oscal` (and `dora`, `convert` from their own modules).

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
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from .cli_answers import answers_group
from .cli_convert import convert_command
from .cli_delivery import dora_command
from .cli_remote import REMOTE_COMMANDS  # pull and gate: clients of a server, no Flask either
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
@click.argument("more_events", metavar="[EVENTS...]", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--events",
    "events_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="EVENTS",
    help="Delivery events files: unanswered metric questions take their measured value (more files may follow).",
)
@click.option("--service", callback=_not_blank, metavar="S", help="The service measured (default: the answers' scope).")
@click.option("--days", type=int, metavar="N", help="Days of events that end on the as-of date (default 90).")
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
    more_events: tuple[Path, ...],
    events_paths: tuple[Path, ...],
    service: str | None,
    days: int | None,
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
    events_paths = events_paths + more_events
    if more_events and not events_paths[: len(events_paths) - len(more_events)]:
        raise click.UsageError("score takes FRAMEWORK and ANSWERS; events files follow --events")
    if events_paths:
        answers = _measured(framework, answers, events_paths, service, days, as_of)
    elif service is not None or days is not None:
        raise click.UsageError("--service and --days go with --events")
    card = score(framework, answers, as_of=as_of, target_level=target_level)
    if output_format == "json":
        click.echo(json.dumps(scorecard_to_dict(card), indent=2, ensure_ascii=False))
    else:
        click.echo(format_scorecard(card))
    failed = gate_failures(card.score, card.level, fail_under_score, fail_under_level)
    for reason in failed:
        click.echo(f"gate failed: {reason}", err=True)
    if failed:
        sys.exit(EXIT_GATE)


def _measured(framework, answers, events_paths, service, days, as_of):
    """The answers with their unanswered metric questions filled from the events (delivery-events.md, 5)."""
    from .cli_delivery import read_or_exit, window_of
    from .domain.delivery.fill import fill_from_metrics

    service = service or answers.scope
    if not service:
        raise click.UsageError("the answers name no scope: say which service to measure with --service")
    window = window_of(as_of or answers.as_of or dt.date.today(), days, None, None)
    return fill_from_metrics(framework, answers, read_or_exit(events_paths), service, window).answers


def gate_failures(
    score: float | None, level: int | None, fail_under_score: float | None, fail_under_level: int | None
) -> list[str]:
    """Why an overall score and level fail the gate's bars (none: it passes); no score or level fails a bar.
    The one rule of `score` on files and `gate` against a server."""
    failed = []
    if fail_under_score is not None and (score is None or score < fail_under_score):
        failed.append(f"overall score {_num(score)} is below {fail_under_score:g}")
    if fail_under_level is not None and (level is None or level < fail_under_level):
        failed.append(f"overall level {level if level is not None else 'none'} is below {fail_under_level}")
    return failed


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


def signing_options(command):
    """The options that sign a report or bundle: key, certificate, the key's password, a timestamp server."""
    decorators = (
        click.option(
            "--sign-key", type=click.Path(path_type=Path, dir_okay=False), envvar="ASSESSMENT_SIGNING_KEY",
            help="Sign with this private key (PEM or DER; default $ASSESSMENT_SIGNING_KEY).",
        ),
        click.option(
            "--sign-cert", type=click.Path(path_type=Path, dir_okay=False), envvar="ASSESSMENT_SIGNING_CERT",
            help="The signer's certificate, optionally followed by its chain (default $ASSESSMENT_SIGNING_CERT).",
        ),
        click.option(
            "--sign-key-password-env", metavar="VAR",
            help="Read the password of an encrypted key from this variable (default $ASSESSMENT_SIGNING_KEY_PASSWORD).",
        ),
        click.option(
            "--timestamp-url", metavar="URL", envvar="ASSESSMENT_TIMESTAMP_URL",
            help="Timestamp the signature at this RFC 3161 server (default $ASSESSMENT_TIMESTAMP_URL).",
        ),
    )  # fmt: skip
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def _signing(sign_key: Path | None, sign_cert: Path | None, password_env: str | None, timestamp_url: str | None):
    """The signing configuration of the options, None when unsigned, or exit 2 saying what is missing."""
    from reports.signing import SigningConfig

    if sign_key is None and sign_cert is None:
        if timestamp_url and not os.environ.get("ASSESSMENT_TIMESTAMP_URL") == timestamp_url:
            fail(
                [
                    Problem(
                        "--timestamp-url",
                        1,
                        ROOT_PATH,
                        "a timestamp needs a signature: give --sign-key and --sign-cert",
                    )
                ]
            )
        return None
    if sign_key is None or sign_cert is None:
        given, missing = ("--sign-key", "--sign-cert") if sign_cert is None else ("--sign-cert", "--sign-key")
        fail([Problem(given, 1, ROOT_PATH, f"{given} needs {missing} too")])
    password = os.environ.get("ASSESSMENT_SIGNING_KEY_PASSWORD", "").encode("utf-8") or None
    if password_env:
        if password_env not in os.environ:
            fail([Problem("--sign-key-password-env", 1, ROOT_PATH, f"the variable {password_env} is not set")])
        password = os.environ[password_env].encode("utf-8")
    if timestamp_url and not timestamp_url.startswith(("http://", "https://")):
        fail([Problem("--timestamp-url", 1, ROOT_PATH, f"{timestamp_url!r} is not an http:// or https:// URL")])
    return SigningConfig(sign_key, sign_cert, password, timestamp_url or None)


def _signed(config, render):
    """`render()` with a signing failure (a bad key, an unreachable timestamp server) as exit 2."""
    from reports.signing import SigningError

    try:
        return render()
    except SigningError as exc:
        fail([Problem(str(config.key if config else "--sign-key"), 1, ROOT_PATH, str(exc))])


def _default_output(report, suffix: str) -> Path:
    from reports.bundle import report_file_name

    return Path(report_file_name(report.meta.scope, report.framework.id, report.card.as_of, report.id, suffix))


@click.command(name="report")
@report_inputs
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
    help="Output file (default SCOPE-FRAMEWORK-ASOF-REPORTID.pdf here).",
)  # fmt: skip
@click.option("--format", "output_format", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True)
@signing_options
def report_command(
    framework_path: Path,
    answers_path: Path,
    output: Path | None,
    output_format: str,
    as_of: dt.date | None,
    target_level: int | None,
    prepared_by: str | None,
    sign_key: Path | None,
    sign_cert: Path | None,
    sign_key_password_env: str | None,
    timestamp_url: str | None,
    organisation: str | None,
    period_start: dt.date | None,
    confidentiality: str | None,
) -> None:
    """Render the auditor-ready report of an answers file (PDF, or the print HTML).

    The PDF carries score.json, answers.yaml and evidence-manifest.json as attachments
    (`assessment verify-report` checks them); with --sign-key and --sign-cert it is signed (PAdES)."""
    config = _signing(sign_key, sign_cert, sign_key_password_env, timestamp_url)
    if output_format == "html" and config is not None:
        source = click.get_current_context().get_parameter_source("sign_key")
        if source != click.core.ParameterSource.ENVIRONMENT:
            fail([Problem("--sign-key", 1, ROOT_PATH, "only a PDF report can be signed (--format pdf)")])
        config = None  # the environment's key is for PDFs; the print HTML is never signed
    if output_format == "pdf":
        from reports import pool

        pool.warm()  # the rendering workers load WeasyPrint while the files are read
    from reports.render import render_html
    from reports.signing import render_report

    facts = {"organisation": organisation, "period_start": period_start, "confidentiality": confidentiality}
    report = _load_report(framework_path, answers_path, as_of, target_level, prepared_by, facts)
    with _rendering():
        if output_format == "pdf":
            report, data = _signed(config, lambda: render_report(report, config))
        else:
            data = render_html(report).encode("utf-8")
    output = output or _default_output(report, f".{output_format}")
    _write_atomically(output, data)
    click.echo(f"{output}: {output_format.upper()} report {report.id}, {len(data):,} bytes")
    if output_format == "pdf":
        click.echo(f"{output}: {report.signing_text if report.signed else 'unsigned'}")


@click.command(name="bundle")
@report_inputs
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
    help="Output zip (default SCOPE-FRAMEWORK-ASOF-REPORTID-bundle.zip here).",
)  # fmt: skip
@click.option(
    "--report", "report_pdf", type=click.Path(path_type=Path, dir_okay=False), metavar="REPORT.pdf",
    help="Pack this report (made by `assessment report` from the same files) instead of rendering one.",
)  # fmt: skip
@signing_options
def bundle_command(
    framework_path: Path,
    answers_path: Path,
    output: Path | None,
    report_pdf: Path | None,
    as_of: dt.date | None,
    target_level: int | None,
    prepared_by: str | None,
    sign_key: Path | None,
    sign_cert: Path | None,
    sign_key_password_env: str | None,
    timestamp_url: str | None,
    organisation: str | None,
    period_start: dt.date | None,
    confidentiality: str | None,
) -> None:
    """Write the evidence bundle: the PDF, every evidence file (E-001-name) and the manifests.

    With --sign-key and --sign-cert the PDF is signed and manifest.json gets a detached signature
    (manifest.json.p7s); with --report the given PDF is packed as it is, after checking it is the
    report of these files."""
    import io

    from reports import pool

    config = _signing(sign_key, sign_cert, sign_key_password_env, timestamp_url)
    if report_pdf is None:
        pool.warm()  # the rendering workers load WeasyPrint while the files are read
    from reports.bundle import write_bundle
    from reports.signing import render_report

    facts = {"organisation": organisation, "period_start": period_start, "confidentiality": confidentiality}
    report = _load_report(framework_path, answers_path, as_of, target_level, prepared_by, facts)
    if report_pdf is not None:
        pdf = _existing_report(report_pdf, report)
    else:
        with _rendering():
            report, pdf = _signed(config, lambda: render_report(report, config))
    buffer = io.BytesIO()
    try:
        _signed(config, lambda: write_bundle(report, pdf, buffer, config))
    except ValueError as exc:
        fail([Problem(str(answers_path), 1, ROOT_PATH, str(exc))])
    output = output or _default_output(report, "-bundle.zip")
    _write_atomically(output, buffer.getvalue())
    files = sum(1 for e in report.evidence if e.sha256)
    click.echo(f"{output}: bundle of report {report.id}, {files} evidence file(s), {len(report.evidence)} item(s)")
    click.echo(f"{output}: {'manifest signed by ' + _signer_subject(config) if config else 'unsigned'}")


def _signer_subject(config) -> str:
    from reports.signing import load_signer, subject_of

    return subject_of(load_signer(config))


def _existing_report(path: Path, report) -> bytes:
    """The bytes of an existing report PDF, or exit 2 when it is not the report of these files: its
    attachments must name this report's id and hold its score JSON exactly."""
    from reports.attachments import SCORE_JSON, UnreadableAttachments, read_attachments
    from reports.report_check import Outcome, check_report_ids

    try:
        pdf = path.read_bytes()
        attachments = read_attachments(pdf)
    except OSError as error:
        fail([Problem(str(path), 1, ROOT_PATH, f"cannot read it: {error.strerror}")])
    except UnreadableAttachments as error:
        fail([Problem(str(path), 1, ROOT_PATH, str(error))])
    if SCORE_JSON not in attachments or "evidence-manifest.json" not in attachments:
        fail(
            [Problem(str(path), 1, ROOT_PATH, "this PDF has no report attachments; render it with `assessment report`")]
        )
    outcome = Outcome()
    check_report_ids(pdf, attachments, outcome)
    problems = list(outcome.problems)
    if outcome.report_id is not None and outcome.report_id != report.id:
        problems.append(f"it is report {outcome.report_id}, but these files make report {report.id}")
    try:
        stated = json.loads(attachments[SCORE_JSON])
    except ValueError:
        stated = None
    if stated != json.loads(json.dumps(report.score_json)):
        problems.append("its score.json is not the score of these files")
    if problems:
        fail([Problem(str(path), 1, ROOT_PATH, problem) for problem in problems])
    return pdf


@click.command(name="verify-report")
@click.argument("report_path", metavar="REPORT.pdf", type=click.Path(path_type=Path))
@click.option(
    "--framework", "framework_path", type=click.Path(path_type=Path, dir_okay=False), metavar="FRAMEWORK.yaml",
    help="Re-score the report's answers.yaml against this framework file and compare with its score.json.",
)  # fmt: skip
@click.option(
    "--trust", "trust_path", type=click.Path(path_type=Path, dir_okay=False), metavar="CERT.pem",
    help="Require a signature by this certificate or a signer it certified.",
)  # fmt: skip
def verify_report_command(report_path: Path, framework_path: Path | None, trust_path: Path | None) -> None:
    """Check a report PDF on its own: its attachments, its report id, its figures and its signature.

    Exit 0 when every check holds, 1 naming each problem, 2 when the PDF or a file cannot be read."""
    from reports.report_check import UnreadableReport, verify_report

    trust = _trust(trust_path)
    try:
        outcome = verify_report(report_path, framework_path, trust)
    except UnreadableReport as exc:
        click.echo(f"{report_path}: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    for line in outcome.checked:
        click.echo(f"{report_path}: ok  {line}")
    for problem in outcome.problems:
        click.echo(f"{report_path}: {problem}", err=True)
    if outcome.problems:
        sys.exit(1)


def _trust(trust_path: Path | None):
    """The certificates of --trust, or exit 2."""
    if trust_path is None:
        return None
    from reports.signing import SigningError, load_trust

    try:
        return load_trust(trust_path)
    except SigningError as exc:
        click.echo(f"--trust: {exc}", err=True)
        sys.exit(EXIT_INVALID)


@click.command(name="verify-bundle")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option(
    "--trust", "trust_path", type=click.Path(path_type=Path, dir_okay=False), metavar="CERT.pem",
    help="Require a signature by this certificate or a signer it certified.",
)  # fmt: skip
def verify_bundle_command(bundle: Path, trust_path: Path | None) -> None:
    """Recompute every hash of a bundle and check its signature; name each missing, extra or altered
    file and a signature that does not verify (exit 2 if any)."""
    from reports.bundle_check import check_bundle

    problems, signature = check_bundle(bundle, _trust(trust_path))
    for problem in problems:
        click.echo(f"{bundle}: {problem}", err=True)
    if problems:
        sys.exit(EXIT_INVALID)
    click.echo(f"{bundle}: every file matches its manifest")
    for line in signature.lines("manifest signature") if signature else ():
        click.echo(f"{bundle}: {line}")


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


@click.group(name="oscal")
def oscal_group() -> None:
    """OSCAL 1.1.2 JSON out of an answers file: assessment results and a plan of action and milestones."""


def _oscal_command(name: str, function: str, what: str):
    """One `assessment oscal` command: the report of the files, written by `reports.oscal.<function>`."""

    @oscal_group.command(name=name, help=f"Write the OSCAL {what} of an answers file (JSON; stdout without -o).")
    @report_inputs
    @click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to this file.")
    def command(framework_path, answers_path, output, as_of, target_level, prepared_by, **facts) -> None:
        from reports import oscal

        report = _load_report(framework_path, answers_path, as_of, target_level, prepared_by, facts)
        text = getattr(oscal, function)(report)
        if output is None:
            click.echo(text, nl=False)
            return
        _write_atomically(output, text.encode("utf-8"))
        click.echo(f"{output}: OSCAL {what} of report {report.id}, {len(report.card.gaps)} gap(s)", err=True)

    return command


_oscal_command("results", "assessment_results_json", "assessment results")
_oscal_command("poam", "poam_json", "plan of action and milestones")


FILE_COMMANDS = (
    validate, score_command, report_command, bundle_command, verify_bundle_command, verify_report_command,
    schema_command, dora_command, convert_command, oscal_group, answers_group, *REMOTE_COMMANDS,
)  # fmt: skip


@click.group(help="Maturity assessment and governance tracking: validate frameworks, score answers, render reports.")
def files() -> None:
    """The file commands on their own (see the module's docstring)."""


for _command in FILE_COMMANDS:
    files.add_command(_command)
