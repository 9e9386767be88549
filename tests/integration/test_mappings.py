"""Mapping sets: importing (command and admin page), the trail, and refusals that change nothing."""

from __future__ import annotations

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
