"""`assessment convert` on OWASP DSOMM models and SAMM model folders: structure, levels, ids, scales, errors, CLI.

The fixtures in tests/data/convert (tiny-dsomm.yaml, tiny-samm/) are made up, in the two models' shapes.
"""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.cli_convert import read_folder
from assessment.cli_files import files
from assessment.domain.answers import read_answers_text
from assessment.domain.convert import (
    ConversionError,
    Documents,
    Folder,
    convert_document,
    convert_folder,
    convert_text,
    dump_framework,
)
from assessment.domain.convert.names import unescape_id
from assessment.domain.convert.samm import licence_name, option_value
from assessment.domain.errors import InvalidFile
from assessment.domain.loader import load_framework_text
from assessment.domain.scoring import score
from assessment.domain.yamlread import parse_yaml_documents
from tests.conftest import DATA, tries

CONVERT = DATA / "convert"
DSOMM = CONVERT / "tiny-dsomm.yaml"
SAMM = CONVERT / "tiny-samm"
MODEL = SAMM / "model"
UUID = "0a1b2c3d-0000-4000-8000-00000000000"  # + the activity's digit


def dsomm(text: str | None = None) -> dict:
    text = DSOMM.read_text() if text is None else text
    return yaml.safe_load(convert_text(text, "model.yaml"))


def requirements(framework: dict) -> dict[str, dict]:
    return {r["id"]: r for d in framework["domains"] for r in d["requirements"]}


def dsomm_problems(text: str) -> str:
    with pytest.raises(InvalidFile) as caught:
        convert_text(text, "model.yaml")
    return str(caught.value)


def activities_in(text: str) -> int:
    """The source's activities, counted with PyYAML alone."""
    _, model = yaml.safe_load_all(text)
    return sum(len(acts) for subs in model.values() for acts in subs.values())


# DSOMM.


def test_dimensions_are_domains_and_each_activity_one_requirement_at_its_level():
    framework = dsomm()
    assert [(d["id"], d["title"]) for d in framework["domains"]] == [
        ("Delivery", "Delivery"),
        ("Culture_20and_20Learning", "Culture and Learning"),
    ]
    assert unescape_id("Culture_20and_20Learning") == "Culture and Learning"
    reqs = requirements(framework)
    assert len(reqs) == activities_in(DSOMM.read_text()) == 4
    assert [(r["id"], r["title"], r["section"], r["level"]) for r in reqs.values()] == [
        (UUID + "1", "Repeatable packaging", "Packaging", 1),
        (UUID + "2", "Signed packages", "Packaging", 3),
        (UUID + "3", "Rollback plan", "Release & Rollback", 5),
        (UUID + "4", "Shared lessons", "Learning", 2),
    ]


def test_the_result_is_a_valid_maturity_framework_with_a_floor_and_levels_1_to_5():
    framework = load_framework_text(convert_text(DSOMM.read_text(), DSOMM.name), "out.yaml")
    assert (framework.id, framework.version, framework.kind) == ("owasp-dsomm", "0.9.2", "maturity")
    assert [level.number for level in framework.levels] == [0, 1, 2, 3, 4, 5]
    assert {r.answer.id for r in framework.requirements} == {"yes_no"}
    card = score(framework, {})
    assert (card.score, card.completion, card.counts.unanswered) == (0, 0, 4)


