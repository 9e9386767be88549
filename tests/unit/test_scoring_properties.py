"""Property-based tests (hypothesis) of the scoring invariants, on generated frameworks and answers."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.domain.answers import NA, Answer, Evidence
from assessment.domain.framework import BUILTIN_SCALES, Band, Domain, Framework, Level, NumericAnswer, Requirement
from assessment.domain.scoring import score
from tests.conftest import tries

AS_OF = dt.date(2026, 11, 21)
CURRENT = Evidence("current", url="https://e.example/c", effective=dt.date(2026, 1, 1))
EXPIRED = Evidence("expired", url="https://e.example/x", expires=dt.date(2026, 1, 1))
NUMERIC = NumericAnswer((Band(1.0, min=0, max=10), Band(0.5, min=0, max=100), Band(0.0, min=0)), unit="days")
SCALES = [BUILTIN_SCALES["yes_no"], BUILTIN_SCALES["yes_partial_no"], NUMERIC]


@st.composite
def frameworks(draw) -> Framework:
    """A random valid framework: maturity or compliance, weighted domains and requirements."""
    is_maturity = draw(st.booleans())
    levels = tuple(Level(n, f"L{n}") for n in range(1, draw(st.integers(2, 5)) + 1)) if is_maturity else ()
    domains = []
    counter = 0
    for d_index in range(draw(st.integers(1, 4))):
        requirements = []
        for _ in range(draw(st.integers(1, 6))):
            counter += 1
            requirements.append(
                Requirement(
                    id=f"R{counter}",
                    title="r",
                    question="r",
                    domain_id=f"D{d_index}",
                    answer=draw(st.sampled_from(SCALES)),
                    weight=draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])),
                    na_allowed=draw(st.booleans()),
                    evidence=draw(st.sampled_from(["required", "optional", "none"])),
                    level=draw(st.sampled_from([lv.number for lv in levels[1:]])) if is_maturity else None,
                )
            )
        domains.append(
            Domain(f"D{d_index}", f"D{d_index}", tuple(requirements), weight=draw(st.sampled_from([0.5, 1.0, 2.0])))
        )
    return Framework(
        id="gen",
        version="1",
        title="Generated",
        kind="maturity" if is_maturity else "compliance",
        domains=tuple(domains),
        levels=levels,
        met_threshold=draw(st.sampled_from([1.0, 0.75, 0.5])),
    )


def value_for(draw, requirement: Requirement):
    spec = requirement.answer
    if isinstance(spec, NumericAnswer):
        return draw(st.one_of(st.integers(0, 200), st.floats(0, 200, allow_nan=False)))
    return draw(st.sampled_from([o.value for o in spec.options]))


@st.composite
def assessments(draw):
    """A framework and a valid, partly answered set of answers to it."""
    framework = draw(frameworks())
    answers = {}
    for requirement in framework.requirements:
        choice = draw(st.sampled_from(["none", "value", "na"] if requirement.na_allowed else ["none", "value"]))
        if choice == "none":
            continue
        value = NA if choice == "na" else value_for(draw, requirement)
        evidence = draw(st.sampled_from([(), (CURRENT,), (EXPIRED,), (EXPIRED, CURRENT)]))
        answers[requirement.id] = Answer(requirement.id, value, evidence=evidence)
    return framework, answers


def full_credit_answer(requirement: Requirement) -> Answer:
    if isinstance(requirement.answer, NumericAnswer):
        return Answer(requirement.id, 0, evidence=(CURRENT,))
    return Answer(requirement.id, "yes", evidence=(CURRENT,))


@settings(max_examples=tries(300), deadline=None)
@given(assessments())
def test_scores_stay_within_0_and_100(case):
    framework, answers = case
    card = score(framework, answers, as_of=AS_OF)
    for value in [card.score, card.completion] + [d.score for d in card.domains]:
        assert value is None or 0.0 <= value <= 100.0
    for result in card.requirements:
        assert 0.0 <= result.credit <= 1.0
    if framework.is_maturity and card.level is not None:
        assert framework.levels[0].number <= card.level <= framework.top_level


@settings(max_examples=tries(300), deadline=None)
@given(assessments(), st.data())
def test_answering_na_changes_no_other_requirements_status(case, data):
    framework, answers = case
    allowed = [r for r in framework.requirements if r.na_allowed]
    if not allowed:
        return
    target = data.draw(st.sampled_from(allowed))
    before = score(framework, answers, as_of=AS_OF)
    after = score(framework, {**answers, target.id: Answer(target.id, NA)}, as_of=AS_OF)
    for old, new in zip(before.requirements, after.requirements, strict=True):
        if old.id != target.id:
            assert (old.status, old.credit, old.unsupported) == (new.status, new.credit, new.unsupported)
        else:
            assert new.status == "not_applicable"


@settings(max_examples=tries(300), deadline=None)
@given(assessments(), st.data())
def test_meeting_one_more_requirement_never_lowers_a_level_or_a_score(case, data):
    framework, answers = case
    before = score(framework, answers, as_of=AS_OF)
    unmet = [r.requirement for r in before.requirements if r.applicable and r.status != "met"]
    if not unmet:
        return
    target = data.draw(st.sampled_from(unmet))
    after = score(framework, {**answers, target.id: full_credit_answer(target)}, as_of=AS_OF)
    assert next(r for r in after.requirements if r.id == target.id).status == "met"
    assert after.score >= before.score - 1e-9
    for old, new in zip(before.domains, after.domains, strict=True):
        if old.score is not None:  # a domain of only na answers stays null
            assert new.score >= old.score - 1e-9
        if old.level is not None:
            assert new.level >= old.level
    if before.level is not None:
        assert after.level >= before.level
    assert len(after.gaps) <= len(before.gaps)


@settings(max_examples=tries(300), deadline=None)
@given(assessments(), st.randoms(use_true_random=False))
def test_domain_order_does_not_change_the_overall_score(case, rnd):
    framework, answers = case
    shuffled = list(framework.domains)
    rnd.shuffle(shuffled)
    other = dataclasses.replace(framework, domains=tuple(shuffled))
    first, second = score(framework, answers, as_of=AS_OF), score(other, answers, as_of=AS_OF)
    if first.score is None:
        assert second.score is None
    else:
        assert abs(first.score - second.score) < 1e-9
    assert first.level == second.level
    assert first.completion == second.completion
