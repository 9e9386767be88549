"""Export and import of assessments: the round trip, and hostile uploads."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import Answer, Assessment, Evidence
from tests.conftest import EXAMPLES
from tests.integration.helpers import autosave, example_version, make_scope, stored_keys
from tests.integration.test_evidence import upload

SCRIPT = Path(sys.executable).with_name("assessment")


def answer_everything(client, assessment):
    for rid, value in {
        "CI-01": "yes",
        "CI-02": "most",
        "CI-03": "na",
        "DEP-01": "yes",
        "DEP-02": "36.5",
        "DEP-03": "no",
        "OPS-02": "yes",
    }.items():
        assert autosave(client, assessment, rid, value, note=f"note for {rid}: 'quoted' \"x\" #1").status_code == 200
    upload(client, assessment, "CI-01", b"stages: [build]\n", "pipeline.yml", title="Pipeline", effective="2026-01-01")
    client.post(
        f"/assessments/{assessment}/requirements/OPS-01/evidence",
        data={"url": "https://wiki.example.com/slo", "title": "SLO", "expires": "2026-10-31"},
    )
    assert autosave(client, assessment, "OPS-01", "yes").status_code == 200


def export(client, assessment, tmp_path) -> Path:
    response = client.get(f"/assessments/{assessment}/export.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    target = tmp_path / "export"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        archive.extractall(target)
    return target


def page_figures(client, assessment) -> dict:
    html = client.get(f"/assessments/{assessment}/results").get_data(as_text=True)
    return {
        "score": re.search(r"data-overall-score>([^<]+)<", html).group(1),
        "level": re.search(r"data-overall-level>([^<]+)<", html).group(1),
        "domains": dict(re.findall(r'data-domain-score="([^"]+)">([^<]+)<', html)),
        "counts": {k: int(v) for k, v in re.findall(r'data-count="([^"]+)">(\d+)<', html)},
    }


@pytest.mark.slow
def test_export_scored_by_the_cli_equals_the_results_page(app, client, devops, tmp_path):
    assessment, _ = devops
    answer_everything(client, assessment)
    folder = export(client, assessment, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["README.txt", "answers.yaml", "evidence", "framework.yaml"]
    result = subprocess.run(
        [str(SCRIPT), "score", str(folder / "framework.yaml"), str(folder / "answers.yaml"), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    cli = json.loads(result.stdout)
    page = page_figures(client, assessment)
    from assessment.domain.display import one_decimal

    assert page["score"] == one_decimal(cli["overall"]["score"])
    assert page["level"] == f"{cli['overall']['level']} {cli['overall']['level_name']}"
    assert page["domains"] == {d["id"]: one_decimal(d["score"]) for d in cli["domains"]}
    assert page["counts"] == cli["overall"]["counts"]
    # and the exact numbers: the same engine on the same data
    with app.app_context():
        from assessment.domain.scoring import scorecard_to_dict
        from assessment.services.assessments import get_assessment, load_state

        assert scorecard_to_dict(load_state(get_assessment(assessment)).card) == cli


def test_import_of_an_export_recreates_the_assessment(app, client, devops, tmp_path):
    assessment, _ = devops
    answer_everything(client, assessment)
    data = client.get(f"/assessments/{assessment}/export.zip").data
    other = make_scope(client, "Second team")
    response = client.post(
        f"/scopes/{other}/import", data={"file": (io.BytesIO(data), "x.zip")}, content_type="multipart/form-data"
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    new = int(re.search(r"/assessments/(\d+)/results", response.headers["Location"]).group(1))
    before, after = page_figures(client, assessment), page_figures(client, new)
    assert before == after
    with app.app_context():
        notes = dict(
            db.session.execute(select(Answer.requirement_id, Answer.note).where(Answer.assessment_id == new)).all()
        )
        assert notes["DEP-02"] == "note for DEP-02: 'quoted' \"x\" #1"
        assert db.session.scalar(select(func.count()).select_from(Evidence).where(Evidence.scope_id == other)) == 2
        # re-imported files keep the names they were uploaded under, not a hash-prefixed copy of them
        names = {e.original_name for e in db.session.scalars(select(Evidence).where(Evidence.sha256.is_not(None)))}
        assert names and not any(re.match(r"[0-9a-f]{12}-", n) for n in names), names


def test_an_older_export_with_hash_prefixed_names_imports_the_original_name():
    from assessment.services.transfer import original_name

    sha = "ab" * 32
    assert original_name(f"evidence/{sha[:12]}-pipeline.yml", sha) == "pipeline.yml"
    assert original_name(f"evidence/{sha[:12]}/pipeline.yml", sha) == "pipeline.yml"
    assert original_name("evidence/0123456789ab-x.yml", sha) == "0123456789ab-x.yml"  # not its own hash: a real name


def test_import_of_the_spec_example_answers_file(app, client, tmp_path):
    version = example_version(app)
    scope = make_scope(client)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(EXAMPLES / "devops-delivery.answers.yaml", "bundle/answers.yaml")
        archive.write(EXAMPLES / "evidence" / "pipeline.yml", "bundle/evidence/pipeline.yml")
    response = client.post(
        f"/scopes/{scope}/import",
        data={"file": (io.BytesIO(buffer.getvalue()), "a.zip")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    expected = json.loads((EXAMPLES / "devops-delivery.expected.json").read_text())
    new = int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
    figures = page_figures(client, new)
    assert figures["score"] == "56.3" and figures["counts"] == expected["overall"]["counts"]
    assert version


def post_zip(client, scope, members: dict[str, bytes]):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return client.post(
        f"/scopes/{scope}/import",
        data={"file": (io.BytesIO(buffer.getvalue()), "x.zip")},
        content_type="multipart/form-data",
    )


def assert_refused(app, response, fragment):
    assert response.status_code == 422, response.get_data(as_text=True)
    assert fragment in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0
        assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0
    assert stored_keys(app) == []  # no file in the store (its folder, or its bucket under bin/with-stack)


ANSWERS = (EXAMPLES / "devops-delivery.answers.yaml").read_bytes()


def test_import_refuses_evidence_outside_the_upload(app, client):
    example_version(app)
    scope = make_scope(client)
    hostile = ANSWERS.replace(b"file: evidence/pipeline.yml", b"file: ../../../../etc/hostname").replace(
        b"        sha256: 1a8dd0a0e6bd03841deb022508d992e909b2aeec63148d1b7e7629ecaf94a533\n", b""
    )
    assert_refused(app, post_zip(client, scope, {"answers.yaml": hostile}), "outside the answers file")


def test_import_ignores_traversal_member_names(app, client):
    example_version(app)
    scope = make_scope(client)
    response = post_zip(
        client, scope, {"answers.yaml": ANSWERS, "../evidence/pipeline.yml": b"x", "/abs/evidence/pipeline.yml": b"x"}
    )
    assert_refused(app, response, "evidence file &#39;evidence/pipeline.yml&#39; not found")


def test_import_refuses_invalid_answers_with_every_error(app, client):
    example_version(app)
    scope = make_scope(client)
    bad = b'framework: devops-delivery\nversion: "2026.1"\nanswers:\n  CI-02: lots\n  XX: yes\n'
    response = post_zip(client, scope, {"answers.yaml": bad})
    assert_refused(app, response, "answers.yaml:4: answers.CI-02")
    assert "answers.yaml:5: answers.XX" in response.get_data(as_text=True)


def test_import_refuses_unknown_frameworks_and_junk(app, client):
    scope = make_scope(client)
    assert_refused(
        app, post_zip(client, scope, {"answers.yaml": b'framework: nope\nversion: "1"\n'}), "has no framework"
    )
    assert_refused(app, post_zip(client, scope, {"other.txt": b"x"}), "holds no answers.yaml")
    response = client.post(
        f"/scopes/{scope}/import",
        data={"file": (io.BytesIO(b"\x00\x01binary"), "x.bin")},
        content_type="multipart/form-data",
    )
    assert_refused(app, response, "Upload a .zip")


def test_import_refuses_a_zip_bomb(app, client):
    example_version(app)
    scope = make_scope(client)
    app.config["EVIDENCE_MAX_BYTES"] = 1024
    assert_refused(
        app,
        post_zip(client, scope, {"answers.yaml": ANSWERS, "evidence/pipeline.yml": b"0" * 100_000}),
        "larger than the limit",
    )
