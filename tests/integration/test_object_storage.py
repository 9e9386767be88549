"""Evidence and reports on S3-compatible object storage, against a moto server process of this module's own
(so this runs in CI's SQLite run too, not only under bin/with-stack): uploads land in the bucket by SHA-256
and nothing in the folders, downloads stream back, refused uploads store nothing, reports and bundles are
stored and packed from the bucket, and /readyz says when the store cannot be reached."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from assessment import create_app
from assessment.adapters.blobs import S3Blobs, S3Settings, StorageUnavailable
from assessment.extensions import report_store
from tests.integration.conftest import _config
from tests.integration.helpers import stored_keys
from tests.integration.test_evidence import upload
from tests.integration.test_reports_web import prepared, request

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
BUCKET = "assessment-object-storage-test"
SECRET = "moto-secret-never-shown-9f3a"  # the test server's own (moto checks no signature)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """moto's standalone S3 server on 127.0.0.1 and a free port, as a process of its own."""

    def __init__(self) -> None:
        if not MOTO_SERVER.is_file():
            pytest.skip(f"no moto_server beside {sys.executable}: install the test extras (make .venv/.test-installed)")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail("moto_server did not start")
                time.sleep(0.1)
        self.settings = {
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": self.url,
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": "moto-test-key",
            "S3_SECRET_ACCESS_KEY": SECRET,
        }
        self.client().create_bucket(Bucket=BUCKET)

    def client(self):
        return S3Settings(self.settings).client()

    def keys(self, prefix: str) -> list[str]:
        """Every key in the bucket under `prefix`."""
        answer = self.client().list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return sorted(item["Key"] for item in answer.get("Contents", []))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def moto():
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def app(app, moto):
    """The test's application (its database and people) again, with its evidence and reports in the bucket
    under a prefix of its own."""
    config = _config(Path(app.instance_path), app.config["SQLALCHEMY_DATABASE_URI"])
    return create_app({**config, **moto.settings, "S3_PREFIX": f"t-{uuid.uuid4().hex}"})


def local_files(app) -> list[Path]:
    """Files in the folders the folder store would use: there should be none."""
    folders = (Path(app.config["EVIDENCE_DIR"]), Path(app.instance_path) / "reports")
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


def test_an_upload_lands_in_the_bucket_by_sha256_with_its_checksum_and_downloads(app, client, devops, moto):
    from sqlalchemy import select

    from assessment.extensions import db
    from assessment.models import Evidence

    assessment, _ = devops
    data = b"%PDF-1.4 scan of the pipeline\n" + hashlib.sha512(b"seed").digest() * 40_000  # 2.5 MB: spooled on disk
    digest = hashlib.sha256(data).hexdigest()
    assert upload(client, assessment, "CI-01", data, "scan.pdf", title="Scan").status_code == 302
    prefix = app.config["S3_PREFIX"]
    assert moto.keys(prefix) == [f"{prefix}/evidence/{digest[:2]}/{digest}"]
    assert stored_keys(app) == [f"{digest[:2]}/{digest}"] and local_files(app) == []
    # the upload carried its SHA-256 as the object's checksum, for the store to verify
    head = moto.client().head_object(
        Bucket=BUCKET, Key=f"{prefix}/evidence/{digest[:2]}/{digest}", ChecksumMode="ENABLED"
    )
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    with app.app_context():
        item = db.session.scalar(select(Evidence))
    download = client.get(f"/evidence/{item.id}/download")
    assert download.status_code == 200 and download.data == data
    assert download.headers["Content-Length"] == str(len(data))
    assert download.headers["ETag"] == f'"{digest}"'
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Content-Security-Policy"].startswith("sandbox")
    assert client.get(f"/evidence/{item.id}/download", headers={"If-None-Match": f'"{digest}"'}).status_code == 304


