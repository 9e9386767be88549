"""The catalogues in ../shared/data (CISO Assistant libraries, OWASP DSOMM, OWASP SAMM) convert, validate and score.

The libraries are read where they are (never copied into the repository); the tests skip when
the folder is absent. `ASSESSMENT_SHARED_DATA` names another place for it (a worktree beside
the main checkout, whose parent holds no `shared`).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from assessment.cli_convert import read_folder
from assessment.domain.convert import convert_folder, convert_text
from assessment.domain.convert.names import unescape_id
from assessment.domain.errors import InvalidFile
from assessment.domain.loader import load_framework_text
from assessment.domain.scoring import score
from assessment.domain.yamlread import read_text

SHARED_DATA = Path(
    os.environ.get("ASSESSMENT_SHARED_DATA") or Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
)
LIBRARIES = SHARED_DATA / "ciso-assistant"
FILES = sorted(LIBRARIES.glob("*.yaml")) if LIBRARIES.is_dir() else []

needs_libraries = pytest.mark.skipif(not FILES, reason=f"{LIBRARIES} is absent: no CISO Assistant libraries to convert")
DSOMM = SHARED_DATA / "owasp-dsomm" / "model.yaml"
SAMM = SHARED_DATA / "owasp-samm" / "model"
needs_dsomm = pytest.mark.skipif(not DSOMM.is_file(), reason=f"{DSOMM} is absent")
needs_samm = pytest.mark.skipif(not SAMM.is_dir(), reason=f"{SAMM} is absent")


def assessable_nodes(path: Path) -> list[dict]:
    """The source's assessable nodes, read with PyYAML alone (not with the converter's reader)."""
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return [node for node in document["objects"]["framework"]["requirement_nodes"] if node.get("assessable") is True]


@needs_libraries
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_the_library_converts_validates_and_scores(path):
    framework = load_framework_text(convert_text(read_text(path), path.name), f"{path.name} (converted)")
    nodes = assessable_nodes(path)
    assert len(framework.requirements) == len(nodes)
    card = score(framework, {})
    assert card.counts.unanswered == len(nodes)
    assert card.score == 0
    assert card.completion == 0
    assert framework.license and framework.source.startswith("CISO Assistant library urn:intuitem:")


@needs_libraries
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_requirement_leads_back_to_its_node(path):
    """An id is the node's ref_id, its escaped form (with a ref: tag) or its urn's last part."""
    framework = load_framework_text(convert_text(read_text(path), path.name), path.name)
    by_ref = {node.get("ref_id"): node["urn"] for node in assessable_nodes(path) if node.get("ref_id") is not None}
    by_tail = {node["urn"].rsplit(":", 1)[-1]: node["urn"] for node in assessable_nodes(path)}
    found = []
    for requirement in framework.requirements:
        refs = [tag.removeprefix("ref:") for tag in requirement.tags if tag.startswith("ref:")]
        if refs:
            assert unescape_id(requirement.id) == refs[0]
        found.append(by_ref.get(refs[0] if refs else requirement.id) or by_tail[unescape_id(requirement.id)])
    assert sorted(found) == sorted(node["urn"] for node in assessable_nodes(path))


@needs_libraries
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_requirement_is_tagged_with_its_node_urn(path):
    """Mapping sets name requirements by node urn; each assessable node's urn tags exactly one requirement."""
    framework = load_framework_text(convert_text(read_text(path), path.name), path.name)
    tagged = [tag for requirement in framework.requirements for tag in requirement.tags if tag.startswith("urn:")]
    assert sorted(tagged) == sorted(node["urn"] for node in assessable_nodes(path))


@pytest.mark.skipif(not (LIBRARIES / "nist-sp-800-53-rev5.yaml").is_file(), reason="NIST SP 800-53 is absent")
def test_nist_800_53_converts_to_its_1189_controls_and_enhancements():
    """Its speed (convert and import under 3 s) is bench/bench_convert.py's to show, not a timed test's."""
    path = LIBRARIES / "nist-sp-800-53-rev5.yaml"
    framework = load_framework_text(convert_text(read_text(path), path.name), path.name)
    assert len(framework.requirements) == 1189


