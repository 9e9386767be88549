"""Scoring rules of spec section 3, on plain objects."""

from __future__ import annotations

import datetime as dt

import pytest

from assessment.domain.answers import Answer, Evidence
from assessment.domain.framework import BUILTIN_SCALES, Band, Domain, Framework, Level, NumericAnswer, Requirement
from assessment.domain.scoring import score

YPN = BUILTIN_SCALES["yes_partial_no"]
AS_OF = dt.date(2026, 11, 21)
LEVELS = (Level(1, "Initial"), Level(2, "Managed"), Level(3, "Defined"))


def req(rid, level=2, domain="D", **kwargs):
    return Requirement(
        id=rid, title=rid, domain_id=domain, answer=kwargs.pop("answer", YPN), question=rid, level=level, **kwargs
    )


def maturity(*domains, met_threshold=1.0):
    return Framework(
        id="f", version="1", title="F", kind="maturity", domains=domains, levels=LEVELS, met_threshold=met_threshold
    )


def compliance(*domains):
    return Framework(id="c", version="1", title="C", kind="compliance", domains=domains)


def answers(**values):
    return {rid: v if isinstance(v, Answer) else Answer(rid, v) for rid, v in values.items()}


def test_statuses_and_credits():
    fw = maturity(Domain("D", "D", (req("A"), req("B"), req("C"), req("N"), req("U"))))
    card = score(fw, answers(A="yes", B="partial", C="no", N="na"), as_of=AS_OF)
    got = {r.id: (r.status, r.credit) for r in card.requirements}
    assert got == {
        "A": ("met", 1.0),
        "B": ("partial", 0.5),
        "C": ("not_met", 0.0),
        "N": ("not_applicable", 0.0),
        "U": ("unanswered", 0.0),
    }
    # na leaves both numerator and denominator: (1 + 0.5 + 0 + 0) / 4
    assert card.score == pytest.approx(37.5)
    assert card.completion == pytest.approx(80.0)
    assert card.counts.as_dict() == {"met": 1, "partial": 1, "not_met": 1, "not_applicable": 1, "unanswered": 1}


def test_met_threshold_makes_partial_credit_count_as_met():
    fw = maturity(Domain("D", "D", (req("A"),)), met_threshold=0.5)
    assert score(fw, answers(A="partial"), as_of=AS_OF).requirements[0].status == "met"


def test_weights_in_domain_and_overall():
    fw = maturity(
        Domain("D1", "D1", (req("A", weight=3), req("B", weight=1, domain="D1")), weight=2),
        Domain("D2", "D2", (req("C", domain="D2"),), weight=1),
    )
    card = score(fw, answers(A="yes", B="no", C="partial"), as_of=AS_OF)
    assert [d.score for d in card.domains] == [pytest.approx(75.0), pytest.approx(50.0)]
    assert card.score == pytest.approx((2 * 75 + 50) / 3)


def test_domain_of_only_na_is_null_and_left_out_of_overall():
    fw = maturity(Domain("D1", "D1", (req("A"),)), Domain("D2", "D2", (req("B", domain="D2"),), weight=5))
    card = score(fw, answers(A="yes", B="na"), as_of=AS_OF)
    assert card.domains[1].score is None and card.domains[1].level is None
    assert card.score == pytest.approx(100.0)


def test_everything_na_gives_null_score_and_level():
    fw = maturity(Domain("D", "D", (req("A"),)))
    card = score(fw, answers(A="na"), as_of=AS_OF)
    assert (card.score, card.level, card.level_name, card.completion) == (None, None, None, 100.0)


@pytest.mark.parametrize(
    ("effective", "expires", "current"),
    [
        (None, None, True),
        (AS_OF, None, True),  # effective on as_of counts
        (None, AS_OF, True),  # expiring on as_of still counts
        (AS_OF + dt.timedelta(days=1), None, False),
        (None, AS_OF - dt.timedelta(days=1), False),
    ],
)
def test_evidence_current_at_as_of(effective, expires, current):
    fw = maturity(Domain("D", "D", (req("A", evidence="required"),)))
    item = Evidence("e", url="https://e.example/x", effective=effective, expires=expires)
    result = score(fw, answers(A=Answer("A", "yes", evidence=(item,))), as_of=AS_OF).requirements[0]
    assert result.unsupported is not current
    assert result.status == ("met" if current else "not_met")
    assert result.raw_credit == 1.0


