"""`assessment convert` on OSCAL catalogs and profiles: structure, ids, prose, parameters, profiles, errors, the command.

The fixtures in tests/data/convert/oscal are a small made-up catalog in OSCAL's JSON, YAML and XML
forms (the same content) and a profile of it in JSON and XML.
"""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from assessment.cli_files import files
from assessment.domain.convert import ConversionError, convert_text
from assessment.domain.convert.names import unescape_id
from assessment.domain.convert.oscal import convert_catalog, convert_profile
from assessment.domain.errors import InvalidFile
from assessment.domain.loader import load_framework_text
from tests.conftest import DATA

OSCAL = DATA / "convert" / "oscal"
CATALOG = OSCAL / "catalog.json"
PROFILE = OSCAL / "profile.json"


def catalog_dict() -> dict:
    return json.loads(CATALOG.read_text(encoding="utf-8"))


def converted(path=CATALOG, catalog=None) -> dict:
    given = (catalog.name, catalog.read_text(encoding="utf-8")) if catalog else None
    framework = load_framework_text(convert_text(path.read_text(encoding="utf-8"), path.name, catalog=given), "out")
    return {r.id: r for r in framework.requirements} | {"": framework}


def problems_of(text: str, name: str = "cat.json", catalog: tuple[str, str] | None = None) -> str:
    with pytest.raises(InvalidFile) as caught:
        convert_text(text, name, catalog=catalog)
    return str(caught.value)


@pytest.mark.parametrize("name", ["catalog.yaml", "catalog.xml"])
def test_the_catalog_in_yaml_and_xml_converts_to_the_same_framework_as_in_json(name):
    assert convert_text((OSCAL / name).read_text(encoding="utf-8"), name) == convert_text(CATALOG.read_text(), "x")


def test_top_level_groups_are_domains_and_each_control_and_enhancement_one_requirement():
    framework = converted()[""]
    assert [(d.id, d.title) for d in framework.domains] == [
        ("pl", "Planning"),
        ("rv", "Review"),
        ("ungrouped", "Controls outside any group"),
    ]  # "ot" holds only a withdrawn control: no empty domain
    assert [[r.id for r in d.requirements] for d in framework.domains] == [
        ["PL-1", "PL-1(1)", "pl-2"],
        ["rv_1", "rv-_C3_9F2"],
        ["GEN-1"],
    ]  # PL-1(2) and OT-1 are withdrawn
    assert framework.kind == "compliance"
    assert {r.answer.id for r in framework.requirements} == {"compliance"}


def test_an_enhancement_and_a_subgroup_give_the_section():
    reqs = converted()
    assert reqs["PL-1(1)"].section == "PL-1 Backlog"
    assert reqs["rv_1"].section == "Retrospectives"
    assert reqs["PL-1"].section is None


def test_ids_are_labels_that_fit_else_control_ids_else_escaped_with_a_ref_tag():
    reqs = converted()
    assert "PL-1(1)" in reqs  # the label
    assert "pl-2" in reqs  # label "PL 2" does not fit: the control id
    assert "rv_1" in reqs
    escaped = reqs["rv-_C3_9F2"]
    assert unescape_id(escaped.id) == "rv-ß2"
    assert "ref:rv-ß2" in escaped.tags


def test_tags_name_the_control_id_its_class_and_family():
    reqs = converted()
    assert reqs["PL-1(1)"].tags == ("oscal:pl-1.1", "TP-enhancement", "family:pl")
    assert reqs["GEN-1"].tags == ("oscal:gen-1",)
    assert reqs["rv-_C3_9F2"].tags[0] == "oscal:rv-ß2"


def test_statement_items_are_a_markdown_list_with_their_labels_and_parameters_filled_in():
    reqs = converted()
    assert reqs["PL-1"].question == (
        "The team keeps one backlog:\n\n"
        "- **a.** ordered by [Assignment: people who order the backlog];\n"
        "- **b.** refined [Selection (one or more): weekly; per iteration]:\n"
        "  - **1.** with sizes;"
    )
    assert reqs["PL-1(1)"].question == "The backlog is reviewed every two weeks."  # a value: the value itself
    assert reqs["PL-1"].guidance == "Look at the tracker."
    assert reqs["rv-_C3_9F2"].guidance == "Last time's actions are checked.\n\nAsk the team."
    assert reqs["GEN-1"].question == "Team Charter"  # no statement: the questionnaire asks the title


