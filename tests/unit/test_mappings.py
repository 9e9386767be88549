"""Mapping files (CISO Assistant mapping sets, OSCAL mapping collections) and practice tags -> Mappings."""

from __future__ import annotations

import pytest

from assessment.domain.convert import convert_text
from assessment.domain.errors import InvalidFile
from assessment.domain.loader import load_framework_text
from assessment.domain.mappings import (
    Index,
    Mapping,
    Relation,
    practice_mappings,
    read_ciso_mapping_text,
    read_mapping_text,
    read_oscal_mapping_text,
)
from tests.conftest import DATA

MAPPINGS = DATA / "mappings"
CISO_SET = MAPPINGS / "alpha-to-beta.yaml"
OSCAL_SET = MAPPINGS / "alpha-to-beta-oscal.json"


def converted(name: str):
    path = MAPPINGS / name
    return load_framework_text(convert_text(path.read_text(), path.name), path.name)


@pytest.fixture(scope="module")
def index() -> Index:
    return Index({1: converted("alpha-library.yaml"), 2: converted("beta-library.yaml")})


def test_a_ciso_mapping_set_resolves_node_urns_to_stored_requirements(index):
    result = read_ciso_mapping_text(CISO_SET.read_text(), CISO_SET.name, index)
    assert result.name == "Tiny alpha -> tiny beta"
    assert result.source.startswith("CISO Assistant mapping library urn:intuitem:risk:library:mapping-tiny")
    assert result.mappings == (
        Mapping(1, "AC-1", 2, "ID.1", Relation.EQUAL, "syntactic"),
        Mapping(1, "AC-2", 2, "ID.2", Relation.SUBSET, None),
        Mapping(1, "AC-2", 2, "ID.3", Relation.INTERSECT, None),
    )  # not_related is skipped


def test_an_oscal_mapping_collection_resolves_resources_and_control_ids(index):
    result = read_oscal_mapping_text(OSCAL_SET.read_text(), OSCAL_SET.name, index)
    assert result.name == "Tiny alpha to tiny beta (made up for the tests)"
    assert result.mappings == (
        Mapping(1, "AC-1", 2, "ID.1", Relation.EQUAL, "Both approve access first."),
        Mapping(1, "AC-2", 2, "ID.2", Relation.SUPERSET, None),
    )


def test_an_oscal_control_is_found_by_its_oscal_tag_before_an_equal_id():
    framework = load_framework_text(
        """
id: tagged
version: "1"
title: Tagged
kind: compliance
scales: {yn: [{value: "yes", label: "Yes", credit: 1}, {value: "no", label: "No", credit: 0}]}
domains:
- id: D
  title: D
  requirements:
  - {id: R1, title: R1, answer: yn, tags: ["oscal:ac-1"]}
  - {id: ac-1, title: other, answer: yn}
""",
        "tagged.yaml",
    )
    assert Index({"t": framework}).control("t", "ac-1") == "R1"


def test_the_reader_tells_the_two_kinds_apart(index):
    assert read_mapping_text(OSCAL_SET.read_text(), OSCAL_SET.name, index).source.startswith("OSCAL")
    assert read_mapping_text(CISO_SET.read_text(), CISO_SET.name, index).source.startswith("CISO")


def test_every_problem_of_a_ciso_set_is_reported_at_once_with_its_line(index):
    text = CISO_SET.read_text()
    text = text.replace("tiny-beta:id.1", "tiny-beta:nowhere").replace("relationship: subset", "relationship: kinda")
    text = text.replace("    target_framework_urn: urn:intuitem:risk:framework:tiny-beta\n", "")
    with pytest.raises(InvalidFile) as caught:
        read_ciso_mapping_text(text, "bad.yaml", index)
    messages = str(caught.value).splitlines()
    assert len(messages) == 3
    assert any("target_framework_urn: expected a non-empty text" in m for m in messages)
    assert any(
        m.startswith("bad.yaml:16: objects.requirement_mapping_set.requirement_mappings[0].target_requirement_urn:")
        and "no stored framework has the requirement urn:intuitem:risk:req_node:tiny-beta:nowhere" in m
        for m in messages
    )
    assert any("requirement_mappings[1].relationship: unknown relationship 'kinda'" in m for m in messages)