def test_a_download_from_the_bucket_answers_ranges_as_the_folder_does(app, client, devops, moto):
    """A resumed or partial download (a browser's, curl -C) gets 206 with the part, 416 outside the file;
    If-Range with another ETag gets the whole file."""
    from sqlalchemy import select

    from assessment.extensions import db
    from assessment.models import Evidence

    assessment, _ = devops
    data = b"%PDF-1.4 ranged\n" + bytes(range(256)) * 800  # 204,816 bytes: more than one chunk
    digest = hashlib.sha256(data).hexdigest()
    assert upload(client, assessment, "CI-01", data, "ranged.pdf", title="Ranged").status_code == 302
    with app.app_context():
        item = db.session.scalar(select(Evidence))
    url = f"/evidence/{item.id}/download"
    for asked, start, stop in (
        ("bytes=0-3", 0, 4),
        ("bytes=100000-170000", 100000, 170001),
        ("bytes=-16", len(data) - 16, len(data)),
        (f"bytes={len(data) - 5}-", len(data) - 5, len(data)),
    ):
        part = client.get(url, headers={"Range": asked})
        assert part.status_code == 206, asked
        assert part.data == data[start:stop], asked
        assert part.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{len(data)}"
        assert part.headers["Content-Length"] == str(stop - start)
    assert client.get(url, headers={"Range": f"bytes={len(data)}-{len(data) + 10}"}).status_code == 416
    whole = client.get(url, headers={"Range": "bytes=0-3", "If-Range": '"another"'})
    assert whole.status_code == 200 and whole.data == data
    same = client.get(url, headers={"Range": "bytes=0-3", "If-Range": f'"{digest}"'})
    assert same.status_code == 206 and same.data == data[:4]


def test_a_reader_of_the_bucket_seeks_by_asking_for_the_rest_of_the_object(moto):
    blobs = S3Blobs(S3Settings(moto.settings), f"seek-{uuid.uuid4().hex}/")
    data = bytes(range(256)) * 300
    blobs.put("one", data, hashlib.sha256(data).hexdigest())
    reader = blobs.open("one")
    assert reader.seekable() and reader.read(10) == data[:10] and reader.tell() == 10
    assert reader.seek(70000) == 70000 and reader.read(5) == data[70000:70005]
    assert reader.seek(-3, io.SEEK_END) == len(data) - 3 and reader.read() == data[-3:]
    assert reader.read(1) == b""
    reader.seek(0)
    assert reader.read() == data
    with pytest.raises(OSError):
        reader.seek(-1)
    reader.close()


def test_the_same_content_twice_is_one_object(app, client, devops, moto):
    assessment, _ = devops
    upload(client, assessment, "CI-01", b"same", "a.txt")
    upload(client, assessment, "OPS-01", b"same", "b.txt")
    assert len(moto.keys(app.config["S3_PREFIX"])) == 1


def test_a_too_large_upload_stores_nothing(app, client, devops, moto):
    assessment, _ = devops
    app.config["EVIDENCE_MAX_BYTES"] = 1024
    response = upload(client, assessment, "CI-01", b"x" * 2048, "big.bin")
    assert response.status_code == 413
    assert moto.keys(app.config["S3_PREFIX"]) == [] and local_files(app) == []


def test_a_missing_object_is_gone_not_an_error(app, client, devops, moto):
    from sqlalchemy import select

    from assessment.extensions import db
    from assessment.models import Evidence

    assessment, _ = devops
    upload(client, assessment, "CI-01", b"stages: [build]\n", "pipeline.yml")
    for key in moto.keys(app.config["S3_PREFIX"]):
        moto.client().delete_object(Bucket=BUCKET, Key=key)
    with app.app_context():
        item = db.session.scalar(select(Evidence))
    assert client.get(f"/evidence/{item.id}/download").status_code == 410


def test_a_checksum_that_does_not_match_the_bytes_is_refused_by_the_server(app, moto):
    blobs = report_store(app).evidence.blobs
    assert isinstance(blobs, S3Blobs)
    data = b"the bytes sent"
    wrong = hashlib.sha256(b"other bytes").hexdigest()
    try:
        blobs.put("ab/refused", data, wrong)
    except StorageUnavailable as refused:
        assert "checksum did not match" in refused.message
        assert not blobs.exists("ab/refused")  # nothing stored
        return
    blobs.delete("ab/refused")
    pytest.skip(
        "this moto_server stored an object whose x-amz-checksum-sha256 does not match its body: moto does not "
        "verify PutObject checksums (S3 and MinIO answer BadDigest, which the adapter reports as refused)"
    )


def test_a_refusal_by_the_store_is_told_as_such_and_names_no_endpoint():
    from botocore.exceptions import ClientError, EndpointConnectionError

    blobs = S3Blobs(S3Settings({"S3_BUCKET": BUCKET, "S3_ENDPOINT_URL": "http://127.0.0.1:9"}), "evidence/")
    refused = blobs._failed(ClientError({"Error": {"Code": "BadDigest"}}, "PutObject"), "store the file")
    assert refused.status == 503 and "SHA-256 checksum did not match (BadDigest); nothing was stored" in refused.message
    down = blobs._failed(EndpointConnectionError(endpoint_url="http://127.0.0.1:9/x"), "store the file")
    assert "127.0.0.1" not in down.message and "EndpointConnectionError" in down.message