def test_framework_facts_come_from_the_metadata():
    framework = converted()[""]
    assert (framework.id, framework.version, framework.title) == ("tiny-team-practices-catalog", "1.2",
                                                                 "Tiny Team Practices Catalog")  # fmt: skip
    assert framework.license == "Written for the assessment test suite; free to copy."
    assert framework.source == (
        "OSCAL catalog Tiny Team Practices Catalog (version 1.2, oscal-version 1.1.2, "
        "uuid 0b7c1f0e-3a52-4c1d-9a0e-5d2f6c7a8b91, last-modified 2026-11-02T10:00:00Z)"
    )


def test_without_licence_props_the_catalogs_own_terms_apply():
    document = catalog_dict()
    del document["catalog"]["metadata"]["props"]
    framework = convert_catalog(document, "c.json")
    assert framework["license"] == (
        "The terms of the OSCAL catalog 'Tiny Team Practices Catalog' (version 1.2) apply to its content."
    )


def test_detection_is_by_content_not_by_file_name():
    text = CATALOG.read_text()
    assert convert_text(text, "catalog.txt") == convert_text(text, "weird.yaml")


# Profiles.


@pytest.mark.parametrize(("profile", "catalog"), [(PROFILE, CATALOG), (OSCAL / "profile.xml", OSCAL / "catalog.xml"),
                                                  (PROFILE, OSCAL / "catalog.yaml")])  # fmt: skip
def test_a_profile_selects_controls_with_children_excludes_and_sets_parameters(profile, catalog):
    reqs = converted(profile, catalog)
    framework = reqs.pop("")
    assert sorted(reqs) == ["PL-1", "PL-1(1)", "rv_1"]  # pl-1 with children (pl-1.2 withdrawn), gen-1 excluded
    assert reqs["PL-1"].question.startswith("The team keeps one backlog:\n\n- **a.** ordered by the product owner;")
    assert (framework.id, framework.version) == ("tiny-team-practices-baseline", "1.2-base")
    assert "resolved against the catalog Tiny Team Practices Catalog (version 1.2)" in framework.source


def profile_dict() -> dict:
    return json.loads(PROFILE.read_text())


def convert_profile_dict(profile: dict) -> dict:
    return convert_profile(profile, "p.json", catalog_dict(), "c.json")


def test_include_all_and_matching_select_and_without_children_only_the_named_control():
    profile = profile_dict()
    imports = profile["profile"]["imports"][0]
    del imports["exclude-controls"]
    imports["include-controls"] = [{"with-ids": ["pl-1"]}]
    ids = [r["id"] for d in convert_profile_dict(profile)["domains"] for r in d["requirements"]]
    assert ids == ["PL-1"]
    imports["include-controls"] = [{"matching": [{"pattern": "rv*"}]}]
    ids = [r["id"] for d in convert_profile_dict(profile)["domains"] for r in d["requirements"]]
    assert ids == ["rv_1", "rv-_C3_9F2"]
    del imports["include-controls"]
    imports["include-all"] = {}
    everything = convert_profile_dict(profile)
    assert sum(len(d["requirements"]) for d in everything["domains"]) == 6


def test_a_profile_set_parameter_wins_over_the_catalogs_value():
    profile = profile_dict()
    profile["profile"]["modify"]["set-parameters"].append({"param-id": "tp-cadence", "values": ["monthly"]})
    framework = convert_profile_dict(profile)
    reqs = {r["id"]: r for d in framework["domains"] for r in d["requirements"]}
    assert reqs["PL-1(1)"]["question"] == "The backlog is reviewed monthly."


# Errors.


def test_broken_json_is_an_error_with_its_line():
    assert problems_of('{"catalog": {"uuid": "x",\n  "metadata": ') == (
        "cat.json:2: $: not valid JSON: Expecting value (column 15)"
    )


