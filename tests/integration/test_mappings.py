"""Mapping sets: importing (command and admin page), the trail, and refusals that change nothing."""

from __future__ import annotations

import io

from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from assessment.cli import cli
from assessment.domain.convert import convert_text
from assessment.domain.loader import load_framework_text
from assessment.extensions import db
from assessment.models import AuditEntry, MappingSet, RequirementMapping
from assessment.services.library import store_framework
from tests.conftest import DATA

MAPPINGS = DATA / "mappings"


def store_tiny_frameworks(app) -> None:
    """The two tiny CISO Assistant libraries, converted and stored as frameworks."""
    with app.app_context():
        for name in ("alpha-library.yaml", "beta-library.yaml"):
            text = convert_text((MAPPINGS / name).read_text(), name)
            store_framework(load_framework_text(text, name), text, name)
        db.session.commit()


def run(app, *args):
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app), catch_exceptions=False)


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(MappingSet)),
            db.session.scalar(select(func.count()).select_from(RequirementMapping)),
        )


def test_the_command_imports_a_ciso_mapping_set_with_a_trail_entry(app):
    store_tiny_frameworks(app)
    result = run(app, "mappings", "import", str(MAPPINGS / "alpha-to-beta.yaml"))
    assert result.exit_code == 0, result.output
    assert "Tiny alpha -> tiny beta (3 mappings)" in result.output
    with app.app_context():
        rows = db.session.scalars(select(RequirementMapping).order_by(RequirementMapping.id)).all()
        assert [(r.source_framework, r.source_requirement, r.target_requirement, r.relation) for r in rows] == [
            ("tiny-alpha", "AC-1", "ID.1", "equal"),
            ("tiny-alpha", "AC-2", "ID.2", "subset"),
            ("tiny-alpha", "AC-2", "ID.3", "intersect"),
        ]
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "mappings.import"))
        assert entry is not None and '"mappings":3' in entry.after


def test_the_command_imports_an_oscal_mapping_collection(app):
    store_tiny_frameworks(app)
    result = run(app, "mappings", "import", str(MAPPINGS / "alpha-to-beta-oscal.json"))
    assert result.exit_code == 0, result.output
    assert counts(app) == (1, 2)


def test_a_set_naming_unknown_requirements_is_refused_and_nothing_is_stored(app, tmp_path):
    # the frameworks are not stored: every requirement urn is unknown
    result = run(app, "mappings", "import", str(MAPPINGS / "alpha-to-beta.yaml"))
    assert result.exit_code != 0
    assert "alpha-to-beta.yaml:16: objects.requirement_mapping_set.requirement_mappings[0].source_requirement_urn" in (
        result.output
    )
    assert counts(app) == (0, 0)


def upload(client, content: bytes, name: str):
    return client.post(
        "/library/mappings", data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data"
    )


def test_an_admin_uploads_a_set_on_the_page_and_sees_it_listed(app, client):
    store_tiny_frameworks(app)
    response = upload(client, (MAPPINGS / "alpha-to-beta-oscal.json").read_bytes(), "alpha-to-beta-oscal.json")
    assert response.status_code == 303
    page = client.get("/library/mappings").get_data(as_text=True)
    assert "Tiny alpha to tiny beta (made up for the tests)" in page
    assert "Imported the mapping set" in page
    assert counts(app) == (1, 2)


def test_a_bad_upload_lists_every_problem_and_stores_nothing(app, client):
    store_tiny_frameworks(app)
    bad = (MAPPINGS / "alpha-to-beta.yaml").read_text().replace("tiny-beta:id.1", "tiny-beta:x")
    bad = bad.replace("relationship: subset", "relationship: kinda")
    response = upload(client, bad.encode(), "../../etc/bad.yaml")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "2 problem(s)" in page
    assert "bad.yaml:17: objects.requirement_mapping_set.requirement_mappings[0].target_requirement_urn" in page
    assert "unknown relationship" in page
    assert "../" not in page
    assert upload(client, b"\x00\x01binary", "x.yaml").status_code == 422
    assert client.post("/library/mappings", data={}).status_code == 422
    assert counts(app) == (0, 0)


def test_people_other_than_admins_may_not_import(app, as_user):
    store_tiny_frameworks(app)
    lead = as_user("lead")
    assert lead.get("/library/mappings").status_code == 403
    assert upload(lead, (MAPPINGS / "alpha-to-beta.yaml").read_bytes(), "a.yaml").status_code == 403
    assert counts(app) == (0, 0)
