"""`assessment dora`: the four key delivery metrics of events files (`delivery-events.md`, section 6).

Like the other file commands it imports neither Flask nor SQLAlchemy. Exit 0 on success, 2 when
a file or an option is invalid (every problem on standard error, nothing on standard output).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
import msgspec

from .domain.delivery import Window, dora_document, read_event_files
from .domain.delivery.metrics import DEFAULT_DAYS, DeliveryIndex, ServiceMetrics
from .domain.display import one_decimal
from .domain.errors import InvalidFile

EXIT_INVALID = 2


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


def window_of(as_of: dt.date | None, days: int | None, first: dt.date | None, last: dt.date | None) -> Window:
    """The window the options name: `--from` and `--to`, or the `--days` (90) that end on `--as-of` (today)."""
    if (first is None) != (last is None):
        raise click.UsageError("--from and --to go together: give both, or neither")
    if first is not None:
        if as_of is not None or days is not None:
            raise click.UsageError("--from and --to name the window: leave out --as-of and --days")
        if last < first:
            raise click.BadParameter(f"--to {last} is before --from {first}", param_hint="'--to'")
        return Window(first, last)
    if days is not None and days < 1:
        raise click.BadParameter(f"a window has at least one day, not {days}", param_hint="'--days'")
    return Window.ending(as_of or dt.datetime.now(dt.UTC).date(), days or DEFAULT_DAYS)


def read_or_exit(paths: tuple[Path, ...]):
    """The events of the files, or every problem on standard error and exit 2."""
    try:
        return read_event_files([str(path) for path in paths])
    except InvalidFile as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(EXIT_INVALID) from None


@click.command(name="dora")
@click.argument("events_paths", metavar="EVENTS...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--service", "services", multiple=True, metavar="S", help="Only this service (repeatable).")
@click.option("--as-of", callback=_date, metavar="DATE", help="The window's last day (default: today, UTC).")
@click.option("--days", type=int, metavar="N", help=f"The window's length in days (default {DEFAULT_DAYS}).")
@click.option("--from", "first", callback=_date, metavar="DATE", help="The window's first day (with --to).")
@click.option("--to", "last", callback=_date, metavar="DATE", help="The window's last day (with --from).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def dora_command(
    events_paths: tuple[Path, ...],
    services: tuple[str, ...],
    as_of: dt.date | None,
    days: int | None,
    first: dt.date | None,
    last: dt.date | None,
    output_format: str,
) -> None:
    """The four key delivery metrics of events files, with release reviews and gates, per service."""
    window = window_of(as_of, days, first, last)
    index = DeliveryIndex(read_or_exit(events_paths))
    if output_format == "json":
        document = msgspec.json.encode(dora_document(index, window, services or None))
        click.echo(msgspec.json.format(document, indent=2).decode())
        return
    names = sorted(set(services)) if services else index.events.services()
    click.echo(f"Window {window.first} to {window.last} ({window.days} days)")
    for name in names:
        click.echo("")
        click.echo(format_service(index.metrics(name, window)))


def _hours(value: float | None) -> str:
    return "none" if value is None else f"{_figure(value)} h"


def _figure(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 10 else one_decimal(value)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def format_service(m: ServiceMetrics) -> str:
    """One service's metrics, reviews and gates as text for a terminal."""
    rate = "none" if m.change_failure_rate is None else f"{one_decimal(m.change_failure_rate)} %"
    lines = [
        m.service,
        f"  Deployment frequency   {_figure(m.deployment_frequency)} a week ({_plural(m.deployments, 'deployment')})",
        f"  Lead time for changes  {_hours(m.lead_time)} (median of {_plural(m.changes, 'change')})",
        f"  Change failure rate    {rate} ({m.failed_deployments} of {_plural(m.deployments, 'deployment')} failed)",
        f"  Time to restore        {_hours(m.time_to_restore)} ({_plural(m.incidents, 'incident')}, "
        f"{m.open_incidents} open)",
    ]
    if m.releases:
        lines.append("  Releases")
    for r in m.releases:
        facts = [
            f"lead {_hours(r.lead_time)}",
            _plural(r.changes, "change"),
            _plural(r.failed_builds, "failed build"),
            f"gate wait {_hours(r.gate_wait)}",
            _plural(r.manual_steps, "manual step"),
        ]
        if r.failed_gates:
            facts.append("failed gates " + ", ".join(r.failed_gates))
        if r.failed:
            why = ([f"incidents {', '.join(r.incidents)}"] if r.incidents else []) + (
                ["rolled back"] if r.rolled_back else []
            )
            facts.append(f"FAILED ({'; '.join(why)})")
        lines.append(f"    {r.deployment}  {r.to_dict()['time']}  " + ", ".join(facts))
    if m.gates:
        lines.append("  Gates")
    for g in m.gates:
        verdict = ": caught nothing" if g.caught_nothing else ""
        lines.append(
            f"    {g.name}  {_plural(g.runs, 'run')}, {_plural(g.failures, 'failure')}, {g.manual} manual, "
            f"wait {_hours(g.wait)}, {g.passed_failed} passed then failed{verdict}"
        )
    return "\n".join(lines)
