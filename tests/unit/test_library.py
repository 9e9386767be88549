"""The shipped library: valid, complete, and tagged in the one documented vocabulary."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from assessment.domain.framework import NumericAnswer
from assessment.domain.loader import load_framework_file
from tests.conftest import LIBRARY

EXPECTED = {
    "cmmi-process-maturity": "maturity",
    "continuous-improvement": "maturity",
    "devops-delivery-maturity": "maturity",
    "sre-operational-excellence": "maturity",
    "release-review": "compliance",
    "sox-itgc": "compliance",
    "hipaa-security-rule": "compliance",
    "gdpr-engineering": "compliance",
}
TAGS_DOC = (LIBRARY / "TAGS.md").read_text()
PRACTICES = set(re.findall(r"^\| `practice:([a-z0-9-]+)` \|", TAGS_DOC, flags=re.M))
PREFIXES = set(re.findall(r"^\| `([a-z0-9-]+):` \|", TAGS_DOC, flags=re.M)) | {"practice"}
QUALIFIERS = set(re.findall(r"^\| `([a-z0-9-]+:[a-z0-9-]+)` \| [a-z]", TAGS_DOC, flags=re.M)) - {
    f"practice:{p}" for p in PRACTICES
}
FRAMEWORKS = {path.stem: load_framework_file(path) for path in sorted(LIBRARY.glob("*.yaml"))}


def test_the_vocabulary_parses():
    assert len(PRACTICES) > 50 and "change-approval" in PRACTICES
    assert PREFIXES == {"practice", "dora", "hipaa", "gdpr", "itgc", "nist-800-53", "cmmi"}
    assert {"hipaa:required", "hipaa:addressable", "hipaa:standard", "control:key", "metric:key"} == QUALIFIERS


def test_the_library_holds_the_promised_frameworks():
    assert {fid: fw.kind for fid, fw in FRAMEWORKS.items()} == EXPECTED


@pytest.mark.parametrize("fid", sorted(EXPECTED))
def test_framework_is_complete_and_cites_its_source(fid):
    fw = FRAMEWORKS[fid]
    assert fw.id == fid
    assert fw.source and fw.publisher and fw.license and fw.description
    assert len(fw.requirements) >= 25
    for req in fw.requirements:
        assert req.guidance and req.guidance.strip(), req.id
        assert req.recommendation and req.recommendation.strip(), req.id
        assert req.question != req.title or req.question.endswith("?"), req.id
    assert (
        (LIBRARY / f"{fid}.yaml")
        .read_text()
        .startswith("# yaml-language-server: $schema=../schema/framework.schema.json\n")
    )


@pytest.mark.parametrize("fid", sorted(EXPECTED))
def test_tags_use_the_documented_vocabulary(fid):
    bad = []
    for req in FRAMEWORKS[fid].requirements:
        for tag in req.tags:
            prefix, _, value = tag.partition(":")
            ok = value and (
                tag in QUALIFIERS
                or (prefix == "practice" and value in PRACTICES)
                or (prefix in PREFIXES and prefix != "practice")
            )
            if not ok:
                bad.append(f"{req.id}: {tag}")
    assert bad == []


def test_practice_tags_link_frameworks():
    """The same practice asked in several frameworks, e.g. SOX change control and DORA change approval."""
    owners = defaultdict(set)
    for fid, fw in FRAMEWORKS.items():
        for req in fw.requirements:
            for tag in req.tags:
                if tag.startswith("practice:"):
                    owners[tag].add(fid)
    assert {"sox-itgc", "devops-delivery-maturity"} <= owners["practice:change-approval"]
    assert {"hipaa-security-rule", "gdpr-engineering", "sre-operational-excellence"} & owners[
        "practice:incident-response"
    ]
    assert sum(1 for fids in owners.values() if len(fids) >= 2) >= 15


def test_maturity_models_have_five_levels_where_promised():
    assert [lv.number for lv in FRAMEWORKS["cmmi-process-maturity"].levels] == [1, 2, 3, 4, 5]
    assert [lv.number for lv in FRAMEWORKS["continuous-improvement"].levels] == [1, 2, 3, 4, 5]


def test_dora_key_metrics_are_numeric_questions():
    fw = FRAMEWORKS["devops-delivery-maturity"]
    metrics = {tag for r in fw.requirements if "metric:key" in r.tags for tag in r.tags if tag.startswith("dora:")}
    assert metrics == {
        "dora:deployment-frequency",
        "dora:lead-time-for-changes",
        "dora:change-failure-rate",
        "dora:time-to-restore",
    }
    for req in fw.requirements:
        if "metric:key" in req.tags:
            assert isinstance(req.answer, NumericAnswer) and req.answer.unit and len(req.answer.bands) >= 4


def test_hipaa_tells_required_from_addressable():
    for req in FRAMEWORKS["hipaa-security-rule"].requirements:
        kinds = [t for t in req.tags if t in ("hipaa:required", "hipaa:addressable", "hipaa:standard")]
        assert len(kinds) == 1, req.id
        assert any(t.startswith("hipaa:164.") for t in req.tags), req.id
    kinds = {t for r in FRAMEWORKS["hipaa-security-rule"].requirements for t in r.tags}
    assert {"hipaa:required", "hipaa:addressable"} <= kinds


def test_sox_requires_evidence_everywhere():
    fw = FRAMEWORKS["sox-itgc"]
    assert all(r.evidence == "required" for r in fw.requirements)
    areas = {t for r in fw.requirements for t in r.tags if t.startswith("itgc:")}
    assert areas == {"itgc:access", "itgc:change", "itgc:operations", "itgc:sdlc"}


def test_gdpr_covers_breach_notification_within_72_hours():
    fw = FRAMEWORKS["gdpr-engineering"]
    breach = [
        r
        for r in fw.requirements
        if any(t.startswith("gdpr:art-33") for t in r.tags) and isinstance(r.answer, NumericAnswer)
    ]
    assert breach and breach[0].answer.credit_of(72) == 1 and breach[0].answer.credit_of(73) < 1