def test_unsupported_only_when_evidence_is_required_and_credit_above_zero():
    fw = maturity(Domain("D", "D", (req("R", evidence="required"), req("O"), req("Z", evidence="required"))))
    card = score(fw, answers(R="partial", O="yes", Z="no"), as_of=AS_OF)
    assert [(r.id, r.unsupported, r.credit) for r in card.requirements] == [
        ("R", True, 0.0),
        ("O", False, 1.0),
        ("Z", False, 0.0),
    ]


def test_numeric_bands_first_match_wins():
    numeric = NumericAnswer((Band(1.0, max=24), Band(0.5, max=168), Band(0.0)), unit="hours")
    fw = maturity(Domain("D", "D", (req("A", answer=numeric), req("B", answer=numeric), req("C", answer=numeric))))
    card = score(fw, answers(A=24, B=24.5, C=1000), as_of=AS_OF)
    assert [r.credit for r in card.requirements] == [1.0, 0.5, 0.0]


def test_level_is_highest_with_everything_below_met():
    fw = maturity(Domain("D", "D", (req("A", level=2), req("B", level=2), req("C", level=3))))
    assert score(fw, answers(A="yes", B="yes", C="yes"), as_of=AS_OF).level == 3
    assert score(fw, answers(A="yes", B="yes", C="no"), as_of=AS_OF).level == 2
    assert score(fw, answers(A="yes", B="no", C="yes"), as_of=AS_OF).level == 1
    assert score(fw, answers(A="yes", B="na", C="yes"), as_of=AS_OF).level == 3


def test_levels_with_gaps_in_numbering():
    fw = Framework(
        id="f",
        version="1",
        title="F",
        kind="maturity",
        levels=(Level(0, "None"), Level(2, "Two"), Level(5, "Five")),
        domains=(Domain("D", "D", (req("A", level=2), req("B", level=5))),),
    )
    assert score(fw, answers(A="yes", B="no"), as_of=AS_OF).level == 2
    assert score(fw, answers(A="no", B="yes"), as_of=AS_OF).level == 0


def test_overall_level_is_lowest_domain_level():
    fw = maturity(Domain("D1", "D1", (req("A", level=3),)), Domain("D2", "D2", (req("B", level=2, domain="D2"),)))
    card = score(fw, answers(A="yes", B="no"), as_of=AS_OF)
    assert [d.level for d in card.domains] == [3, 1]
    assert card.level == 1 and card.level_name == "Initial"


def test_gaps_filtered_by_target_and_ordered_by_level_then_file_order():
    fw = maturity(
        Domain("D1", "D1", (req("A3", level=3), req("A2", level=2))),
        Domain("D2", "D2", (req("B2", level=2, domain="D2"), req("B3", level=3, domain="D2"))),
    )
    card = score(fw, {}, as_of=AS_OF)
    assert [g.id for g in card.gaps] == ["A2", "B2", "A3", "B3"]
    assert [g.id for g in score(fw, {}, as_of=AS_OF, target_level=2).gaps] == ["A2", "B2"]


def test_blockers_are_unmet_requirements_up_to_the_next_level():
    fw = maturity(Domain("D", "D", (req("A", level=2), req("B", level=3), req("C", level=3))))
    card = score(fw, answers(A="yes", B="no"), as_of=AS_OF)
    assert card.level == 2 and card.next_level().number == 3
    assert [b.id for b in card.blockers()] == ["B", "C"]


def test_compliance_has_no_levels_and_gaps_in_file_order():
    fw = compliance(Domain("D", "D", (req("B", level=None), req("A", level=None))))
    card = score(fw, answers(A="no"), as_of=AS_OF, target_level=3)
    assert (card.level, card.target_level, card.domains[0].level) == (None, None, None)
    assert [g.id for g in card.gaps] == ["B", "A"]


def test_default_target_is_top_level_and_default_as_of_is_today():
    fw = maturity(Domain("D", "D", (req("A"),)))
    card = score(fw, {})
    assert card.target_level == 3 and card.as_of == dt.date.today()