def test_a_catalog_missing_required_fields_names_each_path_and_line():
    document = catalog_dict()
    del document["catalog"]["metadata"]["version"]
    document["catalog"]["groups"][0]["controls"][0]["title"] = None
    text = json.dumps(document, indent=2)
    message = problems_of(text)
    lines = text.splitlines()
    title_line = next(i for i, line in enumerate(lines, 1) if '"title": null' in line)
    assert "cat.json:4: catalog.metadata.version: not a valid OSCAL catalog: field required" in message
    assert f"cat.json:{title_line}: catalog.groups[0].controls[0].title: not a valid OSCAL catalog" in message


def test_a_profile_without_its_catalog_says_how_to_give_it():
    message = problems_of(PROFILE.read_text(), "p.json")
    assert message == (
        "p.json:1: profile.imports: an OSCAL profile selects controls of a catalog: "
        "give the catalog file with --catalog CATALOG"
    )


def test_a_profile_naming_a_control_or_parameter_not_in_the_catalog_says_which():
    profile = profile_dict()
    profile["profile"]["imports"][0]["include-controls"][1]["with-ids"].append("zz-9")
    profile["profile"]["modify"]["set-parameters"].append({"param-id": "no-such", "values": ["x"]})
    text = json.dumps(profile, indent=2)
    message = problems_of(text, "p.json", ("c.json", CATALOG.read_text()))
    zz = next(i for i, line in enumerate(text.splitlines(), 1) if '"zz-9"' in line)
    assert f"p.json:{zz}: profile.imports[0].include-controls[1].with-ids[2]: control 'zz-9' is not in the " \
           "catalog c.json" in message  # fmt: skip
    assert "profile.modify.set-parameters[1].param-id: parameter 'no-such' is not in the catalog c.json" in message


def test_catalog_option_only_for_profiles_and_the_catalog_must_be_one():
    assert "--catalog is only for OSCAL profiles" in problems_of(CATALOG.read_text(), "c.json", ("c.json", "{}"))
    message = problems_of(PROFILE.read_text(), "p.json", ("p2.json", PROFILE.read_text()))
    assert message == "p2.json:1: $: expected an OSCAL catalog (`catalog` at the top)"


def test_two_controls_giving_one_id_is_an_error_naming_both():
    document = catalog_dict()
    document["catalog"]["groups"][0]["controls"][1]["props"] = [{"name": "label", "value": "PL-1"}]
    with pytest.raises(ConversionError) as caught:
        convert_catalog(document, "c.json")
    assert "control 'pl-2' gives the requirement id 'PL-1', as does control 'pl-1'" in str(caught.value)


def test_a_catalog_of_withdrawn_controls_only_has_nothing_to_assess():
    document = catalog_dict()
    body = document["catalog"]
    body["groups"], body["controls"] = [copy.deepcopy(body["groups"][2])], []
    with pytest.raises(ConversionError) as caught:
        convert_catalog(document, "c.json")
    assert "selects no control that is not withdrawn" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<catalog><unclosed></catalog>", "cat.json:1: $: not valid XML: mismatched tag"),
        ('<catalog xmlns="urn:other"/>', "expected an OSCAL catalog or profile (an XML root `catalog` or `profile`"),
        (
            '<?xml version="1.0"?><!DOCTYPE c [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
            '<catalog xmlns="http://csrc.nist.gov/ns/oscal/1.0">&b;</catalog>',
            "not accepted",
        ),
    ],
)
def test_bad_xml_is_refused_with_a_reason(text, fragment):
    assert fragment in problems_of(text)


def test_xml_missing_required_fields_is_refused_by_the_model():
    text = (OSCAL / "catalog.xml").read_text().replace("<version>1.2</version>", "")
    assert "catalog.metadata.version: not a valid OSCAL catalog: field required" in problems_of(text, "c.xml")


# The command line.


def run(*args: str):
    return CliRunner().invoke(files, list(args))


