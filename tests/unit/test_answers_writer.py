"""The answers writer: whatever it writes, the reader reads back as the same answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment.domain.answers import NA, Answer, Answers, Evidence, read_answers_file, read_answers_text
from assessment.domain.answers_writer import answers_to_yaml
from assessment.domain.framework import (
    BUILTIN_SCALES,
    Band,
    Domain,
    Framework,
    Level,
    NumericAnswer,
    Requirement,
    Scale,
    ScaleOption,
)
from assessment.domain.loader import load_framework_file
from assessment.domain.scoring import score, scorecard_to_dict
from tests.conftest import EXAMPLES, tries

YPN = BUILTIN_SCALES["yes_partial_no"]
# Valid scale values (^[a-z0-9][a-z0-9_-]*$) that YAML 1.2 reads as numbers, booleans or null when plain.
ODD_SCALE = Scale(
    "odd", tuple(ScaleOption(v, v, 1.0) for v in ("1", "1e3", "0o17", "0x1f", "true", "null", "yes", "1_000"))
)
ANY_NUMBER = NumericAnswer((Band(1.0, min=0, max=10), Band(0.0)), unit="days")
# Requirement ids, several of which YAML 1.2 reads as a number, boolean or null when plain.
IDS = ("CI-01", "null", "nUll", "1e3", "1.0", "true", "a:b", "x(1)", "0o17", "NUM", "ODD")
# Strings on which YAML 1.1 (PyYAML's dumper) and YAML 1.2 (our reader) disagree, or that need quoting anyway.
HOSTILE = (
    "1e3",
    "tRUE",
    "fAlse",
    "nUll",
    "0o17",
    "1.0e3",
    "-.5e-3",
    "yes",
    "no",
    "on",
    "null",
    "~",
    "true",
    "1.0",
    "36",
    "2026-11-21",
    "0x1F",
    ".inf",
    ".nan",
    "",
    " ",
    " leading",
    "trailing ",
    "a: b",
    "- item",
    "# not a comment",
    "'single'",
    '"double"',
    "line\nbreak",
    "trailing newline\n",
    "\n\n",
    "crlf\r\nline",
    "tab\there",
    "\x85",
    "nel\x85inside",
    "ls\u2028ps\u2029",
    "\x00nul",
    "\x1b[31m",
    "\ufeffbom",
    "\ufffe\uffff",
    "emoji \U0001f600",
    "é ü ß 中文",
    "{flow: map}",
    "[flow, seq]",
    "&anchor",
    "*alias",
    "!tag",
    "%directive",
    "@at",
    "`tick",
    "|",
    ">",
    "? key",
    "---",
    "...",
    "<<",
)


def requirement(rid, answer=YPN, **kwargs):
    return Requirement(id=rid, title=rid, domain_id="D", answer=answer, question=rid, level=2, **kwargs)


def framework(version="1.0", title="Odd framework"):
    reqs = [requirement(rid) for rid in IDS if rid not in ("NUM", "ODD")]
    reqs += [requirement("NUM", ANY_NUMBER, evidence="required"), requirement("ODD", ODD_SCALE, na_allowed=False)]
    return Framework(
        id="odd",
        version=version,
        title=title,
        kind="maturity",
        domains=(Domain("D", "D", tuple(reqs)),),
        levels=(Level(1, "One"), Level(2, "Two")),
    )


FRAMEWORK = framework()


def answers(*items, fw=FRAMEWORK, **kwargs):
    return Answers(fw.id, fw.version, {a.requirement_id: a for a in items}, **kwargs)


def round_trip(given_answers, fw=FRAMEWORK):
    return read_answers_text(answers_to_yaml(given_answers, fw), fw)


def typed(value):
    """A value with its type, so 36 and 36.0 (equal in Python) differ, and -0.0 and 0.0 too."""
    return type(value).__name__, repr(value)


def assert_same(back, original):
    assert back == original
    for rid, answer in original.answers.items():
        assert typed(back.answers[rid].value) == typed(answer.value), rid


@pytest.mark.parametrize("name", ["devops-delivery", "itgc-mini"])
def test_the_spec_examples_round_trip_and_score_the_same(name, tmp_path):
    fw = load_framework_file(EXAMPLES / f"{name}.yaml")
    original = read_answers_file(EXAMPLES / f"{name}.answers.yaml", fw)
    written = tmp_path / f"{name}.answers.yaml"
    written.write_text(answers_to_yaml(original, fw), encoding="utf-8")
    shutil.copytree(EXAMPLES / "evidence", tmp_path / "evidence")  # evidence files are relative to the answers
    back = read_answers_file(written, fw)
    assert_same(back, original)
    assert scorecard_to_dict(score(fw, back)) == scorecard_to_dict(score(fw, original))


def test_the_written_example_reads_like_the_spec(examples):
    fw = load_framework_file(examples / "devops-delivery.yaml")
    text = answers_to_yaml(read_answers_file(examples / "devops-delivery.answers.yaml", fw), fw)
    lines = text.splitlines()
    assert lines[:6] == [
        "# Answers to DevOps Delivery Maturity (example) 2026.1, written by assessment",
        "framework: devops-delivery",
        'version: "2026.1"',
        "scope: Payments platform",
        "as_of: 2026-11-21",
        "target_level: 3",
    ]
    assert "  CI-02: most" in lines and "  CI-03: na" in lines and "  DEP-02: 36" in lines
    assert "        expires: 2026-10-31" in lines
    assert "        sha256: 1a8dd0a0e6bd03841deb022508d992e909b2aeec63148d1b7e7629ecaf94a533" in lines


def test_bare_values_mappings_and_omissions_in_file_order():
    given_answers = answers(
        Answer("ODD", "1e3"),
        Answer("NUM", 2.5, note="estimated"),
        Answer("nUll", None, note="ask the team"),
        Answer("true", None),  # nothing to say: not written
        Answer("CI-01", "partial"),
    )
    text = answers_to_yaml(given_answers, FRAMEWORK)
    assert text.split("answers:\n")[1] == (
        "  CI-01: partial\n"
        '  "nUll":\n'
        "    note: ask the team\n"
        "  NUM:\n"
        "    value: 2.5\n"
        "    note: estimated\n"
        '  ODD: "1e3"\n'
    )
    back = read_answers_text(text, FRAMEWORK)
    assert "true" not in back.answers
    assert_same(
        back,
        dataclasses.replace(given_answers, answers={k: v for k, v in given_answers.answers.items() if k != "true"}),
    )


def test_no_answers_at_all():
    text = answers_to_yaml(answers(), FRAMEWORK)
    assert "answers" not in text
    assert round_trip(answers()) == answers()


@pytest.mark.parametrize("value", ["1", "1e3", "0o17", "0x1f", "true", "null", "yes", "1_000"])
def test_scale_values_that_look_like_numbers_stay_strings(value):
    assert_same(round_trip(answers(Answer("ODD", value))), answers(Answer("ODD", value)))


@pytest.mark.parametrize(
    "number", [0, -0.0, 36, 36.0, 0.1 + 0.2, 1e-7, 1e17, 123456789012345678901234567890, -5, 2.5e-300]
)
def test_numbers_keep_their_type_and_precision(number):
    given_answers = answers(Answer("NUM", number))
    assert_same(round_trip(given_answers), given_answers)


@pytest.mark.parametrize("rid", IDS)
def test_requirement_ids_that_look_like_other_things(rid):
    value = 5 if rid == "NUM" else ("1" if rid == "ODD" else "yes")
    given_answers = answers(Answer(rid, value, note="n"))
    assert_same(round_trip(given_answers), given_answers)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_round_trip_everywhere(text):
    fw = framework(version=text, title=text)
    item = Evidence(text, file=text, sha256="0" * 64, effective=dt.date(2026, 1, 1), expires=dt.date(2027, 1, 1))
    given_answers = answers(Answer("NUM", 5, note=text, evidence=(item,)), fw=fw, scope=text)
    written = answers_to_yaml(given_answers, fw)
    assert written.splitlines()[1] == "framework: odd"  # the header comment stays one line
    assert_same(read_answers_text(written, fw), given_answers)


def test_a_lone_surrogate_is_refused_with_its_place():
    given_answers = answers(Answer("CI-01", "yes", note="bad \ud800 here"))
    with pytest.raises(ValueError, match=r"answers\.CI-01\.note: character 4 is a lone surrogate \(U\+D800\)"):
        answers_to_yaml(given_answers, FRAMEWORK)


@pytest.mark.parametrize(
    ("given_answers", "message"),
    [
        (
            answers(Answer("CI-01", "maybe")),
            "answers.CI-01: expected one of yes, partial, no, or na; got the string 'maybe'",
        ),
        (answers(Answer("ODD", NA)), "na is not allowed for ODD"),
        (answers(Answer("NUM", True)), "a number is due"),
        (answers(Answer("NUM", float("nan"))), "expected a finite number"),
        (answers(Answer("CI-01", "yes", evidence=(Evidence("t", url="not a url"),))), "is not a valid URL"),
        (
            answers(Answer("CI-01", "yes", evidence=(Evidence("t", url="https://e.example", sha256="0" * 64),))),
            "'sha256' applies only to a 'file' item",
        ),
        (answers(Answer("CI-01", "yes", evidence=(Evidence("t"),))), "needs either 'url' or 'file'"),
        (answers(target_level=7), "level 7 is not defined"),
        (Answers("odd", "1.0", {"nope": Answer("nope", "yes")}), "unknown requirement id(s) in 'odd': 'nope'"),
        (Answers("odd", "1.0", {"CI-01": Answer("true", "yes")}), "the answer filed under 'CI-01' is for 'true'"),
        (Answers("other", "1.0"), "these answers are for 'other' version '1.0', not 'odd' version '1.0'"),
    ],
)
def test_answers_the_reader_would_refuse_are_refused(given_answers, message):
    with pytest.raises(ValueError) as caught:
        answers_to_yaml(given_answers, FRAMEWORK)
    assert message in str(caught.value)


# st.text() never yields lone surrogates (U+D800-U+DFFF): they are not characters, UTF-8 cannot
# encode them, and the writer refuses them (test above). Every other code point is generated.
texts = st.one_of(st.text(), st.sampled_from(HOSTILE))
dates = st.dates()


@st.composite
def evidence_items(draw):
    title = draw(texts)
    effective, expires = draw(st.none() | dates), draw(st.none() | dates)
    if effective and expires and expires < effective:
        effective, expires = expires, effective
    if draw(st.booleans()):
        url = draw(st.from_regex(r"[A-Za-z][A-Za-z0-9+.-]{0,8}:\S{1,30}", fullmatch=True))
        return Evidence(title, url=url, effective=effective, expires=expires)
    sha256 = draw(st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True))
    return Evidence(title, file=draw(texts), sha256=sha256, effective=effective, expires=expires)


def value_of(draw, req):
    if isinstance(req.answer, NumericAnswer):
        # Bounded: the reader crashes (OverflowError) on an int too large for a float; see the report.
        return draw(st.integers(-(10**300), 10**300) | st.floats(allow_nan=False, allow_infinity=False))
    options = [o.value for o in req.answer.options] + ([NA] if req.na_allowed else [])
    return draw(st.sampled_from(options))


@st.composite
def cases(draw):
    fw = framework(version=draw(texts), title=draw(texts))
    items = []
    for req in fw.requirements:
        kind = draw(st.sampled_from(["none", "value", "value+", "note only"]))
        if kind == "none":
            continue
        value = None if kind == "note only" else value_of(draw, req)
        note = draw(st.none() | texts) if kind != "value" else None
        evidence = tuple(draw(st.lists(evidence_items(), max_size=2))) if kind != "value" else ()
        if value is None and note is None and not evidence:
            note = ""  # an unanswered entry with nothing to say is not written, so it does not come back
        items.append(Answer(req.id, value, note, evidence))
    given_answers = answers(
        *draw(st.permutations(items)),  # the dict's order does not matter: the file follows the framework
        fw=fw,
        scope=draw(st.none() | texts),
        as_of=draw(st.none() | dates),
        target_level=draw(st.sampled_from([None, 1, 2])),
    )
    return fw, given_answers


@settings(max_examples=tries(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_any_answers_round_trip_exactly(case):
    fw, given_answers = case
    back = read_answers_text(answers_to_yaml(given_answers, fw), fw)
    assert_same(back, given_answers)
    as_of = dt.date(2026, 11, 21)
    assert scorecard_to_dict(score(fw, back, as_of=as_of)) == scorecard_to_dict(score(fw, given_answers, as_of=as_of))
