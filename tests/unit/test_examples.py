"""Every example of the spec scores exactly as its expected.json, in-process and through the CLI."""

from __future__ import annotations

import filecmp
import json
import math

import pytest
from click.testing import CliRunner

from assessment.cli import cli
from assessment.domain.answers import read_answers_file
from assessment.domain.loader import load_framework_file
from assessment.domain.scoring import score, scorecard_to_dict
from tests.conftest import EXAMPLES, SHARED_EXAMPLES

NAMES = sorted(p.name.removesuffix(".expected.json") for p in EXAMPLES.glob("*.expected.json"))


def assert_close(actual, expected, path="$"):
    """Deep equality with floats compared to 1e-6."""
    if isinstance(expected, float) or (isinstance(expected, int) and isinstance(actual, float)):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), path
        assert math.isclose(actual, expected, abs_tol=1e-6), f"{path}: {actual} != {expected}"
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and list(actual) == list(expected), f"{path}: keys {list(actual)}"
        for key in expected:
            assert_close(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: length"
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, f"{path}[{index}]")
    else:
        assert actual == expected and type(actual) is type(expected), f"{path}: {actual!r} != {expected!r}"


def test_examples_are_present():
    assert NAMES == ["devops-delivery", "itgc-mini"]


@pytest.mark.parametrize("name", NAMES)
def test_example_scores_as_expected_in_process(name):
    framework = load_framework_file(EXAMPLES / f"{name}.yaml")
    answers = read_answers_file(EXAMPLES / f"{name}.answers.yaml", framework)
    expected = json.loads((EXAMPLES / f"{name}.expected.json").read_text())
    assert_close(scorecard_to_dict(score(framework, answers)), expected)


@pytest.mark.parametrize("name", NAMES)
def test_example_scores_as_expected_on_the_command_line(name):
    result = CliRunner().invoke(
        cli, ["score", str(EXAMPLES / f"{name}.yaml"), str(EXAMPLES / f"{name}.answers.yaml"), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    expected = json.loads((EXAMPLES / f"{name}.expected.json").read_text())
    assert_close(json.loads(result.stdout), expected)


@pytest.mark.skipif(not SHARED_EXAMPLES.is_dir(), reason="../shared is absent: nothing to compare the copies with")
def test_copied_examples_match_the_spec():
    """The project's copies have not drifted from the spec's examples."""
    shared = sorted(p.relative_to(SHARED_EXAMPLES) for p in SHARED_EXAMPLES.rglob("*") if p.is_file())
    ours = sorted(p.relative_to(EXAMPLES) for p in EXAMPLES.rglob("*") if p.is_file())
    assert ours == shared
    for rel in shared:
        assert filecmp.cmp(SHARED_EXAMPLES / rel, EXAMPLES / rel, shallow=False), rel


def test_assert_close_catches_a_difference():
    with pytest.raises(AssertionError):
        assert_close({"a": 1.0}, {"a": 1.1})
    with pytest.raises(AssertionError):
        assert_close({"a": None}, {"a": 0.0})
