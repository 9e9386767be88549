"""The answers reader: what it accepts, and each kind of error the spec names."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from assessment.domain.answers import read_answers_file, read_answers_text
from assessment.domain.errors import InvalidFile
from assessment.domain.loader import load_framework_file


@pytest.fixture
def devops(examples):
    return load_framework_file(examples / "devops-delivery.yaml")


HEAD = 'framework: devops-delivery\nversion: "2026.1"\n'


def errors_of(text, framework, base_dir=None):
    with pytest.raises(InvalidFile) as caught:
        read_answers_text(text, framework, "a.yaml", base_dir=base_dir)
    return [str(p) for p in caught.value.problems]


def test_reads_the_example(devops, examples):
    answers = read_answers_file(examples / "devops-delivery.answers.yaml", devops)
    assert (answers.scope, answers.as_of, answers.target_level) == ("Payments platform", dt.date(2026, 11, 21), 3)
    assert answers.answers["CI-02"].value == "most"
    assert answers.answers["CI-03"].is_na
    assert answers.answers["DEP-02"].value == 36
    assert answers.answers["OPS-01"].note == "SLOs exist but the evidence expired."
    pipeline = answers.answers["CI-01"].evidence[0]
    data = (examples / "evidence" / "pipeline.yml").read_bytes()
    assert (pipeline.sha256, pipeline.size) == (hashlib.sha256(data).hexdigest(), len(data))
    slo = answers.answers["OPS-01"].evidence[0]
    assert (slo.url, slo.expires) == ("https://wiki.example.com/slo", dt.date(2026, 10, 31))


def test_yes_is_a_string_answer(devops):
    answers = read_answers_text(HEAD + "answers:\n  DEP-01: yes\n  DEP-03: no\n", devops)
    assert answers.answers["DEP-01"].value == "yes" and answers.answers["DEP-03"].value == "no"


def test_missing_value_is_unanswered_with_its_note(devops):
    answers = read_answers_text(HEAD + "answers:\n  DEP-01:\n    note: still checking\n", devops)
    assert answers.answers["DEP-01"].value is None and answers.answers["DEP-01"].note == "still checking"


def test_wrong_framework_id(devops):
    lines = errors_of('framework: itgc-mini\nversion: "1.0"\nanswers:\n  NOPE: 1\n', devops)
    assert lines == ["a.yaml:1: framework: this answers file is for framework 'itgc-mini', not 'devops-delivery'"]


def test_wrong_version(devops):
    lines = errors_of('framework: devops-delivery\nversion: "2025.1"\n', devops)
    assert lines == [
        "a.yaml:2: version: this answers file is for version '2025.1' of 'devops-delivery', "
        "but the framework file is version '2026.1'"
    ]


def test_unknown_requirement_id(devops):
    assert errors_of(HEAD + "answers:\n  CI-99: yes\n", devops) == [
        "a.yaml:4: answers.CI-99: unknown requirement id 'CI-99' in 'devops-delivery'"
    ]


def test_value_not_in_scale(devops):
    assert errors_of(HEAD + "answers:\n  CI-02: lots\n", devops) == [
        "a.yaml:4: answers.CI-02: expected one of none, some, most, all, or na; got the string 'lots'"
    ]


def test_number_where_a_scale_value_is_due(devops):
    assert errors_of(HEAD + "answers:\n  CI-02:\n    value: 3\n", devops) == [
        "a.yaml:5: answers.CI-02.value: a number where a scale value is due: expected one of none, some, most, all, or na, got 3"
    ]


def test_scale_value_where_a_number_is_due(devops):
    assert errors_of(HEAD + "answers:\n  DEP-02: fast\n", devops) == [
        "a.yaml:4: answers.DEP-02: a number is due: expected a number (hours), or na, got the string 'fast'"
    ]


def test_number_outside_every_band():
    from assessment.domain.loader import load_framework_text

    fw = load_framework_text(
        "id: f\nversion: '1'\ntitle: F\nkind: compliance\ndomains:\n - id: D\n   title: D\n   requirements:\n"
        "    - id: N\n      title: N\n      answer: {type: number, bands: [{min: 0, max: 100, credit: 1}]}\n"
    )
    assert errors_of("framework: f\nversion: '1'\nanswers:\n  N: 101\n", fw) == [
        "a.yaml:4: answers.N: 101 lies outside every band of N: 0 <= x <= 100"
    ]


def test_boolean_is_not_a_scale_value(devops):
    assert "got the boolean true" in errors_of(HEAD + "answers:\n  DEP-01: true\n", devops)[0]


def test_na_where_not_allowed(devops):
    assert errors_of(HEAD + "answers:\n  OPS-02: na\n", devops) == [
        "a.yaml:4: answers.OPS-02: na is not allowed for OPS-02 (na_allowed: false)"
    ]


def test_missing_evidence_file(devops, tmp_path):
    text = HEAD + "answers:\n  CI-01:\n    value: yes\n    evidence:\n      - {title: P, file: evidence/none.yml}\n"
    lines = errors_of(text, devops, base_dir=tmp_path)
    assert lines == [
        f"a.yaml:7: answers.CI-01.evidence[0].file: evidence file 'evidence/none.yml' not found "
        f"(looked at {tmp_path / 'evidence/none.yml'})"
    ]


def test_sha256_mismatch(devops, tmp_path):
    (tmp_path / "p.yml").write_text("changed\n")
    text = (
        HEAD
        + f"answers:\n  CI-01:\n    value: yes\n    evidence:\n      - title: P\n        file: p.yml\n        sha256: {'a' * 64}\n"
    )
    lines = errors_of(text, devops, base_dir=tmp_path)
    actual = hashlib.sha256(b"changed\n").hexdigest()
    assert lines == [
        f"a.yaml:9: answers.CI-01.evidence[0].sha256: sha256 mismatch for 'p.yml': the file's SHA-256 is {actual}"
    ]


def test_target_level_not_defined(devops):
    assert errors_of(HEAD + "target_level: 7\n", devops) == [
        "a.yaml:3: target_level: level 7 is not defined; defined levels: 1, 2, 3, 4"
    ]


def test_target_level_on_a_compliance_framework(examples):
    fw = load_framework_file(examples / "itgc-mini.yaml")
    assert errors_of('framework: itgc-mini\nversion: "1.0"\ntarget_level: 2\n', fw) == [
        "a.yaml:3: target_level: 'itgc-mini' is a compliance framework; it has no levels to target"
    ]


def test_evidence_item_shape(devops):
    text = HEAD + (
        "answers:\n  CI-01:\n    value: yes\n    evidence:\n"
        "      - {title: both, url: 'https://x.example/a', file: a.pdf}\n"
        "      - {title: neither}\n"
        "      - {url: 'https://x.example/b'}\n"
        "      - {title: dates, url: 'https://x.example/c', effective: 2026-13-01, expires: soon}\n"
        "      - {title: order, url: 'https://x.example/d', effective: 2026-05-01, expires: 2026-04-01}\n"
    )
    assert errors_of(text, devops) == [
        "a.yaml:7: answers.CI-01.evidence[0]: give either 'url' or 'file', not both",
        "a.yaml:8: answers.CI-01.evidence[1]: an evidence item needs either 'url' or 'file'",
        "a.yaml:9: answers.CI-01.evidence[2].title: missing required key",
        "a.yaml:10: answers.CI-01.evidence[3].effective: expected a date YYYY-MM-DD, got the string '2026-13-01'",
        "a.yaml:10: answers.CI-01.evidence[3].expires: expected a date YYYY-MM-DD, got the string 'soon'",
        "a.yaml:11: answers.CI-01.evidence[4].expires: expires 2026-04-01 is before effective 2026-05-01",
    ]


def test_unknown_keys_and_types(devops):
    text = "framework: devops-delivery\nversion: '2026.1'\nas_of: tomorrow\nteam: x\nanswers:\n  CI-01:\n    value: yes\n    notes: typo\n"
    assert errors_of(text, devops) == [
        "a.yaml:3: as_of: expected a date YYYY-MM-DD, got the string 'tomorrow'",
        "a.yaml:4: team: unknown key 'team'; expected one of: framework, version, scope, as_of, target_level, answers",
        "a.yaml:8: answers.CI-01.notes: unknown key 'notes'; expected one of: value, note, evidence",
    ]


def test_every_error_at_once(devops):
    text = HEAD + "target_level: 9\nanswers:\n  CI-01: maybe\n  XX: yes\n  OPS-02: na\n  DEP-02: fast\n"
    lines = errors_of(text, devops)
    assert [line.split(":")[1] for line in lines] == ["3", "5", "6", "7", "8"]


def test_evidence_cannot_leave_the_answers_folder(devops, tmp_path):
    inside = tmp_path / "upload"
    inside.mkdir()
    (tmp_path / "secret.txt").write_text("x")
    (inside / "link.txt").symlink_to(tmp_path / "secret.txt")
    (inside / "evidence").mkdir()
    (inside / "evidence" / "ok.txt").write_text("ok")
    for name, reason in (
        ("../secret.txt", "it goes up with '..'"),
        ("evidence/../../secret.txt", "it goes up with '..'"),
        (str(tmp_path / "secret.txt"), "an absolute path"),
        ("link.txt", "a symbolic link leads out of it"),
    ):
        text = HEAD + f"answers:\n  CI-01:\n    value: yes\n    evidence:\n      - {{title: P, file: '{name}'}}\n"
        for upload in (False, True):  # a file on the command line is held to the folder as an upload is
            with pytest.raises(InvalidFile) as caught:
                read_answers_text(text, devops, "a.yaml", base_dir=inside, upload=upload)
            assert f"evidence file {name!r} lies outside the answers file's folder ({reason})" in str(caught.value)
    text = HEAD + "answers:\n  CI-01:\n    value: yes\n    evidence:\n      - {title: P, file: evidence/ok.txt}\n"
    assert read_answers_text(text, devops, "a.yaml", base_dir=inside).answers["CI-01"].evidence[0].size == 2


def test_huge_numbers_and_loose_dates_are_refused(devops):
    lines = errors_of(HEAD + "as_of: 20261121xy\nanswers:\n  DEP-02: 1" + "0" * 400 + "\n", devops)
    assert lines == [
        "a.yaml:3: as_of: expected a date YYYY-MM-DD, got the string '20261121xy'",
        "a.yaml:5: answers.DEP-02: expected a finite number of reasonable size",
    ]
    assert "expected a date" in errors_of(HEAD + "as_of: 2026-W47-6\n", devops)[0]