def test_convert_writes_a_profile_resolved_against_its_catalog(tmp_path):
    out = tmp_path / "baseline.yaml"
    result = run("convert", str(PROFILE), "--catalog", str(CATALOG), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "tiny-team-practices-baseline 1.2-base, 2 domains, 3 requirements" in result.stderr
    assert len(load_framework_text(out.read_text(), str(out)).requirements) == 3


@pytest.mark.parametrize(
    ("content", "extra", "fragment"),
    [
        ('{"catalog": {"uuid": ', (), "not valid JSON"),
        ('{"catalog": {"uuid": "0b7c1f0e-3a52-4c1d-9a0e-5d2f6c7a8b91"}}', (), "metadata: not a valid OSCAL catalog"),
        (None, (), "give the catalog file with --catalog CATALOG"),
        ("zz-9", ("--catalog", str(CATALOG)), "control 'zz-9' is not in the catalog"),
        (None, ("--catalog", str(OSCAL / "missing.json")), "missing.json:1: $: no such file"),
    ],
)
def test_convert_refuses_bad_oscal_with_exit_2_and_writes_nothing(tmp_path, content, extra, fragment):
    source = tmp_path / "source.json"
    if content == "zz-9":
        profile = profile_dict()
        profile["profile"]["imports"][0]["include-controls"][0]["with-ids"] = ["zz-9"]
        content = json.dumps(profile)
    source.write_text(content if content is not None else PROFILE.read_text())
    out = tmp_path / "out.yaml"
    result = run("convert", str(source), *extra, "-o", str(out))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_catalog_option_is_refused_for_a_folder(tmp_path):
    result = run("convert", str(tmp_path), "--catalog", str(CATALOG))
    assert result.exit_code == 2
    assert "--catalog: only for OSCAL profiles" in result.stderr


def test_numbers_where_yaml_reads_them_are_taken_as_their_text():
    text = (OSCAL / "catalog.yaml").read_text().replace("title: Planning", "title: 2026", 1)
    text = text.replace("- every two weeks", "- 14", 1)
    framework = load_framework_text(convert_text(text, "c.yaml"), "out")
    assert framework.domains[0].title == "2026"
    assert {r.id: r for r in framework.requirements}["PL-1(1)"].question == "The backlog is reviewed 14."


def test_a_source_larger_than_a_framework_file_converts_and_one_past_32_mb_is_refused(tmp_path):
    # NIST's full SP 800-53 catalog is about 10 MB of JSON: past the 5 MB of a framework file, so a
    # source has its own limit (32 MB); what it converts to is judged by the framework loader.
    catalog = json.loads(CATALOG.read_text())
    catalog["catalog"]["back-matter"] = {
        "resources": [{"uuid": "6f3c1c52-8d0e-4f55-9a56-0f6c2b7d9e10", "remarks": "x" * (7 * 1024 * 1024)}]
    }
    big = tmp_path / "big.json"
    big.write_text(json.dumps(catalog))
    out = tmp_path / "out.yaml"
    result = run("convert", str(big), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.exists()
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(32 * 1024 * 1024 + 1)
    result = run("convert", str(huge), "-o", str(out.with_name("no.yaml")))
    assert result.exit_code == 2
    assert "the limit is 33,554,432 (32 MB)" in result.stderr
    assert not out.with_name("no.yaml").exists()


@pytest.mark.parametrize(
    ("model", "says"),
    [
        ("assessment-results", "`assessment oscal results` writes"),
        ("plan-of-action-and-milestones", "`assessment oscal poam` writes"),
        ("system-security-plan", "the catalog or profile the system implements"),
        ("mapping-collection", "`assessment mappings import`"),
    ],
)
def test_oscals_other_models_are_named_and_pointed_where_they_belong(model, says):
    text = json.dumps({model: {"uuid": "5d1f4e3a-2b6c-4c8d-9e0f-1a2b3c4d5e6f", "metadata": {"title": "Ours"}}})
    message = problems_of(text, "other.json")
    assert f"other.json:1: $: this is an OSCAL {model} document, not a catalog or profile" in message
    assert says in message
