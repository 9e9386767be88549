"""Input the application must refuse cleanly: ids beyond the database's integers, forged origins,
uploads that are not what they claim. Each gets a 4xx page, and nothing changes."""

from __future__ import annotations

import gc
import io
import os
import re
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from assessment.extensions import db, report_store
from assessment.models import Evidence
from tests.conftest import EXAMPLES
from tests.integration.helpers import example_version, make_scope
from tests.integration.test_evidence import upload
from tests.integration.test_transfer import ANSWERS, assert_refused, post_zip
from tests.unit.test_other_tools import zip_again

HUGE = (2**31, 2**63, 10**30)  # beyond PostgreSQL's INTEGER, SQLite's, and both


@pytest.mark.parametrize("number", HUGE)
def test_every_get_route_with_an_id_gives_404_for_a_huge_id(app, client, devops, number):
    assessment, scope = devops
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and "<int" in r.rule]
    assert len(rules) >= 14
    for rule in rules:
        url = re.sub(r"<int:\w+>", str(number), rule.rule)
        url = re.sub(r"<(?:path:)?\w+>", "x", url)
        response = client.get(url)
        assert response.status_code == 404, (rule.rule, response.status_code)


@pytest.mark.parametrize("number", HUGE)
def test_ids_in_query_strings_and_forms_give_404_for_a_huge_id(app, client, devops, number):
    assessment, scope = devops
    for url in (
        f"/audit?assessment={number}",
        f"/audit?scope={number}",
        f"/dashboard?scope={number}",
        f"/library/devops-delivery?version={number}",
        f"/assessments/{assessment}/compare?other={number}",
    ):
        response = client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        assert "does not exist" in response.get_data(as_text=True)
    for url, data in (
        (f"/scopes/{scope}/assessments", {"framework_version": str(number), "as_of": "2026-11-21"}),
        (f"/assessments/{assessment}/next-cycle", {"framework_version": str(number)}),
        (f"/assessments/{assessment}/requirements/CI-01/evidence/reuse", {"evidence": f"#{number} Title"}),
    ):
        response = client.post(url, data=data)
        assert response.status_code == 404, (url, response.status_code)


