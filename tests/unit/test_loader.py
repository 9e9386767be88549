"""The framework loader: what it builds, and one test per kind of error the spec names."""

from __future__ import annotations

import re

import pytest

from assessment.domain.errors import InvalidFile
from assessment.domain.framework import NumericAnswer, Scale
from assessment.domain.loader import load_framework_file, load_framework_text
from assessment.domain.yamlread import MAX_FILE_BYTES

VALID = """\
id: demo
version: "1.0"
title: Demo
kind: maturity
levels:
  - {number: 1, name: Initial}
  - {number: 2, name: Managed}
  - {number: 3, name: Defined}
scales:
  coverage:
    - {value: none, label: None, credit: 0}
    - {value: all, label: All, credit: 1}
defaults:
  evidence: required
  weight: 2
domains:
  - id: D1
    title: First
    requirements:
      - id: R1
        title: One
        level: 2
        answer: coverage
      - id: R2
        title: Two
        level: 3
        evidence: none
        na_allowed: false
        answer:
          type: number
          unit: hours
          bands:
            - {max: 24, credit: 1}
            - {credit: 0}
"""

ERROR_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<path>\S+): (?P<message>.+)$")


def errors_of(text: str) -> list[str]:
    """The problems of framework text, as the lines the CLI prints."""
    with pytest.raises(InvalidFile) as caught:
        load_framework_text(text, "fw.yaml")
    lines = [str(p) for p in caught.value.problems]
    for line in lines:
        assert ERROR_LINE.match(line), line
    return lines


def one_error(text: str) -> str:
    """The single problem of framework text."""
    lines = errors_of(text)
    assert len(lines) == 1, lines
    return lines[0]


def test_valid_file_builds_the_model_with_defaults_resolved():
    fw = load_framework_text(VALID)
    assert (fw.id, fw.version, fw.kind, fw.format, fw.met_threshold) == ("demo", "1.0", "maturity", 1, 1.0)
    assert [lv.number for lv in fw.levels] == [1, 2, 3]
    r1, r2 = fw.requirements
    assert isinstance(r1.answer, Scale) and r1.answer.id == "coverage"
    assert (r1.weight, r1.evidence, r1.na_allowed, r1.question) == (2.0, "required", True, "One")
    assert isinstance(r2.answer, NumericAnswer) and r2.answer.unit == "hours"
    assert r2.answer.credit_of(24) == 1 and r2.answer.credit_of(25) == 0
    assert (r2.evidence, r2.na_allowed, r2.domain_id) == ("none", False, "D1")
    assert fw.requirement_index["R2"] is r2


def test_default_answer_scale_is_yes_partial_no():
    text = VALID.replace("        answer: coverage\n", "")
    fw = load_framework_text(text)
    assert fw.requirements[0].answer.id == "yes_partial_no"


def test_yaml_12_booleans_yes_is_a_string():
    text = VALID.replace("    - {value: all, label: All, credit: 1}", "    - {value: yes, label: Yes, credit: 1}")
    fw = load_framework_text(text)
    assert fw.scales["coverage"].credit_of("yes") == 1.0
    # `yes` is not a boolean, so it is the wrong type for na_allowed ...
    error = one_error(VALID.replace("na_allowed: false", "na_allowed: yes"))
    assert "na_allowed: expected true or false, got the string 'yes'" in error
    # ... while true and false in any case are booleans.
    assert (
        load_framework_text(VALID.replace("na_allowed: false", "na_allowed: FALSE")).requirements[1].na_allowed is False
    )
    assert (
        load_framework_text(VALID.replace("na_allowed: false", "na_allowed: True")).requirements[1].na_allowed is True
    )


@pytest.mark.parametrize("word", ["on", "off", "y", "n", "no", "Yes"])
def test_yaml_11_boolean_words_are_strings(word):
    error = one_error(VALID.replace("na_allowed: false", f"na_allowed: {word}"))
    assert f"got the string '{word}'" in error


# --- one test per kind of error the spec names -------------------------------------------


def test_not_yaml():
    assert one_error("id: demo\ntitle: [unclosed\nkind: maturity\n").startswith("fw.yaml:3: $: not valid YAML")


def test_not_a_mapping():
    assert one_error("- just\n- a list\n") == "fw.yaml:1: $: expected a mapping, got a list"


def test_unknown_key():
    error = one_error(VALID.replace("        level: 3\n", "        level: 3\n        colour: red\n"))
    assert error.startswith("fw.yaml:27: domains[0].requirements[1].colour: unknown key 'colour'")


def test_missing_key_points_at_the_mapping_that_lacks_it():
    error = one_error(VALID.replace("      - id: R1\n        title: One\n", "      - id: R1\n"))
    assert error == "fw.yaml:20: domains[0].requirements[0].title: missing required key"


def test_missing_top_level_keys_are_all_reported():
    lines = errors_of("kind: compliance\ndomains: []\n")
    assert "fw.yaml:1: id: missing required key" in lines
    assert "fw.yaml:1: version: missing required key" in lines
    assert "fw.yaml:1: title: missing required key" in lines
    assert "fw.yaml:2: domains: expected at least 1 item(s), got 0" in lines


