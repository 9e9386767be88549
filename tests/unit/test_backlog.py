"""The backlog: one proposal per gap, ranked by the formula in assessment/domain/backlog.py."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.domain.answers import Answer, Evidence
from assessment.domain.backlog import BacklogProposal, propose_backlog
from assessment.domain.framework import BUILTIN_SCALES, Domain, Framework, Level, Requirement
from assessment.domain.scoring import score
from tests.conftest import tries
from tests.unit.test_scoring_properties import assessments

YPN = BUILTIN_SCALES["yes_partial_no"]
AS_OF = dt.date(2026, 11, 21)
LEVELS = tuple(Level(n, f"L{n}") for n in range(1, 5))  # 1 (floor) to 4
EXPIRED = Evidence("old", url="https://e.example/old", expires=dt.date(2026, 1, 1))


def req(rid, level=2, **kwargs):
    return Requirement(
        id=rid,
        title=f"Title of {rid}",
        domain_id=kwargs.pop("domain", "D"),
        answer=YPN,
        question=rid,
        level=level,
        **kwargs,
    )


def maturity(*requirements):
    return Framework(
        id="f", version="1", title="F", kind="maturity", levels=LEVELS, domains=(Domain("D", "D", tuple(requirements)),)
    )


def compliance(*requirements):
    return Framework(
        id="c", version="1", title="C", kind="compliance", domains=(Domain("D", "D", tuple(requirements)),)
    )


def backlog(framework, **values):
    answers = {rid: v if isinstance(v, Answer) else Answer(rid, v) for rid, v in values.items()}
    return propose_backlog(score(framework, answers, as_of=AS_OF))


def ids(proposals):
    return [p.requirement_id for p in proposals]


def test_one_proposal_per_gap_carrying_the_gap():
    fw = maturity(req("A"), req("B", recommendation="Do **B**."), req("C", level=3), req("N"), req("M"))
    proposals = backlog(fw, A="no", B="partial", N="na", M="yes")  # C unanswered
    assert sorted(ids(proposals)) == ["A", "B", "C"]
    b = next(p for p in proposals if p.requirement_id == "B")
    assert b == BacklogProposal(
        requirement_id="B",
        domain_id="D",
        title="Title of B",
        recommendation="Do **B**.",
        level=2,
        status="partial",
        credit=0.5,
        unsupported=False,
        priority=b.priority,
        reasons=b.reasons,
        blocks=2,
        weight=1.0,
        levels_above=2,
    )


def test_no_gaps_no_proposals():
    fw = maturity(req("A"), req("B", level=3))
    assert backlog(fw, A="yes", B="yes") == ()


def test_a_duplicated_gap_gives_one_proposal():
    fw = maturity(req("A"), req("B"))
    card = score(fw, {"A": Answer("A", "no")}, as_of=AS_OF)
    doubled = dataclasses.replace(card, gaps=card.gaps + card.gaps)
    assert ids(propose_backlog(doubled)) == ids(propose_backlog(card)) == ["A", "B"]


def test_blockers_come_first_whatever_their_weight_or_evidence():
    # Level 2 is met, so the overall level is 2 and only X (level 3) blocks level 3.
    fw = maturity(
        req("A"),
        req("H", level=4, weight=10, evidence="required"),
        req("L", level=4),
        req("X", level=3),
    )
    proposals = backlog(fw, A="yes", H=Answer("H", "yes", evidence=(EXPIRED,)), L="no", X="partial")
    assert ids(proposals) == ["X", "H", "L"]
    assert proposals[0].reasons[0] == "blocks level 3"
    assert all("blocks" not in reason for p in proposals[1:] for reason in p.reasons)


def test_every_gap_below_the_next_level_blocks_it():
    fw = maturity(req("A"), req("B"), req("C", level=3, weight=5))
    proposals = backlog(fw, A="no")  # overall level 1: A and B block level 2
    assert ids(proposals) == ["A", "B", "C"]
    assert [p.reasons[0] for p in proposals] == ["blocks level 2", "blocks level 2", "level 3"]


def test_unsupported_gap_is_boosted_within_its_level():
    fw = maturity(req("X", level=3), req("V", level=4), req("U", level=4, evidence="required"))
    proposals = backlog(fw, X="no", V="no", U=Answer("U", "yes", evidence=(EXPIRED,)))
    assert ids(proposals) == ["X", "U", "V"]  # U is after V in the file
    u = proposals[1]
    assert (u.unsupported, u.status, u.credit) == (True, "not_met", 0.0)
    assert "evidence-only gap: claimed without current evidence" in u.reasons


def test_a_lower_level_outranks_evidence_and_weight_of_a_higher_one():
    fw = maturity(req("X", level=2), req("H", level=4, weight=9, evidence="required"), req("M", level=3))
    proposals = backlog(fw, X="no", H=Answer("H", "partial", evidence=(EXPIRED,)), M="no")
    assert ids(proposals) == ["X", "M", "H"]


def test_heavier_requirements_first_among_equals():
    fw = maturity(req("X", level=3), req("W1", level=4), req("W3", level=4, weight=3), req("W2", level=4, weight=2))
    proposals = backlog(fw, X="no", W1="no", W3="no", W2="no")
    assert ids(proposals) == ["X", "W3", "W2", "W1"]
    assert [p.reasons for p in proposals[1:]] == [("level 4", "weight 3"), ("level 4", "weight 2"), ("level 4",)]


def test_reasons_in_words_say_what_the_number_meant():
    fw = maturity(req("B", weight=3), req("E", level=3, evidence="required"), req("U", level=4), req("P", level=4))
    proposals = backlog(fw, B="no", E=Answer("E", "yes", evidence=(EXPIRED,)), P="partial")
    words = {p.requirement_id: p.in_words() for p in proposals}
    assert words == {
        "B": "blocks level 2, L2 practice (2 levels build on it), weight 3, not met",
        "E": "L3 practice (1 level builds on it), claimed, but no current evidence",
        "P": "L4 practice, partly met (50 %)",
        "U": "L4 practice, not answered yet",
    }
    plain = compliance(Requirement("P", "Plain", "D", YPN, "P"))
    assert [p.in_words() for p in backlog(plain, P="no")] == ["not met"]


def test_priorities_follow_the_documented_formula():
    fw = maturity(req("B", weight=2), req("E", level=3, evidence="required"), req("U", level=4))
    proposals = backlog(fw, B="no", E=Answer("E", "yes", evidence=(EXPIRED,)))
    by_id = {p.requirement_id: p.priority for p in proposals}
    # blocker + 2 levels above level 2 + full weight; 1 level above + evidence-only + half weight; top level.
    assert by_id == {"B": 10_000 + 200 + 40, "E": 100 + 50 + 20, "U": 0 + 20}


def test_ties_keep_the_order_of_the_gaps():
    fw = maturity(req("C", level=3), req("A"), req("B"))
    proposals = backlog(fw)  # all unanswered: A and B block level 2, C follows
    assert ids(proposals) == ["A", "B", "C"]
    assert proposals[0].reasons == ("blocks level 2", "not answered yet")


def test_compliance_has_no_level_terms():
    fw = compliance(
        Requirement("P", "Plain", "D", YPN, "P"),
        Requirement("H", "Heavy", "D", YPN, "H", weight=2),
        Requirement("E", "Evidence", "D", YPN, "E", evidence="required"),
        Requirement("Q", "Plain too", "D", YPN, "Q"),
    )
    proposals = backlog(fw, P="no", H="partial", E=Answer("E", "yes", evidence=(EXPIRED,)), Q="no")
    assert ids(proposals) == ["E", "H", "P", "Q"]
    assert [p.priority for p in proposals] == [50 + 20, 40, 20, 20]
    assert all(p.level is None for p in proposals)
    assert not any("level" in reason for p in proposals for reason in p.reasons)
    assert proposals[0].reasons == ("evidence-only gap: claimed without current evidence",)
    assert proposals[1].reasons == ("weight 2",)


def test_gaps_above_the_target_level_are_not_proposed():
    fw = maturity(req("A"), req("B", level=3), req("C", level=4))
    card = score(fw, {"A": Answer("A", "no")}, as_of=AS_OF, target_level=2)
    assert ids(propose_backlog(card)) == ["A"]


@settings(max_examples=tries(300), deadline=None)
@given(assessments(), st.data())
def test_one_proposal_per_gap_and_blockers_rank_first(case, data):
    framework, answers = case
    target = data.draw(st.sampled_from([None] + [lv.number for lv in framework.levels]))
    card = score(framework, answers, as_of=AS_OF, target_level=target)
    proposals = propose_backlog(card)
    assert len(proposals) == len(card.gaps)
    assert {p.requirement_id for p in proposals} == {r.id for r in card.gaps}
    blockers = {r.id for r in card.blockers()}
    ranks = [p.requirement_id in blockers for p in proposals]
    assert ranks == sorted(ranks, reverse=True)  # every blocker before every other gap
    assert [p.priority for p in proposals] == sorted((p.priority for p in proposals), reverse=True)
    assert propose_backlog(card) == proposals
