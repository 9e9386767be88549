"""The answer value codec: every valid value of every answer type survives encode -> decode exactly."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from assessment.domain.answers import NA, check_value
from assessment.domain.loader import load_framework_text
from assessment.domain.values import STORED_MAX, decode, encode, number_text
from tests.conftest import EXAMPLES, LIBRARY

FRAMEWORKS = [load_framework_text((EXAMPLES / "devops-delivery.yaml").read_text())] + [
    load_framework_text(path.read_text(), str(path)) for path in sorted(LIBRARY.glob("*.yaml"))
]
REQUIREMENTS = [r for f in FRAMEWORKS for r in f.requirements]
NUMERIC = next(r for r in REQUIREMENTS if r.is_numeric)
SCALE = next(r for r in REQUIREMENTS if not r.is_numeric)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**150), max_value=10**150),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [1e-05, 0.00001, 1e20, -0.0, 0.0, 1e-300, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, 123.456789012]
    ),
)


@st.composite
def valid_values(draw):
    """A requirement of the shipped library or the spec's example, and a value it accepts."""
    requirement = draw(st.sampled_from(REQUIREMENTS))
    if requirement.na_allowed and draw(st.booleans()):
        return requirement, NA
    if requirement.is_numeric:
        value = draw(NUMBERS)
    else:
        value = draw(st.sampled_from([o.value for o in requirement.answer.options]))
    assume(check_value(requirement, value) is None)  # inside the requirement's bands
    return requirement, value


def same(a, b) -> bool:
    """Equal, of the same type, and for floats the same bits (-0.0 is not 0.0)."""
    return type(a) is type(b) and (repr(a) == repr(b) if isinstance(a, float) else a == b)


@given(valid_values())
def test_every_valid_value_survives_the_round_trip(case):
    requirement, value = case
    text = encode(value)
    assert isinstance(text, str) and len(text) <= STORED_MAX
    assert same(decode(text, requirement), value)


@given(NUMBERS)
def test_numbers_are_stored_without_an_exponent_when_they_fit(value):
    text = encode(value)
    if isinstance(value, float) and abs(value) < 1e180 and (value == 0 or abs(value) >= 1e-180):
        assert "e" not in text.lower() and "." in text
    assert same(decode(text, NUMERIC), value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.00001, "0.00001"),
        (1e20, "100000000000000000000.0"),
        (-0.0, "-0.0"),
        (2.0, "2.0"),
        (2, "2"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-1.5e-7, "-0.00000015"),
        (NA, NA),
        (None, None),
    ],
)
def test_stored_forms(value, text):
    assert encode(value) == text


@pytest.mark.parametrize(("text", "value"), [("1e-05", 1e-05), ("1e+20", 1e20), ("2.5", 2.5), ("7", 7), ("na", NA)])
def test_forms_older_versions_stored_read_the_same(text, value):
    assert same(decode(text, NUMERIC), value)


def test_scale_values_and_na_are_stored_as_themselves():
    for option in SCALE.answer.options:
        assert encode(option.value) == option.value and decode(option.value, SCALE) == option.value
    assert decode("1e-05", SCALE) == "1e-05"  # a scale value is text, never a number


@pytest.mark.parametrize("text", ["nan", "inf", "1_000", "", "one", "1e", "0x10"])
def test_text_that_is_not_a_number_is_refused(text):
    with pytest.raises(ValueError, match="is not a number"):
        decode(text, NUMERIC)


def test_a_value_that_cannot_fit_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="at most 200 characters"):
        encode(10**250)
    assert encode(1e300) == repr(1e300)  # too long as plain decimal: the shortest form, still exact
    assert math.isclose(decode(encode(1e300), NUMERIC), 1e300)


def test_number_text_reads_as_people_write_numbers():
    assert [number_text(v) for v in (0.00001, 3.0, 1234567, 2.5, 1e20)] == [
        "0.00001",
        "3",
        "1234567",
        "2.5",
        "100000000000000000000",
    ]


def test_exports_and_reports_write_a_tiny_number_as_the_pages_do():
    import csv
    import io
    from dataclasses import replace

    from assessment.domain.answers import Answer, read_answers_file
    from reports.exports import requirements_csv
    from reports.model import ReportMeta, answer_label, build_report

    framework = load_framework_text((EXAMPLES / "devops-delivery.yaml").read_text())
    answers = read_answers_file(EXAMPLES / "devops-delivery.answers.yaml", framework)
    answers = replace(answers, answers={**answers.answers, "DEP-02": Answer("DEP-02", 0.00001)})
    report = build_report(framework, answers, ReportMeta(scope="s"))
    rows = {row["requirement_id"]: row for row in csv.DictReader(io.StringIO(requirements_csv(report)))}
    assert (rows["DEP-02"]["value"], rows["DEP-02"]["answer"]) == ("0.00001", "0.00001 hours")
    assert answer_label(framework.requirement_index["DEP-02"], 1234567.0) == "1234567 hours"  # not 1.23457e+06


def test_an_answers_file_writes_a_number_as_the_codec_does_and_reads_it_back():
    from assessment.domain.answers import Answer, Answers, read_answers_text
    from assessment.domain.answers_writer import answers_to_yaml

    framework = load_framework_text((EXAMPLES / "devops-delivery.yaml").read_text())
    for number in (0.00001, 1e20, 1e300):
        answers = Answers(framework.id, framework.version, {"DEP-02": Answer("DEP-02", number)})
        text = answers_to_yaml(answers, framework)
        assert f"DEP-02: {encode(number) if number < 1e190 else '1.0e+300'}\n" in text
        assert same(read_answers_text(text, framework).answers["DEP-02"].value, number)
