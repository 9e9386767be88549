"""Files a person (or another tool) hands the command line: odd numbers, odd characters, more than
one document. Each gets FILE:LINE: PATH: message lines and exit 2, never a traceback."""

from __future__ import annotations

import pytest

from tests.conftest import EXAMPLES
from tests.unit.test_cli import assert_invalid, devops, run  # noqa: F401  (devops is a fixture)

TOO_MANY_DIGITS = "9" * 5000


def test_validate_refuses_a_5000_digit_number_naming_its_line(tmp_path):
    text = (EXAMPLES / "devops-delivery.yaml").read_text()
    lines = text.splitlines()
    number = next(i for i, line in enumerate(lines) if line.strip() == "weight: 2")
    lines[number] = lines[number].replace("2", TOO_MANY_DIGITS)
    (tmp_path / "big.yaml").write_text("\n".join(lines) + "\n")
    result = run("validate", tmp_path / "big.yaml")
    assert_invalid(result, f"big.yaml:{number + 1}: domains[0].weight: expected a finite number of reasonable size")
    assert len(result.stderr.splitlines()) == 1 and len(result.stderr) < 200


def test_score_refuses_a_5000_digit_number_naming_its_line(devops):  # noqa: F811
    framework, answers = devops
    text = answers.read_text().replace("DEP-02: 36", f"DEP-02: {TOO_MANY_DIGITS}")
    text = text.replace("target_level: 3", "target_level: 0x" + "f" * 5000)
    answers.write_text(text)
    number = text.splitlines().index(f"  DEP-02: {TOO_MANY_DIGITS}") + 1
    result = run("score", framework, answers)
    assert_invalid(result, f"answers.yaml:{number}: answers.DEP-02: expected a finite number of reasonable size")
    assert "answers.yaml:5: target_level: expected an integer of reasonable size" in result.stderr


@pytest.mark.parametrize("character", ["\x07", "\x1b", "\x7f", "\ufffe"])
def test_a_control_character_gives_one_line_naming_its_line(tmp_path, character):
    text = (EXAMPLES / "devops-delivery.yaml").read_text()
    lines = text.splitlines()
    number = next(i for i, line in enumerate(lines) if "Deployments are scripted" in line)
    lines[number] = lines[number].replace("Deployments", f"Deploy{character}ments")
    (tmp_path / "ctl.yaml").write_text("\n".join(lines) + "\n")
    result = run("validate", tmp_path / "ctl.yaml")
    assert_invalid(result, f"ctl.yaml:{number + 1}: $: not valid YAML: the control character U+{ord(character):04X}")
    assert len(result.stderr.splitlines()) == 1


def test_a_multi_document_file_is_named_as_such(tmp_path):
    text = (EXAMPLES / "devops-delivery.yaml").read_text()
    (tmp_path / "two.yaml").write_text(text + "---\nid: other\n")
    result = run("validate", tmp_path / "two.yaml")
    second = len(text.splitlines()) + 1
    assert_invalid(result, f"two.yaml:{second}: $: the file holds more than one document")
    assert "not valid YAML" not in result.stderr


@pytest.mark.parametrize("where", ["../outside.yml", "ABSOLUTE", "evidence/../../outside.yml", "link.yml"])
def test_score_reads_evidence_only_inside_the_answers_folder(devops, where):  # noqa: F811
    framework, answers = devops
    outside = answers.parent.parent / "outside.yml"
    outside.write_text("stages: [build]\n")
    (answers.parent / "link.yml").symlink_to(outside)
    name = str(outside) if where == "ABSOLUTE" else where
    text = answers.read_text().replace("file: evidence/pipeline.yml", f"file: {name}")
    answers.write_text(
        text.replace("        sha256: 1a8dd0a0e6bd03841deb022508d992e909b2aeec63148d1b7e7629ecaf94a533\n", "")
    )
    number = next(i for i, line in enumerate(text.splitlines(), 1) if f"file: {name}" in line)
    result = run("score", framework, answers)
    assert_invalid(
        result,
        f"answers.yaml:{number}: answers.CI-01.evidence[0].file: evidence file {name!r} lies outside the answers file's folder",
    )
