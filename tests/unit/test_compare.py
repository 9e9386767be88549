"""Comparing two scorecards: requirements matched by id across framework versions, deltas after minus before."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.domain.answers import NA, Answer, Evidence, read_answers_text
from assessment.domain.compare import KINDS, compare
from assessment.domain.framework import BUILTIN_SCALES, Domain, Framework, Level, Requirement
from assessment.domain.loader import load_framework_text
from assessment.domain.scoring import score
from tests.conftest import tries

LEVELS_YAML = "levels: [{number: 1, name: Initial}, {number: 2, name: Managed}, {number: 3, name: Defined}]"

V1 = f"""
id: trend-demo
version: "2025.1"
title: Trend demo
kind: maturity
{LEVELS_YAML}
domains:
  - id: BLD
    title: Build
    requirements:
      - {{id: BLD-01, title: Every change builds, level: 2, evidence: required}}
      - {{id: BLD-02, title: Tests gate merges, level: 2}}
      - {{id: BLD-03, title: Flaky tests are fixed, level: 3}}
  - id: REL
    title: Release
    requirements:
      - {{id: REL-01, title: Deployments are scripted, level: 2}}
      - {{id: REL-02, title: A manual release checklist, level: 3}}
  - id: DOC
    title: Documentation
    requirements:
      - {{id: DOC-01, title: Runbooks exist, level: 2}}
"""

# The next version adds BLD-04, a Security domain and REL-03, and drops REL-02 and Documentation.
V2 = f"""
id: trend-demo
version: "2026.1"
title: Trend demo
kind: maturity
{LEVELS_YAML}
domains:
  - id: BLD
    title: Build
    requirements:
      - {{id: BLD-01, title: Every change builds, level: 2, evidence: required}}
      - {{id: BLD-02, title: Tests gate merges, level: 2}}
      - {{id: BLD-03, title: Flaky tests are fixed, level: 3}}
      - {{id: BLD-04, title: Builds are reproducible, level: 3}}
  - id: SEC
    title: Security
    requirements:
      - {{id: SEC-01, title: Dependencies are scanned, level: 2}}
  - id: REL
    title: Release
    requirements:
      - {{id: REL-01, title: Deployments are scripted, level: 2}}
      - {{id: REL-03, title: Canary releases, level: 3}}