@pytest.mark.slow
def test_a_report_renders_into_the_bucket_and_downloads(app, client, devops, moto):
    app.config["REPORTS_SYNC"] = True
    assessment, _ = devops
    prepared(client, assessment)
    job = request(client, assessment, "pdf")
    pdf = client.get(f"/reports/{job}/download")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Length"] == str(len(pdf.data))
    prefix = app.config["S3_PREFIX"]
    reports = [key for key in moto.keys(f"{prefix}/reports/")]
    assert len(reports) == 1 and re.fullmatch(rf"{prefix}/reports/{job}-RPT-[0-9A-F-]+\.pdf", reports[0])
    assert local_files(app) == []
    assert request(client, assessment, "pdf") == job  # still in the bucket: reused
    moto.client().delete_object(Bucket=BUCKET, Key=reports[0])
    assert request(client, assessment, "pdf") != job  # gone from the bucket: rendered anew


@pytest.mark.slow
def test_a_bundle_packs_the_evidence_from_the_bucket(app, client, devops, moto, tmp_path):
    from reports.bundle import verify_bundle

    app.config["REPORTS_SYNC"] = True
    assessment, _ = devops
    prepared(client, assessment)
    job = request(client, assessment, "bundle")
    data = client.get(f"/reports/{job}/download").data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("evidence/E-001-pipeline.yml") == b"stages: [build]\n"
    (tmp_path / "bundle.zip").write_bytes(data)
    assert verify_bundle(tmp_path / "bundle.zip") == []
    assert local_files(app) == []
    prefix = app.config["S3_PREFIX"]
    names = [key.rsplit("/", 1)[1] for key in moto.keys(f"{prefix}/reports/")]
    assert sorted(name.rsplit(".", 1)[1] for name in names) == ["pdf", "zip"]  # the bundle and its PDF


