"""Scores in words: the reason for a level (vacuous levels said so) and for an unsupported claim."""

from __future__ import annotations

import datetime as dt

from assessment.domain.answers import Answer, Evidence
from assessment.domain.explain import claim_reason, level_reason, provisional_text
from assessment.domain.framework import Domain
from assessment.domain.scoring import score
from tests.unit.test_scoring import AS_OF, answers, maturity, req


def _reason(fw, given):
    card = score(fw, given, as_of=AS_OF)
    return level_reason(fw, card.requirements, card.level)


def test_levels_without_applicable_requirements_are_reached_vacuously():
    fw = maturity(Domain("D", "D", (req("A", 3), req("B", 3), req("C", 3))))
    assert _reason(fw, answers(A="yes")) == "L2 reached because no requirement at L1–L2 applies. L3 missed: 1 of 3 met."
    fw = maturity(Domain("D", "D", (req("A", 1), req("B", 2), req("C", 3))))
    assert _reason(fw, answers(A="na", B="na", C="no")) == (
        "L2 reached because no requirement at L1–L2 applies. L3 missed: 0 of 1 met."
    )


def test_levels_with_met_requirements_and_the_top_level():
    fw = maturity(Domain("D", "D", (req("A", 1), req("B", 2), req("C", 3))))
    assert _reason(fw, answers(A="yes", B="yes", C="partial")) == (
        "L2 reached: all 2 applicable requirements at L1–L2 met. L3 missed: 0 of 1 met."
    )
    assert _reason(fw, answers(A="yes", B="yes", C="yes")) == "L3 reached: all 3 applicable requirements at L1–L3 met."


def test_the_lowest_level_is_a_floor_and_says_so():
    fw = maturity(Domain("D", "D", (req("A", 1), req("B", 1))))
    assert _reason(fw, answers(A="yes", B="no")) == "L1 is the lowest level: 1 of 2 requirements at L1 met."


def test_no_level_when_nothing_applies():
    fw = maturity(Domain("D", "D", (req("A", 1),)))
    assert _reason(fw, answers(A="na")) == "No level: no requirement here applies (each is not applicable)."


def test_an_unsupported_claim_says_why():
    fw = maturity(Domain("D", "D", (req("A", evidence="required"),)))

    def why(*evidence):
        card = score(fw, {"A": Answer("A", "yes", None, tuple(evidence))}, as_of=AS_OF)
        return claim_reason(card.requirements[0], AS_OF)

    assert why() == "Yes, but no evidence attached: evidence required."
    assert why(Evidence("old", expires=dt.date(2026, 10, 1))) == (
        "Yes, but no current evidence: evidence expired on 2026-10-01."
    )
    assert why(Evidence("later", effective=dt.date(2027, 1, 1))) == (
        "Yes, but no current evidence: evidence effective only from 2027-01-01."
    )
    assert why(Evidence("now")) is None  # current evidence: supported


def test_provisional_text():
    assert provisional_text("draft").startswith("The assessment is a draft")
    assert provisional_text("returned").startswith("The assessment was returned")
    assert provisional_text("submitted") == provisional_text("approved") == ""
