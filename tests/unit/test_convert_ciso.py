"""`assessment convert` on CISO Assistant libraries: structure, ids, tags, scales, provenance, errors, the command.

The fixtures in tests/data/convert are small made-up libraries in CISO Assistant's shape.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.cli_files import files
from assessment.domain.convert import ConversionError, convert_document, convert_text, dump_framework
from assessment.domain.convert.names import escape_id, unescape_id
from assessment.domain.errors import InvalidFile
from assessment.domain.loader import load_framework_text
from assessment.domain.yamlread import parse_yaml
from tests.conftest import DATA, tries
from tests.unit.test_cli import SCRIPT, assert_invalid

CONVERT = DATA / "convert"
TINY = CONVERT / "tiny-library.yaml"


def convert(path=TINY) -> dict:
    return convert_document(parse_yaml(path.read_text(), path.name), path.name)


def requirements(framework: dict) -> dict[str, dict]:
    return {r["id"]: r for d in framework["domains"] for r in d["requirements"]}


def problems_of(text: str, name: str = "lib.yaml") -> str:
    with pytest.raises(InvalidFile) as caught:
        convert_text(text, name)
    return str(caught.value)


def test_top_level_nodes_are_domains_and_each_assessable_node_is_one_requirement():
    framework = convert()
    assert [(d["id"], d["title"]) for d in framework["domains"]] == [("PL", "Planning"), ("RV", "Review")]
    assert framework["domains"][0]["description"] == "How work is planned."
    assert "description" not in framework["domains"][1]
    assert [[r["id"] for r in d["requirements"]] for d in framework["domains"]] == [
        ["PL-1", "PL-2.a", "PL-2_20b_2F1"],
        ["RV-1", "RV-1.1", "node9"],
    ]  # OT has nothing assessable under it: no empty domain
    assessable = TINY.read_text().count("assessable: true")
    assert len(requirements(framework)) == assessable == 6


def test_the_result_is_a_valid_compliance_framework_with_the_sources_texts():
    loaded = load_framework_text(dump_framework(convert()), "tiny.yaml")
    assert (loaded.id, loaded.version, loaded.title, loaded.kind) == (
        "tiny-practices",
        "3",
        "Tiny practices",
        "compliance",
    )
    reqs = {r.id: r for r in loaded.requirements}
    backlog = reqs["PL-1"]
    assert backlog.title == "Backlog"
    assert backlog.question == "A single ordered backlog is kept."
    assert backlog.guidance == "Look at the tracker.\n\nTypical evidence:\n\nThe backlog's export."
    assert backlog.section is None


def test_nodes_in_between_give_the_section_and_the_parents_text_opens_the_guidance():
    reqs = requirements(convert())
    sized = reqs["PL-2.a"]
    assert sized["section"] == "PL-2 Estimation"
    assert sized["guidance"] == "**PL-2 Estimation**: Work is sized before it starts."
    assert sized["title"] == "Sizes Work Items"  # a nameless node: the description's head before " — "
    assert sized["question"] == "Sizes Work Items — Each item gets a size before it is started."
    follow = reqs["node9"]
    assert follow["section"] == "RV-1 Retrospectives"
    assert follow["guidance"].endswith("Questions:\n\n- Are last iteration's actions checked?")
    assert "question" not in follow  # no description: the questionnaire asks the title
    assert "section" not in reqs["RV-1"]


def test_an_id_outside_the_pattern_is_escaped_reversibly_and_keeps_its_ref_id_as_a_tag():
    reqs = requirements(convert())
    escaped = reqs["PL-2_20b_2F1"]
    assert escaped["tags"][1:] == ["ref:PL-2 b/1"]
    assert unescape_id("PL-2_20b_2F1") == "PL-2 b/1"
    assert not any(t.startswith("ref:") for t in reqs["RV-1"]["tags"])  # an id that fits is the ref_id itself


@pytest.mark.parametrize("value", ["A B", "a_b", "x/y.z", "é-1", "(1)", "164.308(a)(1)", "_", "Ü 2_/"])
def test_escaping_is_reversed_by_unescaping(value):
    escaped = escape_id(value)
    assert set(escaped) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:()-_")
    assert unescape_id(escaped) == value


@settings(max_examples=tries(500))
@given(st.text(max_size=40))
def test_any_text_escapes_to_id_characters_and_back(value):
    escaped = escape_id(value)
    assert re.fullmatch(r"[A-Za-z0-9._:()-]*", escaped)
    assert unescape_id(escaped) == value


def test_the_conversion_is_deterministic():
    assert convert_text(TINY.read_text(), TINY.name) == convert_text(TINY.read_text(), TINY.name)


def test_every_requirement_carries_its_node_urn_as_its_first_tag():
    """A mapping set names requirements by node urn: the tag is how it finds them after conversion."""
    reqs = requirements(convert())
    assert reqs["PL-1"]["tags"][0] == "urn:intuitem:risk:req_node:tiny-practices:pl-1"
    assert reqs["node9"]["tags"][0] == "urn:intuitem:risk:req_node:tiny-practices:node9"
    assert reqs["PL-2_20b_2F1"]["tags"][0].startswith("urn:intuitem:risk:req_node:tiny-practices:")
    assert all(r["tags"][0].startswith("urn:intuitem:risk:req_node:") for r in reqs.values())
    assert len({r["tags"][0] for r in reqs.values()}) == len(reqs)


def test_implementation_groups_are_tags_and_listed_in_the_description():
    framework = convert()
    reqs = requirements(framework)
    assert reqs["PL-1"]["tags"][1:] == ["group:basic"]
    assert reqs["PL-2.a"]["tags"][1:] == ["group:basic", "group:extra"]
    assert "- `group:basic` Basic: Every team." in framework["description"]
    assert "- `group:extra` Extra" in framework["description"]


def test_the_scoring_scale_is_the_answer_scale_with_credits_from_min_to_max():
    framework = convert()
    assert framework["scales"] == {
        "score": [
            {"value": "0", "label": "Absent", "credit": 0.0},
            {"value": "1", "label": "Started", "credit": 0.333333},
            {"value": "2", "label": "Mostly", "credit": 0.666667},
            {"value": "3", "label": "Always", "credit": 1.0},
        ]
    }
    assert framework["defaults"] == {"answer": "score", "evidence": "optional", "na_allowed": True}
    assert "- **2 Mostly**: Done most of the time." in framework["description"]


def test_a_library_without_a_scale_gets_compliance_answers_and_a_top_level_requirement_its_own_domain():
    framework = convert(CONVERT / "compliance-library.yaml")
    assert framework["defaults"]["answer"] == "compliance"
    assert [o["value"] for o in framework["scales"]["compliance"]] == [
        "compliant",
        "partially_compliant",
        "non_compliant",
    ]
    assert framework["domains"] == [
        {"id": "C1", "title": "A check that is its own domain", "requirements": [
            {"id": "C1", "title": "A check that is its own domain",
             "tags": ["urn:intuitem:risk:req_node:tiny-checks:c1"]}]}
    ]  # fmt: skip
    load_framework_text(dump_framework(framework), "checks.yaml")


def test_source_and_license_travel_with_the_content():
    framework = convert()
    assert framework["license"] == "Written for the assessment test suite; free to copy."
    assert framework["publisher"] == "Test Provider"
    assert framework["source"] == (
        "CISO Assistant library urn:intuitem:risk:library:tiny-practices (ref_id TINY-Practices, version 3, "
        "provider Test Provider, packager tester, published 2026-11-02), "
        "framework urn:intuitem:risk:framework:tiny-practices"
    )


def test_a_clash_of_ids_is_an_error_naming_both_nodes():
    text = TINY.read_text().replace("ref_id: RV-1.1", "ref_id: PL-1")
    message = problems_of(text)
    assert "requirement id 'PL-1'" in message
    assert "urn:intuitem:risk:req_node:tiny-practices:rv-1.1" in message
    assert "urn:intuitem:risk:req_node:tiny-practices:pl-1 " in message
    assert message.startswith("lib.yaml:")


def test_an_id_too_long_even_escaped_is_an_error():
    text = TINY.read_text().replace("ref_id: RV-1.1", "ref_id: " + "R" * 65)
    assert "not a valid id (at most 64 characters)" in problems_of(text)


def test_a_dangling_parent_is_an_error_with_its_line():
    text = TINY.read_text().replace(
        "parent_urn: urn:intuitem:risk:req_node:tiny-practices:rv-1\n", "parent_urn: x\n", 1
    )
    message = problems_of(text)
    line = text.splitlines().index("      parent_urn: x") + 1
    assert f"lib.yaml:{line}: objects.framework.requirement_nodes[7].parent_urn: its parents do not lead" in message


def test_a_library_without_a_framework_says_so():
    message = problems_of((CONVERT / "no-framework.yaml").read_text(), "no-framework.yaml")
    assert "no-framework.yaml:" in message
    assert "objects.framework: this CISO Assistant library has no framework" in message


def test_yaml_of_another_kind_says_what_was_expected():
    message = problems_of((CONVERT / "not-a-library.yaml").read_text(), "other.yaml")
    assert message == (
        "other.yaml:2: $: expected a CISO Assistant library (a mapping with `urn: urn:intuitem:...` and "
        "`objects.framework`) or an OWASP DSOMM model (a `meta` document, then dimensions -> sub-dimensions -> "
        "activities with uuid and level) or a spreadsheet (CSV or XLSX with a header row of at least `id` and "
        "`title`) or an OSCAL catalog or profile (JSON, YAML or XML with `catalog` or `profile` at the top); this "
        "file holds a mapping of no such kind"
    )  # every single-file format is named; the SAMM folder format is named only for a folder
    assert "holds a list of no such kind" in problems_of("- a\n- b\n")


def test_text_that_is_not_yaml_is_an_invalid_file():
    assert "lib.yaml:2: $: not valid YAML" in problems_of("urn: [unclosed\n")


def test_dumped_strings_read_back_as_the_same_strings():
    framework = convert()
    framework["version"] = "1e3"  # plain in YAML 1.1, a number in our 1.2 reader
    framework["domains"][0]["requirements"][0]["title"] = "yes"
    loaded = load_framework_text(dump_framework(framework), "t.yaml")
    assert loaded.version == "1e3"
    assert loaded.requirements[0].title == "yes"


def test_conversion_errors_are_invalid_files():
    assert issubclass(ConversionError, InvalidFile)


# The command line.


def run(*args: str):
    return CliRunner().invoke(files, list(args))


def test_convert_prints_the_framework_on_standard_output():
    result = run("convert", str(TINY))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    framework = load_framework_text(result.stdout, "out.yaml")
    assert len(framework.requirements) == 6


def test_convert_writes_a_valid_file_with_o(tmp_path):
    out = tmp_path / "tiny.yaml"
    result = run("convert", str(TINY), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "tiny-practices 3, 2 domains, 6 requirements" in result.stderr
    assert load_framework_text(out.read_text(), str(out)).id == "tiny-practices"
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.yaml"]  # no temporary file left beside it


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("no-framework.yaml", "has no framework"),
        ("not-a-library.yaml", "expected a CISO Assistant library (a mapping with `urn: urn:intuitem:...`"),
        ("missing.yaml", "no such file"),
    ],
)
def test_convert_refuses_bad_input_with_exit_2_and_writes_nothing(tmp_path, name, fragment):
    out = tmp_path / "out.yaml"
    result = run("convert", str(CONVERT / name), "-o", str(out))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert fragment in result.stderr
    assert str(CONVERT / name) in result.stderr
    assert not out.exists()


def test_convert_refuses_a_framework_file_of_ours(tmp_path):
    ours = tmp_path / "ours.yaml"
    ours.write_text(dump_framework(convert()))
    result = run("convert", str(ours))
    assert result.exit_code == 2
    assert "already a framework file of ours" in result.stderr


@pytest.mark.slow
def test_the_console_script_converts_and_refuses(tmp_path):
    out = tmp_path / "tiny.yaml"
    done = subprocess.run([str(SCRIPT), "convert", str(TINY), "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    check = subprocess.run([str(SCRIPT), "validate", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    bad = subprocess.run([str(SCRIPT), "convert", str(CONVERT / "not-a-library.yaml")], capture_output=True, text=True)
    assert_invalid(bad, "expected a CISO Assistant library")


def test_a_document_parsed_elsewhere_converts_the_same():
    """Plain dicts from PyYAML (dates as dates, no line numbers) give the same framework as our reader's values."""
    assert convert_document(yaml.safe_load(TINY.read_text()), TINY.name) == convert()


