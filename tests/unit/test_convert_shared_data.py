"""Every CISO Assistant library in ../shared/data converts into a framework that validates and scores.

The libraries are read where they are (never copied into the repository); the tests skip when
the folder is absent. `ASSESSMENT_SHARED_DATA` names another place for it (a worktree beside
the main checkout, whose parent holds no `shared`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from assessment.domain.convert import convert_text
from assessment.domain.convert.names import unescape_id
from assessment.domain.loader import load_framework_text
from assessment.domain.scoring import score
from assessment.domain.yamlread import read_text

SHARED_DATA = Path(
    os.environ.get("ASSESSMENT_SHARED_DATA") or Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
)
LIBRARIES = SHARED_DATA / "ciso-assistant"
FILES = sorted(LIBRARIES.glob("*.yaml")) if LIBRARIES.is_dir() else []

pytestmark = pytest.mark.skipif(not FILES, reason=f"{LIBRARIES} is absent: no CISO Assistant libraries to convert")


def assessable_nodes(path: Path) -> list[dict]:
    """The source's assessable nodes, read with PyYAML alone (not with the converter's reader)."""
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return [node for node in document["objects"]["framework"]["requirement_nodes"] if node.get("assessable") is True]


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


@pytest.mark.skipif(not (LIBRARIES / "nist-sp-800-53-rev5.yaml").is_file(), reason="NIST SP 800-53 is absent")
def test_nist_800_53_converts_to_its_1189_controls_and_enhancements():
    """Its speed (convert and import under 3 s) is bench/bench_convert.py's to show, not a timed test's."""
    path = LIBRARIES / "nist-sp-800-53-rev5.yaml"
    framework = load_framework_text(convert_text(read_text(path), path.name), path.name)
    assert len(framework.requirements) == 1189