def test_a_file_that_is_no_mapping_set_is_refused(index):
    with pytest.raises(InvalidFile, match="expected a CISO Assistant mapping library"):
        read_ciso_mapping_text("urn: x\nobjects: {framework: {}}\n", "lib.yaml", index)
    with pytest.raises(InvalidFile, match="expected an OSCAL mapping collection"):
        read_oscal_mapping_text('{"catalog": {}}', "cat.json", index)


def test_every_problem_of_an_oscal_collection_is_reported_at_once(index):
    text = OSCAL_SET.read_text().replace('"ID.2"', '"ID.9"').replace("equivalent-to", "same-as")
    text = text.replace('"href": "tiny-alpha"', '"href": "unknown-catalog"')
    with pytest.raises(InvalidFile) as caught:
        read_oscal_mapping_text(text, "bad.json", index)
    messages = str(caught.value).splitlines()
    assert any("mappings[0].source-resource: no stored framework matches unknown-catalog" in m for m in messages)
    assert any("maps[0].relationship: unknown relationship 'same-as'" in m for m in messages)
    assert any("maps[1].targets[0].id-ref: the framework" in m and "'ID.9'" in m for m in messages)
    assert all(m.startswith("bad.json:") and int(m.split(":")[1]) > 1 for m in messages)


def test_requirements_sharing_a_practice_tag_intersect_across_frameworks_only():
    text = """
id: {id}
version: "1"
title: {id}
kind: compliance
scales: {{yn: [{{value: "yes", label: "Yes", credit: 1}}, {{value: "no", label: "No", credit: 0}}]}}
domains:
- id: D
  title: D
  requirements:
  - {{id: R1, title: R1, answer: yn, tags: ["practice:change-approval"]}}
  - {{id: R2, title: R2, answer: yn, tags: ["practice:change-approval"]}}
  - {{id: R3, title: R3, answer: yn}}
"""
    a = load_framework_text(text.format(id="a"), "a.yaml")
    b = load_framework_text(text.format(id="b"), "b.yaml")
    found = practice_mappings(Index({"a": a, "b": b}))
    assert Mapping("a", "R1", "b", "R1", Relation.INTERSECT, "practice:change-approval") in found
    assert Mapping("b", "R2", "a", "R1", Relation.INTERSECT, "practice:change-approval") in found
    assert all(m.source_framework != m.target_framework for m in found)
    assert len(found) == 8  # 2 x 2 pairs, both ways


def test_relations_read_backwards_and_which_cover_fully():
    assert Relation.SUBSET.reversed() is Relation.SUPERSET
    assert Relation.INTERSECT.reversed() is Relation.INTERSECT
    assert [r.value for r in Relation if r.covers_fully] == ["equal", "superset"]
    mapping = Mapping(1, "A", 2, "B", Relation.SUBSET, "why")
    assert mapping.reversed() == Mapping(2, "B", 1, "A", Relation.SUPERSET, "why")


def _req(answer, na=True):
    from assessment.domain.framework import Requirement

    return Requirement("R", "R", "D", answer, "?", na_allowed=na)


def test_a_value_translates_to_the_same_value_else_the_nearest_credit_and_numbers_only_to_numbers():
    from assessment.domain.framework import Band, NumericAnswer, Scale, ScaleOption
    from assessment.domain.mappings import translate

    yes_no = Scale("yn", (ScaleOption("yes", "Yes", 1.0), ScaleOption("no", "No", 0.0)))
    three = Scale(
        "c", (ScaleOption("full", "Full", 1.0), ScaleOption("half", "Half", 0.5), ScaleOption("none", "None", 0.0))
    )
    shared = Scale("s", (ScaleOption("yes", "Yes", 1.0), ScaleOption("partly", "Partly", 0.4)))
    number = NumericAnswer((Band(1.0, min=0),))
    assert translate("yes", _req(yes_no), _req(shared)) == "yes"  # the same value where the scale has it
    assert translate("yes", _req(yes_no), _req(three)) == "full"
    assert translate("no", _req(yes_no), _req(three)) == "none"
    assert translate("half", _req(three), _req(yes_no)) == "no"  # a tie goes to the lower credit
    assert translate("half", _req(three), _req(shared)) == "partly"
    assert translate("na", _req(three), _req(yes_no)) == "na"
    assert translate("na", _req(three), _req(yes_no, na=False)) is None
    assert translate(None, _req(three), _req(yes_no)) is None
    assert translate("12.5", _req(number), _req(number)) == "12.5"  # numbers only to numbers
    assert translate("12.5", _req(number), _req(yes_no)) is None
    assert translate("yes", _req(yes_no), _req(number)) is None