@pytest.mark.parametrize("digits", (str(2**63), str(10**30), "9" * 5000))
def test_huge_numbers_elsewhere_in_forms_give_a_4xx(app, client, devops, digits):
    assessment, _ = devops
    response = client.get(f"/audit?page={digits}")
    assert response.status_code in (200, 400), response.status_code  # a page past the end shows the last one
    response = client.post(
        f"/assessments/{assessment}/answers/CI-01",
        data={"value": "yes", "revision": digits},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 400
    assert "too large" in response.get_json()["error"]
    response = client.get(f"/audit?assessment={digits}")
    assert response.status_code == 404


# -- imports ------------------------------------------------------------------------------------


def test_import_of_a_5000_digit_number_is_refused_with_its_line(app, client):
    example_version(app)
    scope = make_scope(client)
    huge = ANSWERS.replace(b"DEP-02: 36", b"DEP-02: " + b"9" * 5000)
    number = huge.split(b"\n").index(b"  DEP-02: " + b"9" * 5000) + 1
    response = post_zip(client, scope, {"answers.yaml": huge})
    assert_refused(app, response, f"answers.yaml:{number}: answers.DEP-02: expected a finite number of reasonable size")


def _zip_with_a_bad_crc() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("answers.yaml", ANSWERS)
        archive.writestr("evidence/pipeline.yml", b"stages: [build, test, deploy]\n")
    data = bytearray(buffer.getvalue())
    at = data.index(b"stages: [build")
    data[at] ^= 0x01  # one changed byte: the entry's CRC-32 no longer matches
    return bytes(data)


def test_import_of_a_zip_with_a_bad_crc_is_refused(app, client):
    example_version(app)
    scope = make_scope(client)
    response = client.post(
        f"/scopes/{scope}/import",
        data={"file": (io.BytesIO(_zip_with_a_bad_crc()), "x.zip")},
        content_type="multipart/form-data",
    )
    assert_refused(app, response, "evidence/pipeline.yml")
    assert "damaged" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,<b>x</b>"])
def test_import_refuses_evidence_links_the_form_refuses(app, client, url):
    example_version(app)
    scope = make_scope(client)
    hostile = ANSWERS.replace(b"url: https://wiki.example.com/slo", f"url: '{url}'".encode())
    response = post_zip(client, scope, {"answers.yaml": hostile, "evidence/pipeline.yml": PIPELINE})
    assert_refused(app, response, "must be an http:// or https:// URL")


PIPELINE = (EXAMPLES / "evidence" / "pipeline.yml").read_bytes()


def _rezip(data: bytes, folder: Path) -> bytes:
    """Unpack a zip and pack it again as `zip -r` does (directory entries, names without the UTF-8 flag)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(folder)
    return zip_again(folder, folder.parent / f"{folder.name}.zip").read_bytes()


def test_import_reads_an_export_re_zipped_by_ordinary_tools(app, client, devops, tmp_path):
    assessment, _ = devops
    assert upload(client, assessment, "CI-01", PIPELINE, "prüfung-Übersicht.yml", title="Pipeline").status_code == 302
    exported = client.get(f"/assessments/{assessment}/export.zip").data
    other = make_scope(client, "Second team")
    response = client.post(
        f"/scopes/{other}/import",
        data={"file": (io.BytesIO(_rezip(exported, tmp_path / "unpacked")), "x.zip")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        names = db.session.scalars(select(Evidence.original_name).where(Evidence.scope_id == other)).all()
    assert names == ["prüfung-Übersicht.yml"]  # the name it was uploaded under, read as written


# -- memory: uploads are read from the spooled file, never whole into memory ----------------------


def _peak_python_memory(client, url: str, path: Path, name: str, **fields) -> int:
    """The peak of Python's allocations while `client` posts the file at `path` (its body built beforehand)."""
    from werkzeug.test import EnvironBuilder

    with path.open("rb") as handle:
        builder = EnvironBuilder(path=url, method="POST", data={"file": (handle, name), **fields})
        environ = builder.get_environ()  # the body is encoded before measuring: it is the client's, not the server's
    # What a process loads once, not per upload: the S3 client's service model (several MB) under bin/with-stack
    report_store(client.application).evidence.exists("0" * 64)
    gc.collect()
    tracemalloc.start()
    try:
        response = client.open(environ)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        builder.close()
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return peak


@pytest.mark.slow
def test_a_large_import_adds_little_memory(app, client, tmp_path):
    """A 66 MB zip goes through a background job (it is over IMPORT_INLINE_BYTES): kept in the store, read
    back and imported, here inside the request (REPORTS_SYNC), all of it in chunks."""
    app.config["REPORTS_SYNC"] = True
    example_version(app)
    scope = make_scope(client)
    files = {f"evidence/scan-{n}.pdf": b"%PDF-1.4\n" + os.urandom(22 * 1024 * 1024) for n in range(3)}
    items = "".join(f"      - {{title: Scan {n}, file: evidence/scan-{n}.pdf}}\n" for n in range(3))
    answers = ANSWERS.replace(
        b"      - title: Pipeline definition\n        file: evidence/pipeline.yml\n"
        b"        sha256: 1a8dd0a0e6bd03841deb022508d992e909b2aeec63148d1b7e7629ecaf94a533\n",
        items.encode(),
    )
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("answers.yaml", answers)
        for name, data in files.items():
            archive.writestr(name, data)
    del files
    size = path.stat().st_size
    assert size > 60 * 1024 * 1024
    peak = _peak_python_memory(client, f"/scopes/{scope}/import", path, "big.zip")
    assert peak < 8 * 1024 * 1024, f"the import of {size:,} bytes peaked at {peak:,} bytes of Python memory"
    with app.app_context():
        assert len(db.session.scalars(select(Evidence.id).where(Evidence.scope_id == scope)).all()) == 4  # and the link


def test_a_large_evidence_upload_adds_little_memory(app, client, devops, tmp_path):
    assessment, _ = devops
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.4\n" + os.urandom(20 * 1024 * 1024))
    url = f"/assessments/{assessment}/requirements/CI-01/evidence"
    peak = _peak_python_memory(client, url, path, "scan.pdf", title="Scan")
    assert peak < 4 * 1024 * 1024, f"the upload of 20 MB peaked at {peak:,} bytes of Python memory"


# -- forms sent from another site ----------------------------------------------------------------


def _scopes(app) -> int:
    from sqlalchemy import func

    from assessment.models import Scope

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Scope))


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://localhost:8080"},  # another port is another site
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "https://evil.example", "Referer": "http://localhost/scopes"},  # the Origin decides
    ],
)
def test_a_post_from_another_site_is_refused(app, client, headers):
    before = _scopes(app)
    response = client.post("/scopes", data={"name": "Forged", "kind": "team"}, headers=headers)
    assert response.status_code == 403
    assert "sent from another site" in response.get_data(as_text=True)
    assert _scopes(app) == before
    response = client.post("/logout", headers=headers)  # signing someone out is a change too
    assert response.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "http://localhost"},
        {"Origin": "HTTP://LOCALHOST:80"},
        {"Referer": "http://localhost/scopes/new"},
    ],
)
def test_a_post_from_this_site_or_without_the_headers_passes(app, client, headers):
    response = client.post("/scopes", data={"name": "Ours", "kind": "team"}, headers=headers)
    assert response.status_code == 302, response.get_data(as_text=True)


def test_behind_a_trusted_proxy_this_site_is_the_forwarded_one(app, client):
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "assess.example.org"}
    ours = client.post(
        "/scopes", data={"name": "A", "kind": "team"}, headers={**forwarded, "Origin": "https://assess.example.org"}
    )
    assert ours.status_code == 302
    inner = client.post(
        "/scopes", data={"name": "B", "kind": "team"}, headers={**forwarded, "Origin": "http://localhost"}
    )
    assert inner.status_code == 403
