"""OSCAL out: assessment results and POA&M of the spec's examples and of every shipped framework parse with
trestle's models of NIST's schemas, hold one finding (and one poam-item) per gap, carry evidence hashes and the
backlog's owner and due date, and come out the same twice.

The IFA examples in ../shared/data/oscal, read where they are, are compared with for the shape (the parts a
reader looks for); the tests that read them skip when they are absent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from assessment.cli_files import files
from assessment.domain.answers import NA, Answer, Evidence, read_answers_file
from assessment.domain.framework import NumericAnswer
from assessment.domain.loader import load_framework_file
from reports.model import BacklogEntry, ReportMeta, build_report
from reports.oscal import NS, assessment_results, assessment_results_json, poam, poam_json, token_of
from reports.sources import report_from_files
from tests.conftest import EXAMPLES, LIBRARY

SHARED_DATA = Path(
    os.environ.get("ASSESSMENT_SHARED_DATA") or Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
)
IFA = SHARED_DATA / "oscal"
needs_ifa = pytest.mark.skipif(not (IFA / "ifa_assessment-results-example.json").is_file(), reason=f"{IFA} is absent")
EXAMPLE_NAMES = sorted(p.name.removesuffix(".answers.yaml") for p in EXAMPLES.glob("*.answers.yaml"))
SHIPPED = sorted(LIBRARY.glob("*.yaml"))
SHA = "ab" * 32
GENERATED = dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC)


def parsed(report):
    """Both documents, checked by trestle: (assessment-results dict, POA&M dict)."""
    from trestle.oscal.assessment_results import AssessmentResults
    from trestle.oscal.poam import PlanOfActionAndMilestones

    results, plan = assessment_results(report), poam(report)
    AssessmentResults.parse_obj(results["assessment-results"])
    PlanOfActionAndMilestones.parse_obj(plan["plan-of-action-and-milestones"])
    return results["assessment-results"], plan["plan-of-action-and-milestones"]


def props(obj: dict) -> dict[str, str]:
    """An object's props of our namespace without a group, by name."""
    return {p["name"]: p["value"] for p in obj.get("props", ()) if p["ns"] == NS and "group" not in p}


def example_report(name: str):
    return report_from_files(EXAMPLES / f"{name}.yaml", EXAMPLES / f"{name}.answers.yaml")


def test_the_spec_examples_are_there():
    assert EXAMPLE_NAMES == ["devops-delivery", "itgc-mini"]
    assert len(SHIPPED) >= 8


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_each_spec_example_gives_valid_documents_with_one_finding_per_gap(name):
    report = example_report(name)
    results, plan = parsed(report)
    [result] = results["results"]
    gaps = [g.id for g in report.card.gaps]
    assert gaps, "the examples have gaps"
    assert [f["target"]["target-id"] for f in result["findings"]] == gaps
    assert {f["target"]["type"] for f in result["findings"]} == {"objective-id"}
    assert {f["target"]["status"]["state"] for f in result["findings"]} == {"not-satisfied"}
    assert [props(o)["requirement-id"] for o in result["observations"]] == gaps
    assert {tuple(o["methods"]) for o in result["observations"]} == {("EXAMINE",)}
    observation_ids = [o["uuid"] for o in result["observations"]]
    assert [f["related-observations"][0]["observation-uuid"] for f in result["findings"]] == observation_ids
    assert [props(i)["requirement-id"] for i in plan["poam-items"]] == gaps
    assert [o["uuid"] for o in plan["observations"]] == observation_ids
    assert [i["related-observations"][0]["observation-uuid"] for i in plan["poam-items"]] == observation_ids
    assert results["metadata"]["oscal-version"] == "1.1.2" and results["metadata"]["version"] == report.id
    assert result["reviewed-controls"]["control-selections"] == [{"include-all": {}}]
    assert result["start"] == f"{report.card.as_of.isoformat()}T00:00:00Z"