"""

# The build evidence counts until the end of March 2026.
PIPELINE = """
    value: yes
    evidence:
      - {title: Pipeline definition, url: "https://ci.example/pipeline", expires: 2026-03-31}"""


def card(framework_text: str, as_of: dt.date, **values: str):
    """The scorecard of `values` (requirement id with '_' for '-'; BLD_01 gets the pipeline evidence)."""
    fw = load_framework_text(framework_text)
    lines = [f"  {rid.replace('_', '-')}: {PIPELINE if rid == 'BLD_01' else value}" for rid, value in values.items()]
    text = f'framework: trend-demo\nversion: "{fw.version}"\nanswers:\n' + "\n".join(lines) + "\n"
    return score(fw, read_answers_text(text, fw), as_of=as_of)


def kinds(comparison) -> dict[str, str]:
    return {change.requirement_id: change.kind for change in comparison.requirements}


def test_more_credit_is_an_improvement_and_raises_the_scores():
    as_of = dt.date(2025, 6, 30)
    common = {"BLD_01": "", "BLD_03": "yes", "REL_01": "yes", "REL_02": "yes", "DOC_01": "yes"}
    before = card(V1, as_of, BLD_02="partial", **common)
    after = card(V1, as_of, BLD_02="yes", **common)
    result = compare(before, after)
    assert kinds(result) == {rid: "unchanged" for rid in ("BLD-01", "BLD-03", "REL-01", "REL-02", "DOC-01")} | {
        "BLD-02": "improved"
    }
    (change,) = result.improved
    assert (change.requirement_id, change.title, change.domain_id) == ("BLD-02", "Tests gate merges", "BLD")
    assert (change.before_status, change.after_status) == ("partial", "met")
    assert (change.before_credit, change.after_credit) == (0.5, 1.0)
    assert result.counts == {"improved": 1, "regressed": 0, "unchanged": 5, "new": 0, "removed": 0}
    assert result.score_delta == pytest.approx(100 / 18)  # Build, a third of the total, goes from 5/6 to 6/6
    assert (result.before_level, result.after_level, result.level_delta) == (1, 3, 2)
    assert result.regressed == result.new == result.removed == ()


def test_evidence_that_expires_by_the_later_as_of_date_is_a_regression():
    answers = {"BLD_01": "", "BLD_02": "yes", "BLD_03": "yes", "REL_01": "yes", "REL_02": "yes", "DOC_01": "yes"}
    before = card(V1, dt.date(2026, 1, 15), **answers)
    after = card(V1, dt.date(2026, 6, 30), **answers)  # the same answers, three months after the evidence expired
    result = compare(before, after)
    (change,) = result.regressed
    assert change.requirement_id == "BLD-01"
    assert (change.before_status, change.after_status) == ("met", "not_met")
    assert (change.before_credit, change.after_credit) == (1.0, 0.0)
    assert (change.before_unsupported, change.after_unsupported) == (False, True)
    assert result.counts["unchanged"] == 5 and result.improved == ()
    assert (result.before_level, result.after_level, result.level_delta) == (3, 1, -2)
    build = result.domains[0]
    assert (build.domain_id, build.before_score, build.level_delta) == ("BLD", 100.0, -2)
    assert build.score_delta == pytest.approx(-100 / 3)


def two_versions():
    before = card(
        V1, dt.date(2025, 6, 30), BLD_02="partial", BLD_03="no", REL_01="yes", REL_02="yes", DOC_01="partial", BLD_01=""
    )
    after = card(
        V2,
        dt.date(2026, 6, 30),
        BLD_01="",
        BLD_02="yes",
        BLD_03="no",
        BLD_04="yes",
        SEC_01="partial",
        REL_01="yes",
        REL_03="no",
    )
    return compare(before, after)


def test_requirements_across_framework_versions_are_matched_by_id():
    result = two_versions()
    assert list(kinds(result).items()) == [  # the later version's order, then what it dropped in the earlier order
        ("BLD-01", "regressed"),  # met in 2025; in 2026 its evidence has expired
        ("BLD-02", "improved"),
        ("BLD-03", "unchanged"),
        ("BLD-04", "new"),
        ("SEC-01", "new"),
        ("REL-01", "unchanged"),
        ("REL-03", "new"),
        ("REL-02", "removed"),
        ("DOC-01", "removed"),
    ]
    assert result.counts == {"improved": 1, "regressed": 1, "unchanged": 2, "new": 3, "removed": 2}
    assert [c.requirement_id for c in result.new] == ["BLD-04", "SEC-01", "REL-03"]
    new, removed = result.new[1], result.removed[0]
    assert (new.title, new.domain_id, new.before_status, new.before_credit, new.before_unsupported) == (
        "Dependencies are scanned",
        "SEC",
        None,
        None,
        None,
    )
    assert (new.after_status, new.after_credit, new.after_unsupported) == ("partial", 0.5, False)
    assert (removed.title, removed.domain_id, removed.after_status, removed.after_credit) == (
        "A manual release checklist",
        "REL",
        None,
        None,
    )
    assert (removed.before_status, removed.before_credit) == ("met", 1.0)


def test_domain_deltas_cover_kept_new_and_dropped_domains():
    result = two_versions()
    rows = [
        (
            d.domain_id,
            d.title,
            d.before_score,
            d.after_score,
            d.score_delta,
            d.before_level,
            d.after_level,
            d.level_delta,
            d.in_before,
            d.in_after,
        )
        for d in result.domains
    ]
    assert rows == [
        ("BLD", "Build", 50.0, 50.0, 0.0, 1, 1, 0, True, True),  # (1 + .5 + 0) / 3, then (0 + 1 + 0 + 1) / 4
        ("SEC", "Security", None, 50.0, None, None, 1, None, False, True),
        ("REL", "Release", 100.0, 50.0, -50.0, 3, 2, -1, True, True),
        ("DOC", "Documentation", 50.0, None, None, 1, None, None, True, False),
    ]
    assert result.before_score == pytest.approx(200 / 3) and result.after_score == pytest.approx(50.0)
    assert result.score_delta == pytest.approx(50 - 200 / 3)
    assert (result.before_level, result.after_level, result.level_delta) == (1, 1, 0)


YPN = BUILTIN_SCALES["yes_partial_no"]
LEVELS = (Level(1, "Initial"), Level(2, "Managed"), Level(3, "Defined"))


def one_requirement(kind: str = "maturity", fid: str = "f") -> Framework:
    requirement = Requirement("A", "A", "D", YPN, "?", level=2 if kind == "maturity" else None)
    levels = LEVELS if kind == "maturity" else ()
    return Framework(
        id=fid, version="1", title="F", kind=kind, domains=(Domain("D", "D", (requirement,)),), levels=levels
    )


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ("na", "no", "unchanged"),  # no credit either way
        ("no", "na", "unchanged"),
        (None, "na", "unchanged"),
        ("na", None, "unchanged"),
        ("na", "partial", "improved"),
        ("na", "yes", "improved"),
        ("yes", "na", "regressed"),  # the credit rule: not applicable earns nothing
        ("partial", "na", "regressed"),
        ("na", "na", "unchanged"),
    ],
)
def test_not_applicable_follows_the_credit_rule(before, after, kind):
    fw = one_requirement()
    as_of = dt.date(2026, 1, 1)

    def scored(value):
        return score(fw, {} if value is None else {"A": Answer("A", value)}, as_of=as_of)

    (change,) = compare(scored(before), scored(after)).requirements
    assert change.kind == kind
    assert change.status_changed is (before != after)
    if "na" in (before, after) and before != after:
        assert "not_applicable" in (change.before_status, change.after_status)


def test_a_compliance_framework_has_no_level_deltas():
    fw = one_requirement("compliance")
    result = compare(score(fw, {"A": Answer("A", "no")}), score(fw, {"A": Answer("A", "yes")}))
    assert (result.before_level, result.after_level, result.level_delta) == (None, None, None)
    assert result.domains[0].level_delta is None and result.domains[0].score_delta == 100.0


def test_scorecards_of_different_frameworks_are_refused():
    with pytest.raises(ValueError, match="different frameworks: 'f' and 'g'"):
        compare(score(one_requirement(), {}), score(one_requirement(fid="g"), {}))


# Properties, on two versions drawn from one pool of requirements and two sets of answers.

POOL = tuple(
    Requirement(f"R{i}", f"R{i}", f"D{i % 3}", YPN, "?", level=1 + i % 3, evidence="required" if i % 2 else "optional")
    for i in range(8)
)
CURRENT = Evidence("current", url="https://e.example/c", effective=dt.date(2026, 1, 1))
EXPIRING = Evidence("expiring", url="https://e.example/x", expires=dt.date(2026, 6, 30))
DATES = (dt.date(2026, 3, 1), dt.date(2026, 9, 1))  # EXPIRING counts on the first, not the second


@st.composite
def scorecards(draw, kind: str):
    """A scorecard of a random version of the pooled framework, with random answers and as-of date."""
    chosen = draw(st.sets(st.sampled_from(POOL), min_size=1))
    domains = tuple(
        Domain(did, did, tuple(r for r in POOL if r in chosen and r.domain_id == did))
        for did in draw(st.permutations(["D0", "D1", "D2"]))
        if any(r.domain_id == did for r in chosen)
    )
    if kind == "compliance":
        domains = tuple(Domain(d.id, d.title, tuple(_no_level(r) for r in d.requirements)) for d in domains)
    fw = Framework(
        id="pool",
        version=str(draw(st.integers(1, 9))),
        title="Pool",
        kind=kind,
        domains=domains,
        levels=LEVELS if kind == "maturity" else (),
    )
    answers = {}
    for requirement in POOL:
        value = draw(st.sampled_from([None, "yes", "partial", "no", NA]))
        if value is not None:
            evidence = draw(st.sampled_from([(), (CURRENT,), (EXPIRING,)]))
            answers[requirement.id] = Answer(requirement.id, value, evidence=evidence)
    return score(fw, answers, as_of=draw(st.sampled_from(DATES)))


def _no_level(requirement: Requirement) -> Requirement:
    return Requirement(
        requirement.id,
        requirement.title,
        requirement.domain_id,
        requirement.answer,
        requirement.question,
        evidence=requirement.evidence,
    )


pairs = st.sampled_from(["maturity", "compliance"]).flatmap(lambda kind: st.tuples(scorecards(kind), scorecards(kind)))


@settings(max_examples=tries(200), deadline=None)
@given(pairs)
def test_a_scorecard_compared_with_itself_is_all_unchanged(pair):
    card_ = pair[0]
    result = compare(card_, card_)
    assert result.counts == dict.fromkeys(KINDS, 0) | {"unchanged": len(card_.requirements)}
    assert not any(change.status_changed for change in result.requirements)
    assert [c.requirement_id for c in result.requirements] == [r.id for r in card_.requirements]
    assert result.score_delta == (None if card_.score is None else 0.0)
    assert result.level_delta == (None if card_.level is None else 0)
    for delta in result.domains:
        assert delta.in_before and delta.in_after
        assert delta.score_delta == (None if delta.after_score is None else 0.0)
        assert delta.level_delta == (None if delta.after_level is None else 0)


@settings(max_examples=tries(200), deadline=None)
@given(pairs)
def test_swapping_before_and_after_swaps_the_kinds(pair):
    one, other = pair
    forward, backward = compare(one, other), compare(other, one)

    def ids(changes):
        return {change.requirement_id for change in changes}

    assert ids(forward.improved) == ids(backward.regressed)
    assert ids(forward.regressed) == ids(backward.improved)
    assert ids(forward.new) == ids(backward.removed)
    assert ids(forward.removed) == ids(backward.new)
    assert ids(forward.unchanged) == ids(backward.unchanged)
    swap = {"improved": "regressed", "regressed": "improved", "new": "removed", "removed": "new"}
    assert {swap.get(k, k): n for k, n in forward.counts.items()} == backward.counts
    assert forward.level_delta == (None if backward.level_delta is None else -backward.level_delta)
    if forward.score_delta is None:
        assert backward.score_delta is None
    else:
        assert forward.score_delta == pytest.approx(-backward.score_delta)
    back_domains = {d.domain_id: d for d in backward.domains}
    assert set(back_domains) == {d.domain_id for d in forward.domains}
    for delta in forward.domains:
        mirror = back_domains[delta.domain_id]
        assert (delta.in_before, delta.in_after) == (mirror.in_after, mirror.in_before)
        assert (delta.before_score, delta.after_score) == (mirror.after_score, mirror.before_score)
        assert delta.level_delta == (None if mirror.level_delta is None else -mirror.level_delta)


@settings(max_examples=tries(200), deadline=None)
@given(pairs)
def test_the_counts_add_up_and_follow_the_credit(pair):
    before, after = pair
    result = compare(before, after)
    earlier = {r.id for r in before.requirements}
    later = {r.id for r in after.requirements}
    counts = result.counts
    assert sum(counts.values()) == len(result.requirements) == len(earlier | later)
    assert counts["new"] == len(later - earlier) and counts["removed"] == len(earlier - later)
    assert counts["improved"] + counts["regressed"] + counts["unchanged"] == len(earlier & later)
    for change in result.requirements:
        if change.kind in ("improved", "regressed", "unchanged"):
            sign = (change.after_credit > change.before_credit) - (change.after_credit < change.before_credit)
            assert change.kind == {1: "improved", -1: "regressed", 0: "unchanged"}[sign]