def test_the_texts_are_the_sources_description_or_measure_then_the_guidance():
    reqs = requirements(dsomm())
    first = reqs[UUID + "1"]
    assert first["question"] == "Packages are made by a script, not by hand."
    assert first["guidance"] == (
        "**Risk**: Hand-made packages differ from one another.\n\n"
        "**Measure**: Write the packaging steps down as a script.\n\n"
        "**Assessment**:\n\n- Show the script and one package it made.\n\n"
        "**Tools**: Any build tool\n\n"
        "DSOMM rates it (1 low to 5 high): usefulness 3, knowledge 1, time 2, resources 1."
    )
    signed = reqs[UUID + "2"]  # no description: the measure is the question, not repeated in the guidance
    assert signed["question"] == "Sign every package and check the signature before use."
    assert "**Measure**" not in signed["guidance"]
    assert "**Implementation guide**: Start with the packages that reach production." in signed["guidance"]
    assert "**Comment**: Keep the key out of the repository." in signed["guidance"]
    assert signed["guidance"].endswith(f"**Depends on**:\n\n- `{UUID}1` Repeatable packaging")


def test_references_are_tags_without_the_opencre_links_and_own_tags_stay():
    reqs = requirements(dsomm())
    assert reqs[UUID + "1"]["tags"] == ["samm2:I-SB-A-1", "iso27001-2022:8.32"]  # "none" is no tag
    assert reqs[UUID + "2"]["tags"] == ["samm2:I-SB-A-3", "signing"]
    assert "tags" not in reqs[UUID + "3"]


def test_source_names_the_meta_and_the_licence_is_gpl_unless_the_file_says_otherwise():
    framework = dsomm()
    assert framework["source"] == "OWASP DSOMM model (version 0.9.2, released 2026-10-01, publisher Test Publisher)"
    assert framework["publisher"] == "Test Publisher"
    assert framework["license"] == "GPL-3.0"
    text = DSOMM.read_text().replace("  publisher: Test Publisher\n", "  publisher: Test Publisher\n  license: MIT\n")
    assert dsomm(text)["license"] == "MIT"


def test_one_document_with_meta_beside_the_dimensions_converts_the_same():
    meta, model = parse_yaml_documents(DSOMM.read_text(), "m.yaml")
    merged = {**meta, **model}
    assert convert_document(merged, "m.yaml") == convert_document(Documents([meta, model]), "m.yaml")


def test_the_conversion_is_deterministic():
    assert convert_text(DSOMM.read_text(), "a") == convert_text(DSOMM.read_text(), "a")


def test_two_activities_with_one_uuid_are_an_error_naming_both():
    text = DSOMM.read_text().replace(UUID + "3", UUID + "1")
    message = dsomm_problems(text)
    assert f"the requirement id '{UUID}1' of Delivery.Release & Rollback.Rollback plan.uuid is also that of " in message
    assert "Delivery.Packaging.Repeatable packaging.uuid" in message


def test_every_problem_is_reported_at_once_with_its_line():
    text = DSOMM.read_text().replace("      level: 5\n", "      level: 6\n").replace(f"      uuid: {UUID}4\n", "")
    message = dsomm_problems(text)
    line = text.splitlines().index("      level: 6") + 1
    assert (
        f"model.yaml:{line}: Delivery.Release & Rollback.Rollback plan.level: expected a level from 1 to 5" in message
    )
    assert "Culture and Learning.Learning.Shared lessons.uuid: missing the activity's uuid" in message


def test_a_model_without_meta_says_the_version_is_missing():
    text = DSOMM.read_text().split("---\n", 2)[2]
    assert "model.yaml:1: meta: expected the meta document" in dsomm_problems(text)


def test_yaml_of_another_kind_names_every_single_file_format():
    message = dsomm_problems("- a\n- b\n")
    assert "an OWASP DSOMM model" in message and "a CISO Assistant library" in message
    assert "OWASP SAMM" not in message  # a folder's format


def test_an_empty_file_or_stream_is_refused():
    assert dsomm_problems("# nothing\n") == "model.yaml:1: $: the file is empty"
    assert dsomm_problems("---\n---\n") == "model.yaml:1: $: the file is empty"


def test_two_documents_of_no_known_kind_are_refused():
    assert "this file holds a stream of documents of no such kind" in dsomm_problems("a: 1\n---\nb: 2\n")


# SAMM.


def samm_files() -> dict[str, str]:
    return read_folder(MODEL)