def test_the_import_ap_placeholder_names_a_back_matter_resource_saying_no_plan_is_attached():
    results, _ = parsed(example_report("itgc-mini"))
    [resource] = results["back-matter"]["resources"]
    assert results["import-ap"]["href"] == "#" + resource["uuid"]
    assert "No OSCAL assessment plan document is attached" in resource["description"]


def test_score_and_levels_are_props_overall_and_per_domain():
    report = example_report("devops-delivery")
    results, _ = parsed(report)
    [result] = results["results"]
    overall = props(result)
    assert float(overall["score"]) == pytest.approx(report.card.score, abs=1e-4)
    assert overall["level"] == str(report.card.level) and overall["target-level"] == "3"
    assert overall["gap-count"] == str(len(report.card.gaps))
    groups: dict[str, dict[str, str]] = {}
    for p in result["props"]:
        if "group" in p:
            groups.setdefault(p["group"], {})[p["name"]] = p["value"]
    assert [g["domain-id"] for g in groups.values()] == [d.domain.id for d in report.card.domains]
    for domain, group in zip(report.card.domains, groups.values(), strict=True):
        assert float(group["domain-score"]) == pytest.approx(domain.score, abs=1e-4)
        assert group["domain-level"] == str(domain.level)
    names = {p["name"] for p in result["props"]}
    assert all(re.fullmatch(r"[_A-Za-z][_A-Za-z0-9.-]*", n) for n in names)


def test_the_answer_and_note_are_in_the_observation():
    results, _ = parsed(example_report("devops-delivery"))
    [observation] = [o for o in results["results"][0]["observations"] if props(o)["requirement-id"] == "OPS-01"]
    assert "Answer: Yes" in observation["description"]
    assert "Note: SLOs exist but the evidence expired." in observation["description"]
    [link] = observation["relevant-evidence"]
    assert link["href"] == "https://wiki.example.com/slo"
    assert props(link)["current"] == "no" and props(link)["expires"] == "2026-10-31"


def answered(framework, partial_with_file: bool = True) -> dict[str, Answer]:
    """A few requirements answered (the best, then the second-best option with a file of evidence and a note),
    one not applicable where allowed, the rest left as gaps."""
    answers: dict[str, Answer] = {}
    for n, requirement in enumerate(framework.requirements[:4]):
        spec = requirement.answer
        if isinstance(spec, NumericAnswer):
            best = max(spec.bands, key=lambda b: b.credit)
            value = best.min if best.min is not None else (best.max if best.max is not None else 0)
            options = [value, value]
        else:
            ordered = sorted(spec.options, key=lambda o: -o.credit)
            options = [ordered[0].value, ordered[-1].value if len(ordered) < 3 else ordered[1].value]
        if n == 0:
            answers[requirement.id] = Answer(requirement.id, options[0], "All in place.")
        elif n == 1 and partial_with_file:
            evidence = Evidence("Review notes", file="evidence/review notes.pdf", sha256=SHA, size=1234)
            answers[requirement.id] = Answer(requirement.id, options[1], "Half way: see the notes.", (evidence,))
        elif n == 2 and requirement.na_allowed:
            answers[requirement.id] = Answer(requirement.id, NA)
    return answers


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_framework_gives_valid_documents(path):
    framework = load_framework_file(path)
    meta = ReportMeta(scope="Team Oscal", generated_at=GENERATED)
    report = build_report(framework, answered(framework), meta, as_of=dt.date(2026, 11, 21))
    results, plan = parsed(report)
    [result] = results["results"]
    assert len(report.card.gaps) > 0
    assert len(result["findings"]) == len(report.card.gaps) == len(plan["poam-items"])
    assert len(result["observations"]) == len(report.card.gaps)
    targets = [f["target"]["target-id"] for f in result["findings"]]
    assert targets == [token_of(g.id) for g in report.card.gaps]


