"""The delivery engine: the spec's example exactly, the command line's contract, metric-fed frameworks and scores."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest
from click.testing import CliRunner

from assessment.cli_files import files
from assessment.domain.delivery import Window, dora_document, read_event_files, read_events
from assessment.domain.delivery.events import event_to_dict, format_time, parse_time
from assessment.domain.errors import InvalidFile
from assessment.domain.loader import load_framework_text
from tests.conftest import EXAMPLES
from tests.unit.test_cli import SCRIPT
from tests.unit.test_examples import assert_close

DELIVERY = EXAMPLES / "delivery"
EVENTS = DELIVERY / "checkout.events.jsonl"
EXPECTED = json.loads((DELIVERY / "checkout.expected.json").read_text())
NOVEMBER = Window(dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def run(*args: str):
    return CliRunner().invoke(files, list(args))


def test_the_spec_example_in_process():
    assert_close(dora_document(read_event_files([str(EVENTS)]), NOVEMBER), EXPECTED)


def test_the_spec_example_through_the_console_script():
    """Exactly the spec's command, through the installed console script, prints the expected document."""
    command = [str(SCRIPT), "dora", str(EVENTS), "--as-of", "2026-11-30"]
    result = subprocess.run([*command, "--days", "30", "--format", "json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert_close(json.loads(result.stdout), EXPECTED)


def test_from_and_to_name_the_same_window():
    result = run("dora", str(EVENTS), "--from", "2026-11-01", "--to", "2026-11-30", "--format", "json")
    assert result.exit_code == 0, result.output
    assert_close(json.loads(result.stdout), EXPECTED)


def test_the_default_window_is_the_ninety_days_ending_on_the_as_of_date():
    doc = json.loads(run("dora", str(EVENTS), "--as-of", "2026-12-01", "--format", "json").stdout)
    assert doc["window"] == {"from": "2026-09-03", "to": "2026-12-01", "days": 90}
    checkout = doc["services"][0]
    assert checkout["deployments"] == 4  # dep-0 of October is in these 90 days
    # lead times 2.5, 5, 5 h 50 min (a1f3, delivered by dep-0) and 25.5: the median of four is the mean of the middle two
    assert checkout["lead_time"] == pytest.approx((5.0 + 350 / 60) / 2)


def test_a_named_service_without_events_is_listed_with_null_metrics():
    doc = json.loads(run("dora", str(EVENTS), "--as-of", "2026-11-30", "--days", "30", "--service", "billing",
                         "--service", "search", "--format", "json").stdout)  # fmt: skip
    assert [s["service"] for s in doc["services"]] == ["billing", "search"]
    billing = doc["services"][0]
    assert billing["deployments"] == 0 and billing["deployment_frequency"] == 0
    assert billing["lead_time"] is None and billing["change_failure_rate"] is None
    assert billing["time_to_restore"] is None and billing["releases"] == [] and billing["gates"] == []


def test_the_text_output_names_every_figure():
    result = run("dora", str(EVENTS), "--as-of", "2026-11-30", "--days", "30")
    assert result.exit_code == 0
    assert "Window 2026-11-01 to 2026-11-30 (30 days)" in result.stdout
    assert "Change failure rate    33.3 % (1 of 3 deployments failed)" in result.stdout
    assert "dep-1  2026-11-03T13:30:00Z" in result.stdout and "FAILED (incidents INC-7; rolled back)" in result.stdout
    assert "change-approval  2 runs, 0 failures, 2 manual, wait 4.00 h, 1 passed then failed: caught nothing" in (
        result.stdout
    )


def test_an_invalid_file_exits_2_with_every_error_and_nothing_on_stdout(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"type": "change", "id": "c1", "service": "s", "time": "2026-11-03T14:05:00"}\n'
        "not json\n"
        '{"type": "deployment", "id": "d1", "service": "s", "time": "2026-11-03T14:05:00Z", "changes": ["zz"]}\n'
    )
    result = subprocess.run([str(SCRIPT), "dora", str(bad), "--format", "json"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{bad}:1: $.time: time '2026-11-03T14:05:00' has no UTC offset")
    assert lines[1].startswith(f"{bad}:2: $: not JSON")
    assert lines[2] == f"{bad}:3: $.changes[0]: no change has id 'zz'"
    assert len(lines) == 3


def test_a_missing_file_is_an_error_not_a_trace(tmp_path):
    result = run("dora", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{tmp_path / 'nope.jsonl'}:1: $: no such file"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-01"], "--from and --to go together"),
        (["--from", "2026-11-01", "--to", "2026-11-30", "--days", "3"], "leave out --as-of and --days"),
        (["--from", "2026-11-30", "--to", "2026-11-01"], "is before --from"),
        (["--days", "0"], "at least one day"),
        (["--as-of", "30/11/2026"], "is not a date YYYY-MM-DD"),
    ],
)
def test_window_options_that_do_not_fit_are_refused(args, message):
    result = run("dora", str(EVENTS), *args)
    assert result.exit_code == 2
    assert message in result.output