def samm(files: dict[str, str] | None = None) -> dict:
    return yaml.safe_load(convert_folder("model", samm_files() if files is None else files))


def samm_problems(files: dict[str, str]) -> str:
    with pytest.raises(InvalidFile) as caught:
        convert_folder("model", files)
    return str(caught.value)


def test_practices_are_domains_in_function_order_and_each_question_one_requirement():
    framework = samm()
    assert [(d["id"], d["title"]) for d in framework["domains"]] == [("P-BL", "Backlog"), ("R-WA", "Watch")]
    assert framework["domains"][0]["description"].startswith("Business function: Plan.")
    reqs = requirements(framework)
    questions = [path for path in samm_files() if path.startswith("questions/")]
    assert len(reqs) == len(questions) == 6
    assert [(r["id"], r["section"], r["level"]) for r in reqs.values()] == [
        ("P-BL-A-1", "Stream A: Ordering", 1),
        ("P-BL-A-2", "Stream A: Ordering", 2),
        ("P-BL-B-1", "Stream B: Sizing", 1),
        ("R-WA-A-1", "Stream A: Alerts", 1),
        ("R-WA-A-2.1", "Stream A: Alerts", 2),  # two questions on one activity: their order is added
        ("R-WA-A-2.2", "Stream A: Alerts", 2),
    ]


def test_the_texts_are_the_activitys_and_the_questions():
    follow = requirements(samm())["R-WA-A-2.2"]
    assert (follow["title"], follow["question"]) == ("Follow up alerts", "Are alerts followed up?")
    assert follow["guidance"] == (
        "Quality criteria:\n\n- Follow-ups are tracked\n\nAlerts are followed up.\n\n"
        "Each alert gets an owner and a follow-up.\n\n**Benefit**: Failures are fixed\n\n"
        "**Objective at level 2**: Act on failures."
    )


def test_levels_are_the_floor_then_the_maturity_levels():
    assert samm()["levels"] == [
        {"number": 0, "name": "Level 0", "description": "The floor: no activity is needed."},
        {"number": 1, "name": "Level 1", "description": "Done now and then."},
        {"number": 2, "name": "Level 2", "description": "Done every time."},
    ]


def test_each_answer_set_is_a_scale_in_its_order_with_the_values_as_credit():
    framework = samm()
    assert framework["scales"]["answers_y"] == [
        {"value": "n-a", "label": "N/A", "credit": 0},
        {"value": "sometimes", "label": "Sometimes", "credit": 0.25},
        {"value": "often", "label": "Often", "credit": 0.75},
        {"value": "always", "label": "Always", "credit": 1},
    ]
    assert [o["value"] for o in framework["scales"]["answers_x"]] == ["no", "yes-for-some-teams", "yes-for-all-teams"]
    reqs = requirements(framework)
    assert (reqs["P-BL-B-1"]["answer"], reqs["P-BL-A-1"]["answer"]) == ("answers_y", "answers_x")
    assert "weight" not in reqs["P-BL-A-1"]


def test_the_result_validates_scores_and_reaches_the_top_level_when_all_is_answered_best():
    framework = load_framework_text(convert_folder("model", samm_files()), "samm.yaml")
    assert (framework.id, framework.version, framework.license) == ("owasp-samm", "TINY10", "CC BY-SA 4.0")
    assert score(framework, {}).score == 0
    best = {"answers_x": "yes-for-all-teams", "answers_y": "always"}
    lines = [f"  {r.id}: {best[r.answer.id]}" for r in framework.requirements]
    text = "framework: owasp-samm\nversion: TINY10\nanswers:\n" + "\n".join(lines) + "\n"
    card = score(framework, read_answers_text(text, framework, "answers.yaml").answers)
    assert (card.score, card.level) == (100, 2)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Attribution-ShareAlike 4.0 International\n\nmore", "CC BY-SA 4.0"),
        ("\n  Attribution 4.0 International\n", "CC BY 4.0"),
        ("Creative Commons Attribution-NonCommercial-NoDerivatives 4.0 International", "CC BY-NC-ND 4.0"),
        ("MIT License\n\nCopyright", "MIT License"),
        ("\n\n", None),
    ],
)
def test_the_licence_is_named_by_its_first_line(text, name):
    assert licence_name(text) == name


