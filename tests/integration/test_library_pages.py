"""The library as imported into the database, and its pages."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import FrameworkVersion
from assessment.services.library import import_library
from tests.conftest import EXAMPLES

FRAMEWORKS = (
    "cmmi-process-maturity",
    "devops-delivery-maturity",
    "sox-itgc",
    "hipaa-security-rule",
    "gdpr-engineering",
    "release-review",
    "sre-operational-excellence",
    "continuous-improvement",
)


def test_library_page_lists_every_framework(client):
    html = client.get("/library").get_data(as_text=True)
    for fid in FRAMEWORKS:
        assert f'href="/library/{fid}"' in html


def test_framework_page_shows_levels_requirements_and_guidance(client):
    html = client.get("/library/devops-delivery-maturity").get_data(as_text=True)
    assert "DORA key metrics" in html and "DDM-KM-03" in html and "Guidance" in html and "Level 5" in html


def test_unknown_framework_is_404(client):
    assert client.get("/library/nope").status_code == 404
    assert client.get("/library/sox-itgc?version=999999").status_code == 404


def test_import_is_idempotent_and_a_changed_file_adds_a_version(ctx, tmp_path):
    library = tmp_path / "lib"
    library.mkdir()
    original = (EXAMPLES / "itgc-mini.yaml").read_text()
    (library / "itgc-mini.yaml").write_text(original)
    first = import_library(library)
    assert first.added == ["itgc-mini 1.0"]
    assert import_library(library).unchanged == ["itgc-mini 1.0"]
    (library / "itgc-mini.yaml").write_text(original.replace("quarterly", "every quarter"))
    third = import_library(library)
    assert third.added == ["itgc-mini 1.0 (revision 2)"]
    db.session.commit()
    rows = db.session.scalars(select(FrameworkVersion).where(FrameworkVersion.framework_id == "itgc-mini")).all()
    assert [r.revision for r in rows] == [1, 2]
    assert "quarterly" in rows[0].content and "every quarter" in rows[1].content  # the old one never changes


def test_import_reports_invalid_files_and_adds_nothing_for_them(ctx, tmp_path):
    library = tmp_path / "lib"
    library.mkdir()
    (library / "broken.yaml").write_text("id: x\n")
    before = db.session.scalar(select(func.count()).select_from(FrameworkVersion))
    report = import_library(library)
    assert report.added == [] and any("version: missing required key" in str(p) for p in report.problems)
    assert db.session.scalar(select(func.count()).select_from(FrameworkVersion)) == before


def test_instance_folder_is_created(app):
    assert Path(app.instance_path).is_dir()