def file_evidence_report(backlog: tuple[BacklogEntry, ...] | None = None):
    framework = load_framework_file(EXAMPLES / "devops-delivery.yaml")
    answers = read_answers_file(EXAMPLES / "devops-delivery.answers.yaml", framework).answers | {
        "CI-02": Answer(
            "CI-02", "some", "Only the main branch.", (Evidence("Build log", file="logs/build log.txt", sha256=SHA),)
        )
    }
    meta = ReportMeta(scope="Payments platform", generated_at=GENERATED)
    return build_report(framework, answers, meta, backlog=backlog, as_of=dt.date(2026, 11, 21))


def test_a_file_of_evidence_is_named_with_its_sha256_and_media_type():
    results, plan = parsed(file_evidence_report())
    [observation] = [o for o in results["results"][0]["observations"] if props(o)["requirement-id"] == "CI-02"]
    [item] = observation["relevant-evidence"]
    assert item["href"] == "build%20log.txt"  # a URI reference, never a path from the answers file
    assert props(item)["sha256"] == SHA and props(item)["media-type"] == "text/plain"
    assert item["description"].endswith("Build log")
    assert plan["observations"] == results["results"][0]["observations"]


def test_the_backlog_owner_due_date_and_status_are_carried_into_the_poam():
    backlog = (
        BacklogEntry("CI-02", "Builds on every branch", 5, owner="Dana Ops", due_date=dt.date(2027, 1, 31)),
        BacklogEntry("DEP-02", "Faster lead time", 3, status="doing"),
    )
    _, plan = parsed(file_evidence_report(backlog))
    items = {props(i)["requirement-id"]: props(i) for i in plan["poam-items"]}
    assert items["CI-02"]["owner"] == "Dana Ops" and items["CI-02"]["due-date"] == "2027-01-31"
    assert items["CI-02"]["backlog-status"] == "plan" and items["CI-02"]["priority"] == "5"
    assert items["DEP-02"]["backlog-status"] == "doing" and "owner" not in items["DEP-02"]
    assert "owner" not in items["OPS-02"] and "due-date" not in items["OPS-02"]  # no backlog item of its own


def test_a_poam_item_holds_the_requirement_and_its_recommendation():
    report = example_report("devops-delivery")
    _, plan = parsed(report)
    requirement = report.framework.requirement_index["DEP-02"]
    [item] = [i for i in plan["poam-items"] if props(i)["requirement-id"] == "DEP-02"]
    assert item["title"] == f"DEP-02: {requirement.title}"
    assert item["description"] == "Shrink batch size and automate approvals to cut lead time."


def test_a_poam_item_without_a_recommendation_says_what_the_requirement_asks():
    report = example_report("devops-delivery")
    bare = replace(report.framework.requirement_index["OPS-02"], recommendation=None)
    gaps = tuple(replace(g, requirement=bare) if g.id == "OPS-02" else g for g in report.card.gaps)
    report = replace(report, card=replace(report.card, gaps=gaps))
    _, plan = parsed(report)
    [item] = [i for i in plan["poam-items"] if props(i)["requirement-id"] == "OPS-02"]
    assert item["description"] == f"Bring OPS-02 to met: {bare.question}"


def test_the_same_state_gives_the_same_documents_and_another_state_other_uuids():
    first, second = file_evidence_report(), file_evidence_report()
    assert assessment_results_json(first) == assessment_results_json(second)
    assert poam_json(first) == poam_json(second)
    other = build_report(first.framework, {}, ReportMeta(scope="Another team", generated_at=GENERATED))
    assert (
        assessment_results(other)["assessment-results"]["uuid"]
        != assessment_results(first)["assessment-results"]["uuid"]
    )
    uuids = re.findall(r'"uuid": "([^"]+)"', assessment_results_json(first))
    assert len(uuids) == len(set(uuids))  # every object its own


def test_last_modified_is_the_latest_recorded_moment_never_the_build_time():
    report = file_evidence_report()
    assert assessment_results(report)["assessment-results"]["metadata"]["last-modified"] == "2026-11-21T00:00:00Z"
    approved = ReportMeta(scope="Payments platform", approved_at=dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC))
    report = build_report(report.framework, {}, approved, as_of=dt.date(2026, 11, 21))
    assert poam(report)["plan-of-action-and-milestones"]["metadata"]["last-modified"] == "2026-11-25T08:00:00Z"