@pytest.mark.parametrize(
    ("text", "value"),
    [("No", "no"), ("Yes, for some teams", "yes-for-some-teams"), ("N/A", "n-a"), ("Yes " * 20, "yes-" * 11 + "yes")],
)
def test_option_values_come_from_the_answers_text(text, value):
    assert option_value(text) == value


def test_the_licence_is_read_beside_the_model_or_in_its_parent():
    assert read_folder(MODEL)["../license.txt"].startswith("Attribution-ShareAlike")
    assert read_folder(SAMM)["license.txt"].startswith("Attribution-ShareAlike")
    assert samm(read_folder(SAMM)) == samm()  # the folder above the model gives the same framework


def test_a_link_to_nothing_and_a_bad_answer_are_reported_together_with_their_files():
    changed = samm_files()
    changed["questions/P-BL-1-B.yml"] = changed["questions/P-BL-1-B.yml"].replace(
        "answerSet: x0000000000000000000000000000002", "answerSet: nowhere"
    )
    changed["answer_sets/X.yml"] = changed["answer_sets/X.yml"].replace("value: 0.5", "value: 5")
    message = samm_problems(changed)
    assert "model/questions/P-BL-1-B.yml:3: answerSet: no AnswerSet in the folder has id nowhere" in message
    assert "model/answer_sets/X.yml:9: values[1].value: expected a number from 0 to 1, found 5" in message


def test_two_questions_that_give_one_id_are_an_error_naming_both_files():
    changed = samm_files()
    changed["streams/P-BL-B.yml"] = changed["streams/P-BL-B.yml"].replace("letter: B", "letter: A")
    message = samm_problems(changed)
    assert "model/questions/P-BL-1-B.yml:2: $: the requirement id 'P-BL-A-1' made from the model" in message
    assert "also that of model/questions/P-BL-1-A.yml" in message


def test_a_missing_kind_of_file_and_a_broken_file_are_errors():
    changed = {k: v for k, v in samm_files().items() if not k.startswith("answer_sets/")}
    assert "model:1: $: expected the model's AnswerSet files; this folder has none" in samm_problems(changed)
    changed = samm_files()
    changed["streams/R-WA-A.yml"] = "name: [unclosed\n"
    changed["streams/P-BL-A.yml"] = "name: [unclosed too\n"
    message = samm_problems(changed)  # every file's syntax first, then the model
    assert "model/streams/R-WA-A.yml:2: $: not valid YAML" in message
    assert "model/streams/P-BL-A.yml:2: $: not valid YAML" in message
    changed = samm_files()
    changed["streams/P-BL-A.yml"] += "---\nmore: 1\n"
    assert "model/streams/P-BL-A.yml:1: $: the file holds more than one document" in samm_problems(changed)


def test_a_folder_of_other_files_says_what_was_expected():
    message = samm_problems({"list.yml": "- a\n", "notes.txt": "x"})
    assert message == (
        "model:1: $: expected an OWASP SAMM model folder (YAML files of type Function, Practice, Stream, Activity, "
        "Question, AnswerSet); this folder holds 1 YAML file of no such kind"
    )


def test_a_folder_holding_a_file_of_a_known_format_says_to_convert_that_file():
    message = samm_problems({"model.yaml": DSOMM.read_text(), "empty.yml": "# nothing\n"})
    assert message.endswith("holds 1 YAML file of no such kind; model.yaml is an OWASP DSOMM model: convert that file")