def test_times_keep_their_offsets_and_print_in_utc():
    assert parse_time("2026-11-02T13:00:00+01:00") == parse_time("2026-11-02T12:00:00Z")
    assert format_time(parse_time("2026-11-02T13:00:00.250+01:00")) == "2026-11-02T12:00:00.250000Z"
    assert parse_time("2026-11-02t13:00:00z") == parse_time("2026-11-02T13:00:00Z")  # RFC 3339's T and Z: any case
    # the two forms msgspec also reads name the same instant: a space for the T, an offset without its colon
    assert (
        parse_time("2026-11-02 13:00:00Z")
        == parse_time("2026-11-02T14:00:00+0100")
        == parse_time("2026-11-02T12:00:00Z") + 3600
    )
    for text in ("2026-11-02T13:00:00", "2026-11-02", "13:00Z", "2026-11-02T13:00Z", "2026-11-02T13:00:00+01",
                 "2026-11-02T13:00:00+1", "0001-01-01T00:30:00+01:00"):  # fmt: skip
        with pytest.raises(ValueError):
            parse_time(text)


def test_an_event_written_back_reads_as_the_same_event():
    events = read_event_files([str(EVENTS)])
    lines = "\n".join(json.dumps(event_to_dict(e)) for e in events.all())
    again = read_events([("again.jsonl", lines)])
    assert again == events
    assert_close(dora_document(again, NOVEMBER), EXPECTED)


def test_references_may_point_at_events_kept_elsewhere():
    deployment = '{"type": "deployment", "id": "d9", "service": "s", "time": "2026-11-05T00:00:00Z", "changes": ["c1"]}'
    with pytest.raises(InvalidFile):
        read_events([("batch", deployment)])
    events = read_events([("batch", deployment)], existing={"change": {"c1": parse_time("2026-11-04T00:00:00Z")}})
    assert list(events.deployments) == ["d9"]
    with pytest.raises(InvalidFile, match="was made at 2026-11-06T00:00:00Z, after this deployment"):
        read_events([("batch", deployment)], existing={"change": {"c1": parse_time("2026-11-06T00:00:00Z")}})


METRIC_FRAMEWORK = """\
id: delivery-mini
version: "1"
title: Delivery (mini)
kind: compliance
domains:
  - id: KM
    title: Key metrics
    requirements:
      - id: KM-DF
        title: Deployment frequency
        answer: {type: number, unit: deployments per week, metric: deployment_frequency,
                 bands: [{min: 1, credit: 1}, {credit: 0.5}]}
      - id: KM-LT
        title: Lead time
        answer: {type: number, metric: lead_time, bands: [{max: 24, credit: 1}, {credit: 0}]}
      - id: KM-CFR
        title: Change failure rate
        answer: {type: number, unit: percent, metric: change_failure_rate, bands: [{max: 15, credit: 1}, {credit: 0}]}
      - id: KM-TTR
        title: Time to restore
        answer: {type: number, unit: hours, metric: time_to_restore, bands: [{max: 1, credit: 1}, {credit: 0.5}]}
"""