def dsomm_activities() -> list[dict]:
    """DSOMM's activities, read with PyYAML alone (the second document: dimensions -> sub-dimensions -> activities)."""
    _, model = yaml.load_all(DSOMM.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    return [activity for subs in model.values() for acts in subs.values() for activity in acts.values()]


@needs_dsomm
def test_dsomm_converts_to_its_194_activities_validates_and_scores():
    framework = load_framework_text(convert_text(read_text(DSOMM), DSOMM.name), f"{DSOMM.name} (converted)")
    activities = dsomm_activities()
    assert len(framework.requirements) == len(activities) == 194
    assert sorted(r.id for r in framework.requirements) == sorted(a["uuid"] for a in activities)
    by_uuid = {a["uuid"]: a for a in activities}
    assert all(r.level == int(by_uuid[r.id]["level"]) for r in framework.requirements)
    assert [level.number for level in framework.levels] == [0, 1, 2, 3, 4, 5]
    card = score(framework, {})
    assert (card.score, card.completion, card.counts.unanswered) == (0, 0, 194)
    assert framework.license == "GPL-3.0"
    assert framework.source.startswith("OWASP DSOMM model (version ")


def samm_documents(kind: str) -> list[dict]:
    """SAMM's files of one `type`, read with PyYAML alone."""
    documents = [yaml.load(p.read_text(encoding="utf-8"), Loader=yaml.BaseLoader) for p in sorted(SAMM.rglob("*.yml"))]
    return [d for d in documents if isinstance(d, dict) and d.get("type") == kind]


def convert_samm():
    return load_framework_text(convert_folder(str(SAMM), read_folder(SAMM)), "samm (converted)")


@needs_samm
def test_samm_converts_to_one_requirement_a_question_validates_and_scores():
    framework = convert_samm()
    questions = samm_documents("Question")
    assert len(framework.requirements) == len(questions) == 90
    assert len(framework.domains) == len(samm_documents("Practice")) == 15
    assert [level.number for level in framework.levels] == [0, 1, 2, 3]
    assert len(framework.scales) == len(samm_documents("AnswerSet"))
    assert {r.question for r in framework.requirements} == {q["text"].strip() for q in questions}
    card = score(framework, {})
    assert (card.score, card.completion, card.counts.unanswered) == (0, 0, 90)
    assert framework.license == "CC BY-SA 4.0"


@needs_samm
def test_samm_ids_name_the_same_activity_as_the_models_own_file_names():
    """SAMM names an activity's file F-PP-<level>-<stream>; our id puts the stream first, as DSOMM cites SAMM."""
    framework = convert_samm()
    stems = {p.stem for p in (SAMM / "activities").glob("*.yml")}
    assert {re.sub(r"-([AB])-(\d)$", r"-\2-\1", r.id) for r in framework.requirements} == stems


@needs_samm
@needs_dsomm
def test_dsomms_samm_references_are_samm_requirement_ids():
    samm_ids = {r.id for r in convert_samm().requirements}
    dsomm = load_framework_text(convert_text(read_text(DSOMM), DSOMM.name), DSOMM.name)
    refs = {t.removeprefix("samm2:") for r in dsomm.requirements for t in r.tags if t.startswith("samm2:")}
    shaped = {ref for ref in refs if re.fullmatch(r"[A-Z]-[A-Z]{2}-[AB]-[1-3]", ref)}
    assert len(shaped) >= 40  # 50 distinct ones in DSOMM 4.3.1
    assert shaped <= samm_ids


OSCAL_DATA = SHARED_DATA / "oscal"
MODERATE_CATALOG = OSCAL_DATA / "NIST_SP-800-53_rev5_MODERATE-baseline-resolved-profile_catalog.json"
MODERATE_PROFILE = OSCAL_DATA / "NIST_SP-800-53_rev5_MODERATE-baseline_profile.json"
needs_oscal = pytest.mark.skipif(
    not (MODERATE_CATALOG.is_file() and MODERATE_PROFILE.is_file()), reason=f"{OSCAL_DATA} is absent"
)


def oscal_controls(path: Path) -> list[str]:
    """The ids of a catalog's controls that are not withdrawn, at every depth, read with the json module alone."""
    found = []

    def walk(controls: list[dict]) -> None:
        for control in controls:
            status = [p.get("value") for p in control.get("props", []) if p.get("name") == "status"]
            if "withdrawn" not in status:
                found.append(control["id"])
            walk(control.get("controls", []))

    def groups(items: list[dict]) -> None:
        for group in items:
            walk(group.get("controls", []))
            groups(group.get("groups", []))

    catalog = json.loads(path.read_text(encoding="utf-8"))["catalog"]
    walk(catalog.get("controls", []))
    groups(catalog.get("groups", []))
    return found


@needs_oscal
def test_the_oscal_moderate_catalog_converts_to_its_287_controls_validates_and_scores():
    framework = load_framework_text(
        convert_text(read_text(MODERATE_CATALOG), MODERATE_CATALOG.name), f"{MODERATE_CATALOG.name} (converted)"
    )
    controls = oscal_controls(MODERATE_CATALOG)
    assert len(framework.requirements) == len(controls) == 287
    oscal_tags = [t.removeprefix("oscal:") for r in framework.requirements for t in r.tags if t.startswith("oscal:")]
    assert sorted(oscal_tags) == sorted(controls)  # each requirement leads back to its control
    assert {r.id for r in framework.requirements} >= {"AC-2", "AC-2(1)", "SI-4(4)"}
    card = score(framework, {})
    assert (card.score, card.completion, card.counts.unanswered) == (0, 0, 287)
    assert framework.source.startswith("OSCAL catalog NIST Special Publication 800-53")
    assert "{{" not in "".join((r.question or "") + (r.guidance or "") for r in framework.requirements)


@needs_oscal
def test_the_moderate_profile_resolved_against_the_catalog_gives_the_same_287():
    given = (MODERATE_CATALOG.name, read_text(MODERATE_CATALOG))
    text = convert_text(read_text(MODERATE_PROFILE), MODERATE_PROFILE.name, catalog=given)
    framework = load_framework_text(text, f"{MODERATE_PROFILE.name} (converted)")
    assert len(framework.requirements) == len(oscal_controls(MODERATE_CATALOG)) == 287
    assert score(framework, {}).counts.unanswered == 287


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("ifa_assessment-results-example.json", "assessment-results"),
        ("ifa_plan-of-action-and-milestones.json", "plan-of-action-and-milestones"),
    ],
)
def test_nists_results_and_poam_examples_are_named_not_converted(name, model):
    # The folder's other OSCAL files are no catalogues: they show the shape of what we write.
    path = OSCAL_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    with pytest.raises(InvalidFile) as caught:
        convert_text(read_text(path), name)
    assert f"this is an OSCAL {model} document, not a catalog or profile" in str(caught.value)