def test_wrong_type():
    error = one_error(VALID.replace('version: "1.0"', "version: 1.0"))
    assert error == 'fw.yaml:2: version: expected a string, got the number 1.0; quote it: "1.0"'


def test_bad_framework_id():
    assert one_error(VALID.replace("id: demo", "id: Demo_1")).startswith(
        "fw.yaml:1: id: 'Demo_1' is not a valid framework id"
    )


def test_bad_requirement_id():
    error = one_error(VALID.replace("- id: R1", "- id: R 1"))
    assert error.startswith("fw.yaml:20: domains[0].requirements[0].id: 'R 1' is not a valid requirement id")


def test_bad_scale_id_and_option_value():
    lines = errors_of(VALID.replace("  coverage:\n", "  Coverage:\n").replace("value: none", "value: None!"))
    assert any(line.startswith("fw.yaml:10: scales.Coverage: 'Coverage' is not a valid scale id") for line in lines)


def test_duplicate_requirement_id():
    error = one_error(VALID.replace("- id: R2", "- id: R1"))
    assert (
        error
        == "fw.yaml:24: domains[0].requirements[1].id: duplicate requirement id 'R1' (first at domains[0].requirements[0], line 20)"
    )


def test_duplicate_domain_id():
    text = VALID + "  - id: D1\n    title: Again\n    requirements:\n      - {id: R3, title: Three, level: 2}\n"
    assert one_error(text) == "fw.yaml:35: domains[1].id: duplicate domain id 'D1' (first on line 17)"


def test_duplicate_scale_value():
    error = one_error(VALID.replace("value: all", "value: none"))
    assert (
        error == "fw.yaml:12: scales.coverage[1].value: duplicate value 'none' in scale 'coverage' (first on line 11)"
    )


def test_unknown_scale():
    error = one_error(VALID.replace("answer: coverage", "answer: coverag"))
    assert error.startswith(
        "fw.yaml:23: domains[0].requirements[0].answer: unknown scale 'coverag'; known scales: coverage,"
    )


def test_builtin_scale_cannot_be_redefined():
    error = one_error(VALID.replace("  coverage:\n", "  yes_no:\n").replace("answer: coverage", "answer: yes_no"))
    assert error == "fw.yaml:10: scales.yes_no: 'yes_no' is reserved and cannot be used here"


def test_level_not_defined():
    error = one_error(VALID.replace("level: 3\n        evidence", "level: 4\n        evidence"))
    assert error == "fw.yaml:26: domains[0].requirements[1].level: level 4 is not defined; defined levels: 1, 2, 3"


def test_level_on_the_floor():
    error = one_error(VALID.replace("level: 2\n        answer: coverage", "level: 1\n        answer: coverage"))
    assert error.startswith("fw.yaml:22: domains[0].requirements[0].level: level 1 is the floor")


def test_level_on_a_compliance_framework():
    text = VALID.replace("kind: maturity", "kind: compliance")
    text = text.replace(
        "levels:\n  - {number: 1, name: Initial}\n  - {number: 2, name: Managed}\n  - {number: 3, name: Defined}\n", ""
    )
    lines = errors_of(text)
    assert lines == [
        "fw.yaml:18: domains[0].requirements[0].level: a compliance framework has no levels; remove 'level'",
        "fw.yaml:22: domains[0].requirements[1].level: a compliance framework has no levels; remove 'level'",
    ]


def test_levels_on_a_compliance_framework():
    error = errors_of(VALID.replace("kind: maturity", "kind: compliance"))[0]
    assert error == "fw.yaml:6: levels: a compliance framework has no levels; remove them or use kind: maturity"


def test_maturity_framework_needs_levels_and_requirement_levels():
    text = VALID.replace(
        "levels:\n  - {number: 1, name: Initial}\n  - {number: 2, name: Managed}\n  - {number: 3, name: Defined}\n", ""
    )
    lines = errors_of(text.replace("        level: 2\n", ""))
    assert lines[0] == "fw.yaml:1: levels: missing required key: a maturity framework defines at least 2 levels"
    assert (
        "fw.yaml:16: domains[0].requirements[0].level: missing required key: every requirement of a maturity framework has a level"
        in lines
    )


def test_levels_not_increasing():
    error = one_error(
        VALID.replace("{number: 3, name: Defined}", "{number: 2, name: Defined}").replace("level: 3\n", "level: 2\n")
    )
    assert error == "fw.yaml:8: levels[2].number: level numbers must strictly increase down the list: 2 follows 2"


def test_fewer_than_two_levels():
    text = VALID.replace("  - {number: 2, name: Managed}\n  - {number: 3, name: Defined}\n", "")
    assert errors_of(text)[0] == "fw.yaml:6: levels: expected at least 2 item(s), got 1"


def test_band_without_credit():
    error = one_error(VALID.replace("- {max: 24, credit: 1}", "- {max: 24}"))
    assert error == "fw.yaml:33: domains[0].requirements[1].answer.bands[0].credit: missing required key"


