"""The library pages render the shipped frameworks from the files."""

from __future__ import annotations

from pathlib import Path

from assessment import create_app


def test_index_lists_every_framework(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for fid in ("cmmi-process-maturity", "devops-delivery-maturity", "sox-itgc", "hipaa-security-rule",
                "gdpr-engineering", "release-review", "sre-operational-excellence", "continuous-improvement"):
        assert f'href="/frameworks/{fid}"' in html


def test_framework_page_shows_levels_requirements_and_guidance(client):
    html = client.get("/frameworks/devops-delivery-maturity").get_data(as_text=True)
    assert "DORA key metrics" in html and "DDM-KM-03" in html and "Guidance" in html and "Level 5" in html


def test_unknown_framework_is_404(client):
    assert client.get("/frameworks/nope").status_code == 404


def test_invalid_library_file_is_shown_not_hidden(tmp_path):
    library = tmp_path / "lib"
    library.mkdir()
    (library / "broken.yaml").write_text("id: x\n")
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"), "LIBRARY_DIR": str(library)})
    html = app.test_client().get("/").get_data(as_text=True)
    assert "Files that do not validate" in html and "broken.yaml:1: version: missing required key" in html


def test_instance_folder_is_created(app):
    assert Path(app.instance_path).is_dir()
