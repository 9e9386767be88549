"""The published JSON Schema is generated from the loader's own declaration and agrees with it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from assessment.domain.errors import InvalidFile
from assessment.domain.loader import framework_json_schema, load_framework_text
from assessment.domain.yamlread import parse_yaml
from tests.conftest import EXAMPLES, LIBRARY, ROOT
from tests.unit.test_loader import VALID

SCHEMA_FILE = ROOT / "schema" / "framework.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(framework_json_schema())

LEVELS = "levels:\n  - {number: 1, name: Initial}\n  - {number: 2, name: Managed}\n  - {number: 3, name: Defined}\n"

# Structural errors: both the loader and the JSON Schema reject these.
STRUCTURAL = {
    "unknown top-level key": VALID + "colour: red\n",
    "unknown requirement key": VALID.replace("        title: Two\n", "        title: Two\n        colour: red\n"),
    "missing title": VALID.replace("title: Demo\n", ""),
    "missing domains": VALID.split("domains:")[0],
    "version as number": VALID.replace('version: "1.0"', "version: 1.0"),
    "bad framework id": VALID.replace("id: demo", "id: Demo"),
    "bad requirement id": VALID.replace("- id: R1", "- id: R 1"),
    "bad kind": VALID.replace("kind: maturity", "kind: audit"),
    "na_allowed yes": VALID.replace("na_allowed: false", "na_allowed: yes"),
    "credit above 1": VALID.replace("{value: all, label: All, credit: 1}", "{value: all, label: All, credit: 2}"),
    "band without credit": VALID.replace("- {max: 24, credit: 1}", "- {max: 24}"),
    "no bands": VALID.replace("- {max: 24, credit: 1}\n            - {credit: 0}\n", "[]\n"),
    "na as option value": VALID.replace("value: none", "value: na"),
    "redefined builtin scale": VALID.replace("  coverage:\n", "  yes_no:\n").replace(
        "answer: coverage", "answer: yes_no"
    ),
    "one level": VALID.replace("  - {number: 2, name: Managed}\n  - {number: 3, name: Defined}\n", ""),
    "zero weight": VALID.replace("weight: 2", "weight: 0"),
    "met_threshold 0": VALID + "met_threshold: 0\n",
    "format 2": "format: 2\n" + VALID,
    "maturity without levels": VALID.replace(LEVELS, ""),
    "levels on compliance": VALID.replace("kind: maturity", "kind: compliance"),
    "requirement level on compliance": VALID.replace("kind: maturity", "kind: compliance").replace(LEVELS, ""),
    "maturity requirement without level": VALID.replace("        level: 2\n", ""),
    "empty requirements": VALID.split("    requirements:")[0] + "    requirements: []\n",
}

# Rules a JSON Schema cannot express: only `assessment validate` catches these.
SEMANTIC_ONLY = {
    "duplicate requirement id": VALID.replace("- id: R2", "- id: R1"),
    "unknown scale": VALID.replace("answer: coverage", "answer: coverag"),
    "undefined level": VALID.replace("level: 3\n", "level: 4\n"),
    "level on the floor": VALID.replace("level: 2\n", "level: 1\n"),
    "levels not increasing": VALID.replace("{number: 3, name: Defined}", "{number: 0, name: Defined}"),
    "duplicate scale value": VALID.replace("value: all", "value: none"),
    "band min above max": VALID.replace("- {max: 24, credit: 1}", "- {min: 30, max: 24, credit: 1}"),
}


def schema_accepts(text: str) -> bool:
    return VALIDATOR.is_valid(parse_yaml(text, "t.yaml"))


def loader_accepts(text: str) -> bool:
    try:
        load_framework_text(text)
    except InvalidFile:
        return False
    return True


def test_published_schema_is_up_to_date():
    """Regenerate with `make schema` when the format's declaration changes."""
    assert json.loads(SCHEMA_FILE.read_text()) == framework_json_schema()


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(framework_json_schema())


def test_both_accept_the_valid_fixture_and_the_spec_examples():
    texts = [VALID] + [p.read_text() for p in sorted(EXAMPLES.glob("*.yaml")) if ".answers." not in p.name]
    for text in texts:
        assert loader_accepts(text) and schema_accepts(text)


@pytest.mark.parametrize("path", sorted(LIBRARY.glob("*.yaml")), ids=lambda p: p.name)
def test_both_accept_every_shipped_framework(path):
    text = path.read_text()
    assert loader_accepts(text)
    errors = [e.message for e in VALIDATOR.iter_errors(parse_yaml(text, path.name))]
    assert errors == []


@pytest.mark.parametrize("name", sorted(STRUCTURAL))
def test_both_reject_structural_errors(name):
    text = STRUCTURAL[name]
    assert not loader_accepts(text)
    assert not schema_accepts(text)


@pytest.mark.parametrize("name", sorted(SEMANTIC_ONLY))
def test_semantic_rules_are_the_loaders_alone(name):
    """These pass the schema (editors cannot know them) and are caught by the validator."""
    text = SEMANTIC_ONLY[name]
    assert schema_accepts(text)
    assert not loader_accepts(text)