def library(nodes: list, **framework) -> dict:
    """A minimal library document around these nodes."""
    return {
        "urn": "urn:intuitem:risk:library:t",
        "ref_id": "t",
        "version": 1,
        "objects": {"framework": {"urn": "urn:intuitem:risk:framework:t", "requirement_nodes": nodes, **framework}},
    }


TOP = {"urn": "u:top", "assessable": False, "ref_id": "T", "name": "Top"}


@pytest.mark.parametrize(
    ("nodes", "framework", "fragment"),
    [
        ([TOP, "not a node"], {}, "requirement_nodes[1]: expected a requirement node"),
        ([TOP, {"urn": "u:a", "assessable": True, "parent_urn": ["u:top"]}], {}, "do not lead to a top-level node"),
        ([TOP, {"urn": "u:a", "assessable": "yes", "parent_urn": "u:top"}], {}, "assessable: expected true or false"),
        ([TOP, {"urn": "u:a", "assessable": True, "parent_urn": "u:b"}, {"urn": "u:b", "assessable": False,
          "parent_urn": "u:a"}], {}, "an unknown parent_urn, or a cycle"),
        ([TOP, {"urn": "u:top", "assessable": True}], {}, "urn u:top is also node"),
        ([TOP, {"urn": "u:a", "assessable": True, "parent_urn": "u:top", "ref_id": 1.5}], {}, "ref_id: expected text"),
        ([TOP], {"min_score": 0, "max_score": 0}, "expected a scoring scale of distinct scores"),
        ([TOP], {"scores_definition": [{"score": "high"}]}, "scores_definition[0].score: expected a whole-number"),
        ([TOP], {"implementation_groups_definition": [{"name": "no ref"}]}, "an implementation group with a ref_id"),
        ([], {}, "expected a non-empty list of requirement nodes"),
    ],
)  # fmt: skip
def test_malformed_libraries_are_errors_not_crashes(nodes, framework, fragment):
    with pytest.raises(ConversionError) as caught:
        convert_document(library(nodes, **framework), "t.yaml")
    assert fragment in str(caught.value)


def test_a_score_range_without_definitions_gives_one_option_a_score():
    node = {"urn": "u:a", "assessable": True, "parent_urn": "u:top", "ref_id": "A", "name": "A"}
    framework = convert_document(library([TOP, node], min_score=1, max_score=3), "t.yaml")
    assert framework["scales"]["score"] == [
        {"value": "1", "label": "Score 1", "credit": 0.0},
        {"value": "2", "label": "Score 2", "credit": 0.5},
        {"value": "3", "label": "Score 3", "credit": 1.0},
    ]


def test_a_mapping_library_is_pointed_to_the_mappings_import():
    text = (DATA / "mappings" / "alpha-to-beta.yaml").read_text()
    with pytest.raises(ConversionError) as caught:
        convert_text(text, "alpha-to-beta.yaml")
    assert "a mapping set between two frameworks, not a framework: import it with `assessment mappings import`" in str(
        caught.value
    )