def test_ids_that_are_not_oscal_tokens_become_tokens_and_keep_their_exact_id():
    assert token_of("SOX-ITGC-AC-01") == "SOX-ITGC-AC-01"
    assert token_of("1.2(a):b") == "_1.2_a__b"
    assert token_of("_x") == "_x"


def test_no_gaps_gives_no_findings_and_still_valid_results():
    framework = load_framework_file(EXAMPLES / "itgc-mini.yaml")
    answers = {
        r.id: Answer(r.id, "yes", evidence=(Evidence("Proof", url="https://x.example/p"),))
        for r in framework.requirements
    }
    report = build_report(
        framework, answers, ReportMeta(scope=None, generated_at=GENERATED), as_of=dt.date(2026, 11, 21)
    )
    assert report.card.gaps == ()
    results, plan = parsed(report)
    assert "findings" not in results["results"][0] and plan["poam-items"] == []


# --- the command line ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, key", [("results", "assessment-results"), ("poam", "plan-of-action-and-milestones")])
def test_the_cli_writes_the_document_to_a_file_or_stdout(tmp_path, kind, key):
    framework, answers = str(EXAMPLES / "devops-delivery.yaml"), str(EXAMPLES / "devops-delivery.answers.yaml")
    runner = CliRunner()
    out = runner.invoke(files, ["oscal", kind, framework, answers])
    assert out.exit_code == 0, out.output
    assert key in json.loads(out.stdout)
    target = tmp_path / "doc.json"
    written = runner.invoke(files, ["oscal", kind, framework, answers, "-o", str(target)])
    assert written.exit_code == 0 and written.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8")) == json.loads(out.stdout)
    expected = assessment_results_json if kind == "results" else poam_json
    assert target.read_text(encoding="utf-8") == expected(example_report("devops-delivery"))


def test_the_cli_reports_a_bad_answers_file_as_the_other_file_commands_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.answers.yaml"
    bad.write_text("framework: devops-delivery\nversion: '2026.1'\nanswers:\n  NOPE-01: yes\n", encoding="utf-8")
    target = tmp_path / "doc.json"
    out = CliRunner().invoke(
        files, ["oscal", "results", str(EXAMPLES / "devops-delivery.yaml"), str(bad), "-o", str(target)]
    )
    assert out.exit_code == 2 and out.stdout == ""
    assert f"{bad}:4:" in out.stderr and "NOPE-01" in out.stderr
    assert not target.exists()


# --- the IFA examples, for the shape ----------------------------------------------------------------


@needs_ifa
def test_the_shape_follows_nists_examples():
    ifa_results = json.loads((IFA / "ifa_assessment-results-example.json").read_text())["assessment-results"]
    ifa_plan = json.loads((IFA / "ifa_plan-of-action-and-milestones.json").read_text())["plan-of-action-and-milestones"]
    results, plan = parsed(example_report("devops-delivery"))
    assert set(results) - {"back-matter"} <= set(ifa_results) | {"back-matter"}
    assert {"uuid", "metadata", "import-ap", "results"} <= set(results)
    ifa_result, result = ifa_results["results"][0], results["results"][0]
    assert {"uuid", "title", "description", "start", "reviewed-controls", "observations", "findings"} <= set(result)
    assert set(result) - {"props"} <= set(ifa_result)
    assert set(result["findings"][0]) - {"props"} <= set(ifa_result["findings"][0])
    assert set(result["findings"][0]["target"]) <= set(ifa_result["findings"][0]["target"]) | {"status"}
    assert set(plan["poam-items"][0]) - {"props"} <= set(ifa_plan["poam-items"][0]) | {"related-observations"}
    assert {"uuid", "metadata", "poam-items", "observations"} <= set(plan)