def test_a_metric_with_another_unit_is_an_error_at_the_unit():
    text = METRIC_FRAMEWORK.replace("unit: percent, metric", "unit: '%', metric")
    with pytest.raises(InvalidFile) as caught:
        load_framework_text(text, "mini.yaml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (18, "domains[0].requirements[2].answer.unit")
    assert "is not the unit of metric 'change_failure_rate'; expected 'percent'" in problem.message


def test_an_unknown_metric_is_an_error():
    with pytest.raises(InvalidFile, match="expected one of deployment_frequency, lead_time"):
        load_framework_text(METRIC_FRAMEWORK.replace("metric: lead_time", "metric: cycle_time"), "mini.yaml")


def test_the_shipped_devops_framework_names_its_four_key_metrics():
    from assessment.domain.delivery.fill import metric_requirements
    from assessment.domain.loader import load_framework_file
    from tests.conftest import ROOT

    framework = load_framework_file(ROOT / "frameworks" / "devops-delivery-maturity.yaml")
    assert sorted(metric_requirements(framework).values()) == sorted(
        ["deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore"]
    )


def test_the_json_schema_knows_metric():
    from tests.conftest import ROOT

    schema = (ROOT / "schema" / "framework.schema.json").read_text()
    assert '"metric"' in schema and "time_to_restore" in schema


def test_score_with_events_fills_unanswered_metric_questions(tmp_path):
    framework = tmp_path / "mini.yaml"
    framework.write_text(METRIC_FRAMEWORK)
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        'framework: delivery-mini\nversion: "1"\nscope: checkout\nas_of: 2026-11-30\nanswers:\n  KM-CFR: 50\n'
    )
    result = run("score", str(framework), str(answers), "--events", str(EVENTS), "--days", "30", "--format", "json")
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)
    values = {r["id"]: r for r in card["requirements"]}
    assert values["KM-DF"]["value"] == pytest.approx(0.7) and values["KM-DF"]["credit"] == 0.5
    assert values["KM-LT"]["value"] == pytest.approx(5.0) and values["KM-LT"]["credit"] == 1
    assert values["KM-CFR"]["value"] == 50  # a value given in the answers stands
    assert values["KM-TTR"]["value"] == pytest.approx(1.5)
    # the search service has no restored incident: its time to restore leaves the question unanswered
    result = run("score", str(framework), str(answers), "--events", str(EVENTS), "--service", "search",
                 "--days", "30", "--format", "json")  # fmt: skip
    values = {r["id"]: r for r in json.loads(result.stdout)["requirements"]}
    assert values["KM-TTR"]["value"] is None and values["KM-DF"]["value"] == pytest.approx(7 / 30)
    # several files after --events are read together, as the spec's `--events EVENTS...`
    half = tmp_path / "half.jsonl"
    lines = EVENTS.read_text().splitlines()
    (tmp_path / "one.jsonl").write_text("\n".join(lines[:9]))
    half.write_text("\n".join(lines[9:]))
    result = run("score", str(framework), str(answers), "--events", str(tmp_path / "one.jsonl"), str(half),
                 "--days", "30", "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    values = {r["id"]: r for r in json.loads(result.stdout)["requirements"]}
    assert values["KM-LT"]["value"] == pytest.approx(5.0)


def test_score_without_a_scope_asks_for_the_service(tmp_path):
    framework = tmp_path / "mini.yaml"
    framework.write_text(METRIC_FRAMEWORK)
    answers = tmp_path / "answers.yaml"
    answers.write_text('framework: delivery-mini\nversion: "1"\nanswers: {}\n')
    result = run("score", str(framework), str(answers), "--events", str(EVENTS))
    assert result.exit_code == 2 and "--service" in result.output
    result = run("score", str(framework), str(answers), "--service", "checkout")
    assert result.exit_code == 2 and "go with --events" in result.output