def test_an_export_reads_the_bucket_and_an_import_fills_it(app, client, devops, moto):
    from tests.integration.helpers import make_scope

    assessment, _ = devops
    upload(client, assessment, "CI-01", b"stages: [build]\n", "pipeline.yml", title="Pipeline")
    exported = client.get(f"/assessments/{assessment}/export.zip")
    assert exported.status_code == 200
    with zipfile.ZipFile(io.BytesIO(exported.data)) as archive:
        files = [name for name in archive.namelist() if name.startswith("evidence/")]
        assert [archive.read(name) for name in files] == [b"stages: [build]\n"]
    for key in moto.keys(app.config["S3_PREFIX"]):
        moto.client().delete_object(Bucket=BUCKET, Key=key)
    other = make_scope(client, "Imported")
    response = client.post(
        f"/scopes/{other}/import",
        data={"file": (io.BytesIO(exported.data), "export.zip")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    digest = hashlib.sha256(b"stages: [build]\n").hexdigest()
    assert stored_keys(app) == [f"{digest[:2]}/{digest}"] and local_files(app) == []


def test_readyz_says_whether_the_bucket_answers(app, anonymous):
    own = MotoServer()  # a server of this test's own, to stop
    try:
        config = _config(Path(app.instance_path), app.config["SQLALCHEMY_DATABASE_URI"])
        probed = create_app({**config, **own.settings, "S3_PREFIX": "readyz", "READYZ_TIMEOUT_SECONDS": 3})
        response = probed.test_client().get("/readyz")
        assert response.status_code == 200 and response.get_json()["checks"]["storage"] == {"ok": True}
        own.stop()
        started = time.monotonic()
        response = probed.test_client().get("/readyz")
        assert time.monotonic() - started < 6  # refused at once; a silent server would cost the timeout
        body = response.get_json()
        assert response.status_code == 503 and body["failed"] == ["storage"], body
        error = body["checks"]["storage"]["error"]
        assert "the evidence bucket cannot be reached" in error and "the reports bucket cannot be reached" in error
        text = response.get_data(as_text=True)
        assert own.url not in text and str(own.port) not in text and SECRET not in text
    finally:
        own.stop()


@pytest.mark.slow  # a console-script process
def test_config_check_shows_the_bucket_and_masks_its_secret(app, moto):
    from tests.integration.helpers import config_check

    env = {f"ASSESSMENT_{name}": str(value) for name, value in moto.settings.items()}
    result = config_check(app, **env)  # run_cli gives the command the app's own S3_PREFIX
    prefix = app.config["S3_PREFIX"]
    assert f"evidence store  S3 bucket {BUCKET}, keys {prefix}/evidence/" in result.stdout, result.stdout
    assert f"report store    S3 bucket {BUCKET}, keys {prefix}/reports/" in result.stdout
    assert SECRET not in result.stdout and SECRET not in result.stderr
    assert re.search(r"S3_SECRET_ACCESS_KEY\s+\*\*\*\*", result.stdout)


@pytest.mark.slow
def test_copy_to_bucket_moves_a_folder_installations_files_and_loses_none(app, moto):
    """An installation that ran on its folders switches to the bucket: `assessment storage copy-to-bucket`
    copies every evidence file and rendered report there, after which the bucket's application downloads the
    same bytes; run again it copies nothing; a file lost from the folder is named and the exit status says so."""
    from sqlalchemy import select

    from assessment.extensions import db
    from assessment.models import Evidence, ReportJob
    from tests.integration.conftest import sign_in_as
    from tests.integration.helpers import example_version, make_scope, run_cli, start

    config = _config(Path(app.instance_path), app.config["SQLALCHEMY_DATABASE_URI"])
    folder_app = create_app({k: v for k, v in config.items() if not k.startswith("S3_")} | {"REPORTS_SYNC": True})
    on_folder = sign_in_as(folder_app.test_client(), "admin")
    assessment = start(on_folder, make_scope(on_folder), example_version(folder_app), target="3")
    prepared(on_folder, assessment)
    upload(on_folder, assessment, "CI-02", b"%PDF-1.4 second file\n" * 5000, "second.pdf", title="Second")
    job = request(on_folder, assessment, "pdf")
    pdf = on_folder.get(f"/reports/{job}/download").data
    with folder_app.app_context():
        items = {e.id: e.sha256 for e in db.session.scalars(select(Evidence))}
        file_name = db.session.get(ReportJob, job).file_name
        db.session.remove()
    assert len(items) == 2 and pdf.startswith(b"%PDF")
    prefix = app.config["S3_PREFIX"]
    env = {"ASSESSMENT_S3_" + k[3:]: str(v) for k, v in moto.settings.items()} | {
        "ASSESSMENT_S3_PREFIX": prefix,
        "ASSESSMENT_EVIDENCE_DIR": str(folder_app.config["EVIDENCE_DIR"]),
    }

    dry = run_cli(folder_app, "storage", "copy-to-bucket", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "evidence files: 2 would copy" in dry.stdout and "reports: 1 would copy" in dry.stdout
    assert moto.keys(prefix) == []  # a dry run copies nothing

    first = run_cli(folder_app, "storage", "copy-to-bucket", env=env)
    assert first.returncode == 0, first.stderr
    assert "evidence files: 2 copied" in first.stdout and "reports: 1 copied" in first.stdout
    assert "evidence files: 2 of 2 looked at" in first.stderr  # progress
    assert moto.keys(prefix) == sorted(
        [f"{prefix}/evidence/{sha[:2]}/{sha}" for sha in items.values()] + [f"{prefix}/reports/{file_name}"]
    )
    on_bucket = sign_in_as(app.test_client(), "admin")
    for evidence_id in items:
        folder_bytes = on_folder.get(f"/evidence/{evidence_id}/download").data
        assert on_bucket.get(f"/evidence/{evidence_id}/download").data == folder_bytes
    assert on_bucket.get(f"/reports/{job}/download").data == pdf

    again = run_cli(folder_app, "storage", "copy-to-bucket", env=env)
    assert again.returncode == 0 and "evidence files: 0 copied (0 bytes), 2 already in the bucket" in again.stdout

    lost = next(iter(items.values()))
    (Path(folder_app.config["EVIDENCE_DIR"]) / lost[:2] / lost).unlink()
    moto.client().delete_object(Bucket=BUCKET, Key=f"{prefix}/evidence/{lost[:2]}/{lost}")
    broken = run_cli(folder_app, "storage", "copy-to-bucket", env=env)
    assert broken.returncode == 1
    assert f"missing: evidence file {lost[:2]}/{lost}" in broken.stderr and "1 missing from the folder" in broken.stdout


def test_copy_to_bucket_without_a_bucket_says_what_to_set(app):
    from tests.integration.helpers import run_cli

    plain = {"ASSESSMENT_S3_BUCKET": "", "ASSESSMENT_S3_PREFIX": ""}
    result = run_cli(app, "storage", "copy-to-bucket", env=plain)
    assert result.returncode == 2 and "ASSESSMENT_S3_BUCKET is not set" in result.stderr