def test_band_bounds_reversed():
    error = one_error(VALID.replace("- {max: 24, credit: 1}", "- {min: 30, max: 24, credit: 1}"))
    assert error == "fw.yaml:33: domains[0].requirements[1].answer.bands[0]: min 30 is greater than max 24"


def test_numeric_answer_needs_bands():
    error = one_error(
        VALID.replace("          bands:\n            - {max: 24, credit: 1}\n            - {credit: 0}\n", "")
    )
    assert error == "fw.yaml:30: domains[0].requirements[1].answer.bands: missing required key"


@pytest.mark.parametrize("credit", ["1.5", "-0.1"])
def test_credit_outside_0_1(credit):
    error = one_error(
        VALID.replace("{value: all, label: All, credit: 1}", f"{{value: all, label: All, credit: {credit}}}")
    )
    assert error == f"fw.yaml:12: scales.coverage[1].credit: expected a number >= 0 and <= 1, got {float(credit)}"


def test_met_threshold_range():
    assert one_error(VALID + "met_threshold: 0\n").endswith("met_threshold: expected a number > 0 and <= 1, got 0")


def test_weight_must_be_positive():
    assert one_error(VALID.replace("weight: 2", "weight: 0")).endswith("defaults.weight: expected a number > 0, got 0")


def test_unsupported_format():
    assert one_error("format: 2\n" + VALID) == "fw.yaml:1: format: unsupported value 2; this version reads 1"


def test_na_is_not_a_scale_value():
    error = one_error(VALID.replace("value: none", "value: na"))
    assert error == "fw.yaml:11: scales.coverage[0].value: 'na' is reserved and cannot be used here"


def test_every_error_of_a_file_at_once_in_line_order():
    text = (
        VALID.replace('version: "1.0"', "version: 2")
        .replace("answer: coverage", "answer: nope")
        .replace("level: 3\n", "level: 9\n")
        .replace("- {max: 24, credit: 1}", "- {max: 24, credit: 7}")
    )
    lines = errors_of(text)
    assert [int(ERROR_LINE.match(line)["line"]) for line in lines] == [2, 23, 26, 33]


def test_duplicate_yaml_key():
    error = one_error(VALID.replace("title: Demo\n", "title: Demo\ntitle: Again\n"))
    assert error == "fw.yaml:4: title: duplicate key 'title' (first on line 3)"


def test_custom_yaml_tags_are_refused():
    assert "YAML tag '!python/object' is not allowed" in one_error(
        VALID.replace("title: Demo", "title: !python/object x")
    )


def test_alias_bomb_is_refused():
    rows = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    rows += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]" for i in range(1, 8)]
    assert "expands to more than" in one_error("\n".join(rows) + "\n")


def test_deep_nesting_is_refused():
    assert "nested too deeply" in one_error("a: " + "[" * 5000 + "]" * 5000 + "\n")


def test_answers_file_given_as_a_framework(examples):
    with pytest.raises(InvalidFile) as caught:
        load_framework_file(examples / "itgc-mini.answers.yaml")
    assert "this is an answers file, not a framework file" in str(caught.value)


def test_binary_file(tmp_path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"id: x\n\x00\x01\x02")
    with pytest.raises(InvalidFile) as caught:
        load_framework_file(path)
    assert str(caught.value) == f"{path}:2: $: a binary file, not UTF-8 YAML text (it holds NUL bytes)"


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: demo\ntitle: Caf\u00e9\n".encode("latin-1"))
    with pytest.raises(InvalidFile) as caught:
        load_framework_file(path)
    assert str(caught.value) == f"{path}:2: $: not UTF-8 text: byte 0xe9 at offset 19"


def test_file_over_5_mb(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    with pytest.raises(InvalidFile) as caught:
        load_framework_file(path)
    assert "the limit is 5,242,880 (5 MB)" in str(caught.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing\n")
    with pytest.raises(InvalidFile) as caught:
        load_framework_file(path)
    assert str(caught.value) == f"{path}:1: $: the file is empty"


def test_explicit_str_tag_and_quotes_keep_strings():
    assert load_framework_text(VALID.replace('version: "1.0"', "version: !!str 1.0")).version == "1.0"
    assert load_framework_text(VALID.replace('version: "1.0"', "version: '2026.1'")).version == "2026.1"


def test_paths_are_named_when_a_problem_is_found_late_in_the_tree():
    error = one_error(VALID.replace("- {credit: 0}", "- {credit: !custom 0}"))
    assert (
        error
        == "fw.yaml:34: domains[0].requirements[1].answer.bands[1].credit: YAML tag '!custom' is not allowed; remove it"
    )


def test_huge_weight_is_an_error_not_a_crash():
    error = one_error(VALID.replace("weight: 2", "weight: 1" + "0" * 400))
    assert "defaults.weight: expected a finite number of reasonable size" in error


def test_null_as_a_key_reads_as_text():
    from assessment.domain.yamlread import parse_yaml

    assert dict(parse_yaml("null: 1\n~: 2\n", "k.yaml")) == {"null": 1, "~": 2}
    assert "a key is missing" in str(pytest.raises(InvalidFile, parse_yaml, "? \n: 1\n", "k.yaml").value)