def test_conversion_errors_are_invalid_files():
    with pytest.raises(ConversionError):
        convert_folder("model", {})


# The command line.


def run(*args: str):
    return CliRunner().invoke(files, list(args))


def test_convert_takes_a_samm_folder_and_writes_a_valid_file(tmp_path):
    out = tmp_path / "samm.yaml"
    result = run("convert", str(MODEL), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "owasp-samm TINY10, 2 domains, 6 requirements" in result.stderr
    assert load_framework_text(out.read_text(), str(out)).kind == "maturity"


def test_convert_prints_a_dsomm_model():
    result = run("convert", str(DSOMM))
    assert result.exit_code == 0, result.output
    assert len(load_framework_text(result.stdout, "out.yaml").requirements) == 4


def test_convert_refuses_a_folder_of_no_known_kind_with_exit_2(tmp_path):
    (tmp_path / "a.yml").write_text("a: 1\n")
    out = tmp_path / "out.yaml"
    result = run("convert", str(tmp_path), "-o", str(out))
    assert result.exit_code == 2
    assert f"{tmp_path}:1: $: expected an OWASP SAMM model folder" in result.stderr
    assert not out.exists()


def test_convert_names_every_broken_file_of_a_folder(tmp_path):
    for name in ("a.yml", "b.yaml"):
        (tmp_path / name).write_text("x: [\n")
    result = run("convert", str(tmp_path))
    assert result.exit_code == 2
    assert f"{tmp_path}/a.yml:" in result.stderr and f"{tmp_path}/b.yaml:" in result.stderr


# Whatever a source holds, the answer is a framework that loads or a ConversionError: never a crash.


def _places(value, path=()):
    """Every place (a path of keys and indexes) in plain parsed data."""
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from _places(item, (*path, key))


def _replaced(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=70),
    st.just([]),
    st.just({}),
    st.just([{"a": 1}]),
    st.just({"x": [1]}),
)
DSOMM_DOCUMENTS = list(yaml.safe_load_all(DSOMM.read_text()))
DSOMM_PLACES = [(i, p) for i, d in enumerate(DSOMM_DOCUMENTS) for p in _places(d)]
SAMM_DOCUMENTS = {k: parse_yaml_documents(v, k)[0] for k, v in read_folder(MODEL).items() if k.endswith(".yml")}
SAMM_PLACES = [(k, p) for k, d in SAMM_DOCUMENTS.items() for p in _places(d)]


def _converts_or_refuses(convert) -> None:
    try:
        text = convert()
    except ConversionError:
        return
    load_framework_text(text, "mutated.yaml")


def test_the_unchanged_sources_of_the_two_tests_below_convert():
    """Else they would prove nothing: every mutation would be refused anyway."""
    assert convert_document(Documents(DSOMM_DOCUMENTS), "m.yaml")
    assert convert_document(Folder("model", SAMM_DOCUMENTS, {}), "model")


@settings(max_examples=tries(300), deadline=None)
@given(st.sampled_from(DSOMM_PLACES), ODD_VALUES)
def test_a_dsomm_model_with_any_value_anywhere_converts_or_is_refused(place, new):
    index, path = place
    documents = list(DSOMM_DOCUMENTS)
    documents[index] = _replaced(documents[index], path, new)
    _converts_or_refuses(lambda: dump_framework(convert_document(Documents(documents), "m.yaml")))


@settings(max_examples=tries(300), deadline=None)
@given(st.sampled_from(SAMM_PLACES), ODD_VALUES)
def test_a_samm_folder_with_any_value_anywhere_converts_or_is_refused(place, new):
    name, path = place
    documents = dict(SAMM_DOCUMENTS)
    documents[name] = _replaced(documents[name], path, new)
    folder = Folder("model", documents, {"../license.txt": "Attribution 4.0 International"})
    _converts_or_refuses(lambda: dump_framework(convert_document(folder, "model")))
