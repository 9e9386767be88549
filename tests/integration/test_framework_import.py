"""Importing a framework from any source (ours, CISO Assistant, SAMM as a ZIP, a sheet) on the library page and
through the API: the preview first, nothing stored until confirmed, every problem listed, bad input refused."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import AuditEntry, FrameworkVersion
from assessment.services import framework_import
from assessment.views.library import PREVIEW_MAX_AGE
from tests.integration.test_api import token_for

CONVERT = Path(__file__).resolve().parents[1] / "data" / "convert"
CISO = CONVERT / "tiny-library.yaml"
SAMM = CONVERT / "tiny-samm"


def _stored(app) -> tuple[int, int]:
    """How many framework versions and import trail entries there are."""
    with app.app_context():
        versions = db.session.scalar(select(func.count()).select_from(FrameworkVersion))
        trail = db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "framework.imported")
        )
        db.session.remove()
    return versions, trail


def _upload(client, data: bytes, name: str):
    return client.post("/library/import", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _key(html: str) -> str:
    match = re.search(r'name="key" value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)


def _zip(folder: Path, top: str = "tiny-samm") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def _workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Requirements"
    for row in (
        ["id", "title", "domain"],
        ["WB-1", "Plans are written", "Planning"],
        ["WB-2", "Plans are reviewed", "Planning"],
        ["WB-3", "Results are kept", "Records"],
    ):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_admin_previews_a_ciso_assistant_library_stores_it_and_finds_it_in_the_library(app, client):
    before = _stored(app)
    page = client.get("/library").get_data(as_text=True)
    assert "Import a framework" in page and 'enctype="multipart/form-data"' in page
    response = _upload(client, CISO.read_bytes(), "tiny-library.yaml")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:2000]
    assert "a CISO Assistant library" in html and "ciso-assistant" in html
    assert '<dd class="count-domains">2</dd>' in html and '<dd class="count-requirements">6</dd>' in html
    assert '<code>PL</code></td><td>Planning</td><td class="num">3</td>' in html
    assert "A new framework" in html and "Store this framework" in html
    assert _stored(app) == before  # the preview stores nothing

    stored = client.post("/library/import/confirm", data={"key": _key(html)})
    assert stored.status_code == 303 and stored.headers["Location"].startswith("/library/tiny-practices?version=")
    assert _stored(app) == (before[0] + 1, before[1] + 1)  # one version, one trail entry
    shown = client.get(stored.headers["Location"]).get_data(as_text=True)
    assert "Stored Tiny practices" in shown and "Planning" in shown
    assert 'href="/library/tiny-practices"' in client.get("/library").get_data(as_text=True)

    again = _upload(client, CISO.read_bytes(), "tiny-library.yaml").get_data(as_text=True)
    assert "in the library already" in again and 'data-status="stored"' in again
    assert client.post("/library/import/confirm", data={"key": _key(again)}).status_code == 303
    assert _stored(app) == (before[0] + 1, before[1] + 1)  # the same content is not stored twice


def test_a_samm_folder_uploaded_as_a_zip_is_read_as_a_folder(app, client):
    response = _upload(client, _zip(SAMM), "tiny-samm.zip")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:2000]
    assert "owasp-samm" in html and '<dd class="count-requirements">6</dd>' in html
    stored = client.post("/library/import/confirm", data={"key": _key(html)})
    assert stored.status_code == 303 and "/library/owasp-samm" in stored.headers["Location"]


def test_a_spreadsheet_is_imported_with_its_facts_from_the_file_name(app, client):
    for data, name in ((_workbook(), "wb-sheet.xlsx"), ((CONVERT / "tiny-sheet.csv").read_bytes(), "tiny-sheet.csv")):
        html = _upload(client, data, name).get_data(as_text=True)
        assert "a spreadsheet" in html and "<code>spreadsheet</code>" in html, html[:2000]
        assert client.post("/library/import/confirm", data={"key": _key(html)}).status_code == 303
    with app.app_context():
        ids = set(db.session.scalars(select(FrameworkVersion.framework_id)))
    assert {"wb-sheet", "tiny-sheet"} <= ids


def test_our_own_framework_file_previews_as_ours_and_a_new_revision_says_so(app, client):
    text = Path("frameworks/sox-itgc.yaml").read_text(encoding="utf-8")
    html = _upload(client, text.encode(), "sox-itgc.yaml").get_data(as_text=True)
    assert "a framework file of ours" in html and 'data-status="stored"' in html
    changed = text.replace("title: SOX IT general controls", "title: SOX IT general controls (ours)", 1)
    if changed == text:
        changed = text + "\n# a comment makes it another content\n"
    html = _upload(client, changed.encode(), "sox-itgc.yaml").get_data(as_text=True)
    assert 'data-status="new-revision"' in html and "(revision 2)" in html


@pytest.mark.parametrize("role", ["lead", "alice", "audrey"])
def test_only_an_admin_may_import(app, as_user, role):
    before = _stored(app)
    other = as_user(role)
    assert _upload(other, CISO.read_bytes(), "tiny-library.yaml").status_code == 403
    assert other.post("/library/import/confirm", data={"key": "x"}).status_code == 403
    assert "Import a framework" not in other.get("/library").get_data(as_text=True)
    assert _stored(app) == before


def test_a_malformed_file_lists_every_problem_and_stores_nothing(app, client):
    before = _stored(app)
    broken = CISO.read_text(encoding="utf-8").replace("urn: urn:intuitem:risk:library:tiny-practices", "urn: 3")
    response = _upload(client, broken.encode(), "broken.yaml")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'class="problems"' in html and "broken.yaml:" in html
    ours = b'id: x-bad\nversion: "1"\ntitle: 3\nkind: nope\ndomains: []\n'
    response = _upload(client, ours, "x-bad.yaml")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html.count("<li><code>x-bad.yaml:") >= 2, html  # every problem at once
    for data, name in ((b"\x00\x01binary", "b.yaml"), (b"", "empty.yaml"), (b"PK\x03\x04broken", "b.zip")):
        assert _upload(client, data, name).status_code == 422, name
    assert client.post("/library/import", data={}, content_type="multipart/form-data").status_code == 422
    assert _stored(app) == before


def test_a_zip_naming_paths_outside_its_folder_is_refused(app, client):
    before = _stored(app)
    for evil in ("../evil.yml", "/etc/evil.yml", "model/../../evil.yml", "C:/evil.yml", "model\\..\\evil.yml"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("model/practices/a.yml", "a: 1\n")
            archive.writestr(evil, "a: 1\n")
        response = _upload(client, buffer.getvalue(), "evil.zip")
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and "paths outside its folder" in html, evil
    assert _stored(app) == before


def test_a_zip_of_too_many_files_is_refused(app, client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(framework_import.MAX_FOLDER_FILES + 1):
            archive.writestr(f"model/q/{n}.yml", "")
    html = _upload(client, buffer.getvalue(), "many.zip").get_data(as_text=True)
    assert "more than 2,000 YAML files" in html


def test_a_file_over_the_limit_is_a_413_naming_the_limit(app, client):
    response = _upload(client, b"a: 1\n" * (1024 * 1024 + 1), "big.yaml")
    assert response.status_code == 413 and "larger than 5 MB" in response.get_data(as_text=True)


def test_a_forged_unknown_or_expired_key_is_refused(app, client):
    before = _stored(app)
    html = _upload(client, CISO.read_bytes(), "tiny-library.yaml").get_data(as_text=True)
    key = _key(html)
    digest = framework_import.read_confirm_key(app.secret_key, key, PREVIEW_MAX_AGE)[0]
    forged = framework_import.confirm_key("not the secret", digest, "tiny-library.yaml")
    unknown = framework_import.confirm_key(app.secret_key, "0" * 64, "tiny-library.yaml")
    for bad in ("", "nonsense", forged, unknown, key[:-2] + "xx"):
        response = client.post("/library/import/confirm", data={"key": bad})
        assert response.status_code == 422 and "unknown or has expired" in response.get_data(as_text=True), bad
    assert framework_import.read_confirm_key(app.secret_key, key, -1) is None  # an old key has expired
    # A kept text changed on the server no longer hashes to its key: refused too.
    pending = framework_import.PendingImports(app.extensions["assessment.reports"].blobs)
    stored = pending.PREFIX + digest + ".yaml"
    reader = pending.blobs.open(stored)
    try:
        tampered = reader.read().replace(b"Planning", b"Tampered")
    finally:
        reader.close()
    pending.blobs.put(stored, tampered, hashlib.sha256(tampered).hexdigest())  # the folder or the bucket
    assert client.post("/library/import/confirm", data={"key": key}).status_code == 422
    assert _stored(app) == before


def test_the_confirmation_needs_its_csrf_token(app, client):
    html = _upload(client, CISO.read_bytes(), "tiny-library.yaml").get_data(as_text=True)
    app.config["WTF_CSRF_ENABLED"] = True
    before = _stored(app)
    response = client.post("/library/import/confirm", data={"key": _key(html)})
    assert response.status_code == 400 and _stored(app) == before


# --- the API -------------------------------------------------------------------------------------


def _api(anonymous, app, url: str, data: bytes, name: str, who: str = "admin"):
    return anonymous.post(
        url,
        data={"file": (io.BytesIO(data), name)},
        headers=token_for(app, who),
        content_type="multipart/form-data",
    )


def test_the_api_previews_any_source_and_stores_nothing(app, anonymous):
    before = _stored(app)
    response = _api(anonymous, app, "/api/v1/frameworks/preview", CISO.read_bytes(), "tiny-library.yaml")
    assert response.status_code == 200, response.get_data(True)
    body = response.json
    assert (body["id"], body["converter"], body["status"]) == ("tiny-practices", "ciso-assistant", "new-framework")
    assert (body["domain_count"], body["requirement_count"], body["level_count"]) == (2, 6, 0)
    assert body["first_domains"][0] == {"id": "PL", "title": "Planning", "requirements": 3}
    assert body["content"].startswith("format: 1\nid: tiny-practices\n") and len(body["sha256"]) == 64
    samm = _api(anonymous, app, "/api/v1/frameworks/preview", _zip(SAMM), "tiny-samm.zip")
    assert samm.status_code == 200 and samm.json["converter"] == "owasp-samm", samm.get_data(True)
    for name in ("catalog.xml", "catalog.json"):  # read without YAML, and still named by the converter that read it
        oscal = _api(anonymous, app, "/api/v1/frameworks/preview", (CONVERT / "oscal" / name).read_bytes(), name)
        assert oscal.status_code == 200 and oscal.json["converter"] == "oscal", oscal.get_data(True)
    assert _stored(app) == before
    lead = _api(anonymous, app, "/api/v1/frameworks/preview", CISO.read_bytes(), "tiny-library.yaml", "lead")
    assert lead.status_code == 403


def test_the_api_imports_another_tools_catalogue_and_lists_a_bad_ones_problems(app, anonymous):
    before = _stored(app)
    response = _api(anonymous, app, "/api/v1/frameworks", _workbook(), "api-sheet.xlsx")
    assert response.status_code == 201, response.get_data(True)
    assert (
        response.json["id"] == "api-sheet" and response.headers["Location"] == "/api/v1/frameworks/api-sheet/versions/1"
    )
    assert _stored(app) == (before[0] + 1, before[1] + 1)
    bad = _api(anonymous, app, "/api/v1/frameworks", (CONVERT / "not-a-library.yaml").read_bytes(), "n.yaml")
    assert bad.status_code == 422 and "expected a CISO Assistant library" in bad.json["errors"][0]["detail"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../x.yml", "a: 1\n")
    evil = _api(anonymous, app, "/api/v1/frameworks/preview", buffer.getvalue(), "x.zip")
    assert evil.status_code == 422 and "outside its folder" in evil.json["errors"][0]["detail"]
    assert _stored(app) == (before[0] + 1, before[1] + 1)


# --- the real catalogues of ../shared/data, read where they are (skipped when absent) --------------


def test_the_real_samm_model_zipped_and_nist_800_53_preview_and_store(app, client):
    from tests.unit.test_convert_shared_data import FILES, SAMM

    nist = [path for path in FILES if path.name == "nist-sp-800-53-rev5.yaml"]
    if not SAMM.is_dir() or not nist:
        pytest.skip("the shared catalogues (OWASP SAMM's model, NIST SP 800-53 as a CISO Assistant library) are absent")
    samm = _zip(SAMM.parent, "owasp-samm")  # the folder with its licence beside the model
    html = _upload(client, samm, "owasp-samm.zip").get_data(as_text=True)
    assert "owasp-samm" in html and 'data-status="new-framework"' in html, html[:2000]
    assert client.post("/library/import/confirm", data={"key": _key(html)}).status_code == 303
    html = _upload(client, nist[0].read_bytes(), nist[0].name).get_data(as_text=True)
    assert "a CISO Assistant library" in html and "The first 5 of" in html, html[:2000]
    assert client.post("/library/import/confirm", data={"key": _key(html)}).status_code == 303
