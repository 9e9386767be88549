"""Signed reports and bundles and `assessment verify-report`, through the console script in real
processes: keys made at test time, an RFC 3161 timestamp server on 127.0.0.1, and pyHanko's own
validator as the judge of a signed PDF."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from reports.attachments import read_attachments
from tests.conftest import EXAMPLES
from tests.support.attach import embed_attachments
from tests.support.pki import Pki, TimestampServer, make_pki

pytestmark = pytest.mark.slow  # console-script processes that render PDFs

SCRIPT = Path(sys.executable).with_name("assessment")
PASSWORD_ENV = "TEST_SIGNING_PASSWORD"


def run(*args: str | Path, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ASSESSMENT_")} | (env or {})
    return subprocess.run(
        [str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120, env=environment
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), signer_password=None)


@pytest.fixture(scope="module")
def tsa(pki):
    with TimestampServer(pki.tsa, pki.ca) as server:
        yield server


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("ex") / "ex"
    shutil.copytree(EXAMPLES, folder)
    return folder / "devops-delivery.yaml", folder / "devops-delivery.answers.yaml"


def sign_options(pki: Pki, tsa: TimestampServer | None = None) -> list:
    options = ["--sign-key", pki.signer.key, "--sign-cert", pki.signer.cert]
    return options + (["--timestamp-url", tsa.url] if tsa else [])


@pytest.fixture(scope="module")
def signed(files, pki, tsa, tmp_path_factory) -> Path:
    """A report signed and timestamped by the test signer, made once."""
    out = tmp_path_factory.mktemp("signed") / "signed.pdf"
    result = run("report", *files, "-o", out, *sign_options(pki, tsa))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"{out}: Signed by CN=Ada Auditor,O=Test Audit Co"
    return out


@pytest.fixture(scope="module")
def unsigned(files, tmp_path_factory) -> Path:
    """The same report unsigned, under its default name."""
    folder = tmp_path_factory.mktemp("unsigned")
    result = run("report", *files, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith(": unsigned")
    (out,) = folder.glob("*.pdf")
    return out


def test_a_signed_report_validates_with_pyhankos_validator_and_carries_a_timestamp(signed, pki, tsa):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    from reports.signing import run_async

    ca = load_cert_from_pemder(str(pki.ca.cert))
    with signed.open("rb") as f:
        (signature,) = PdfFileReader(f).embedded_signatures
        context = ValidationContext(trust_roots=[ca], allow_fetching=False)
        status = run_async(
            lambda: async_validate_pdf_signature(
                signature, signer_validation_context=context, ts_validation_context=context
            )
        )
    assert status.bottom_line, status.pretty_print_details()
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signing_cert.subject.native["common_name"] == "Ada Auditor"
    assert status.timestamp_validity is not None and status.timestamp_validity.valid
    assert status.timestamp_validity.trusted
    assert tsa.requests >= 1
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES baseline
    # an incremental update: the rendered PDF is unchanged in front of the signature
    assert signed.read_bytes().count(b"%%EOF") >= 2


def test_verify_report_checks_everything_and_prints_the_signer(signed, files, pki):
    result = run("verify-report", signed, "--framework", files[0], "--trust", pki.ca.cert)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{signed}: ok  attachments: score.json, answers.yaml, evidence-manifest.json"
    assert lines[1].startswith(f"{signed}: ok  report id: RPT-")
    assert "re-scored against devops-delivery.yaml" in lines[2] and "gives score.json exactly" in lines[2]
    assert "signature: signed by CN=Ada Auditor,O=Test Audit Co, timestamped " in lines[3]
    assert lines[3].endswith(", trusted")


def test_verify_report_refuses_a_signer_the_trusted_certificate_did_not_certify(signed, pki):
    result = run("verify-report", signed, "--trust", pki.stranger.cert)
    assert result.returncode == 1
    assert "signature does NOT verify: the signer is not trusted by the given certificate" in result.stderr


def test_verify_report_refuses_a_signed_report_changed_afterwards(signed, tmp_path):
    from pypdf import PdfWriter

    # a change appended as an incremental update (the signed bytes stay intact)
    writer = PdfWriter(signed, incremental=True)
    writer.add_metadata({"/Subject": writer.metadata["/Subject"], "/Keywords": "edited"})
    appended = tmp_path / "appended.pdf"
    writer.write(appended)
    result = run("verify-report", appended)
    assert result.returncode == 1
    assert "the PDF was changed after it was signed" in result.stderr
    # a byte changed inside the signed range
    data = bytearray(signed.read_bytes())
    at = data.index(b"/Producer")
    data[at + 1 : at + 9] = b"Produces"
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(data))
    result = run("verify-report", changed)
    assert result.returncode == 1
    assert "the signed bytes were changed after signing" in result.stderr


def test_an_unsigned_report_says_so_and_names_scope_framework_date_and_id(unsigned, files):
    assert unsigned.name.startswith("Payments-platform-devops-delivery-2026-11-21-RPT-")
    result = run("verify-report", unsigned, "--framework", files[0])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"{unsigned}: ok  signature: unsigned"
    required = run("verify-report", unsigned, "--trust", files[0].parent / "missing.pem")
    assert required.returncode == 2 and "cannot read" in required.stderr


def test_verify_report_with_unsigned_and_trust_required(unsigned, pki):
    result = run("verify-report", unsigned, "--trust", pki.ca.cert)
    assert result.returncode == 1
    assert "signature: unsigned, but --trust requires a signature" in result.stderr


def reembed(pdf: Path, out: Path, change) -> Path:
    """A copy of an unsigned report whose attachments were changed by `change(dict)`."""
    from pypdf import PdfReader, PdfWriter

    files = read_attachments(pdf.read_bytes())
    change(files)
    writer = PdfWriter()
    writer.append(PdfReader(pdf))
    writer.add_metadata(PdfReader(pdf).metadata)
    buffer = io.BytesIO()
    writer.write(buffer)
    from reports.attachments import Attachment

    out.write_bytes(embed_attachments(buffer.getvalue(), [Attachment(n, d, "", "") for n, d in files.items()]))
    return out


def test_verify_report_finds_figures_that_do_not_re_score(unsigned, files, tmp_path):
    def better(found: dict) -> None:
        score = json.loads(found["score.json"])
        score["overall"]["score"] = 99.0
        found["score.json"] = json.dumps(score).encode()

    forged = reembed(unsigned, tmp_path / "forged.pdf", better)
    result = run("verify-report", forged, "--framework", files[0])
    assert result.returncode == 1
    assert "differs from score.json in overall" in result.stderr
    assert "the overall score is 56.25 re-scored, score.json says 99.0" in result.stderr


def test_verify_report_finds_attachments_of_another_report(unsigned, tmp_path):
    def other(found: dict) -> None:
        manifest = json.loads(found["evidence-manifest.json"])
        manifest["report_id"] = "RPT-0000-0000-0000"
        found["evidence-manifest.json"] = json.dumps(manifest).encode()

    result = run("verify-report", reembed(unsigned, tmp_path / "other.pdf", other))
    assert result.returncode == 1
    assert "the PDF's Subject is 'Assessment report RPT-" in result.stderr
    assert "but its attachments are of report RPT-0000-0000-0000" in result.stderr

    def missing(found: dict) -> None:
        del found["answers.yaml"]

    result = run("verify-report", reembed(unsigned, tmp_path / "missing.pdf", missing))
    assert result.returncode == 1 and "attachments: missing answers.yaml" in result.stderr


def test_verify_report_of_unreadable_input_exits_2(tmp_path):
    (tmp_path / "not.pdf").write_text("hello")
    for path in (tmp_path / "not.pdf", tmp_path / "absent.pdf"):
        result = run("verify-report", path)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.strip()


def test_signing_refuses_bad_keys_clearly_and_writes_nothing(files, pki, tmp_path):
    out = tmp_path / "r.pdf"
    mismatch = run("report", *files, "-o", out, "--sign-key", pki.stranger.key, "--sign-cert", pki.signer.cert)
    assert mismatch.returncode == 2 and "is not the certificate of the key" in mismatch.stderr
    alone = run("report", *files, "-o", out, "--sign-key", pki.signer.key)
    assert alone.returncode == 2 and "--sign-key needs --sign-cert too" in alone.stderr
    no_server = run("report", *files, "-o", out, *sign_options(pki), "--timestamp-url", "http://127.0.0.1:9/tsa")
    assert no_server.returncode == 2 and "could not be timestamped" in no_server.stderr
    assert "Traceback" not in mismatch.stderr + alone.stderr + no_server.stderr
    assert not out.exists()


def test_an_encrypted_key_signs_with_its_password_from_the_environment(files, tmp_path):
    locked = make_pki(tmp_path / "locked", signer_password=b"s3cret")
    out = tmp_path / "r.pdf"
    options = ["--sign-key", locked.signer.key, "--sign-cert", locked.signer.cert]
    refused = run("report", *files, "-o", out, *options)
    assert refused.returncode == 2 and "needs its password: --sign-key-password-env" in refused.stderr
    wrong = run("report", *files, "-o", out, *options, "--sign-key-password-env", PASSWORD_ENV, env={PASSWORD_ENV: "x"})
    assert wrong.returncode == 2 and "not a usable private key" in wrong.stderr
    env = {PASSWORD_ENV: "s3cret"}
    result = run("report", *files, "-o", out, *options, "--sign-key-password-env", PASSWORD_ENV, env=env)
    assert result.returncode == 0, result.stderr
    assert run("verify-report", out, "--trust", locked.ca.cert).returncode == 0


def test_the_environment_names_the_key_certificate_and_timestamp_server(files, pki, tsa, tmp_path):
    env = {
        "ASSESSMENT_SIGNING_KEY": str(pki.signer.key),
        "ASSESSMENT_SIGNING_CERT": str(pki.signer.cert),
        "ASSESSMENT_TIMESTAMP_URL": tsa.url,
    }
    before = tsa.requests
    result = run("report", *files, "-o", tmp_path / "r.pdf", env=env)
    assert result.returncode == 0, result.stderr
    assert "Signed by CN=Ada Auditor" in result.stdout and tsa.requests > before
    html = run("report", *files, "--format", "html", "-o", tmp_path / "r.html", env=env)
    assert html.returncode == 0, html.stderr  # the environment's key is for PDFs: the HTML is not signed
    asked = run("report", *files, "--format", "html", "-o", tmp_path / "s.html", *sign_options(pki))
    assert asked.returncode == 2 and "only a PDF report can be signed" in asked.stderr


def tamper(bundle: Path, out: Path, name: str, data: bytes, *, rewrite_manifest: bool, drop: str | None = None) -> Path:
    """A copy of `bundle` with member `name` replaced (and its hash rewritten into manifest.json)."""
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(out, "w") as target:
        manifest = json.loads(source.read("manifest.json"))
        if rewrite_manifest:
            for entry in manifest["evidence"]:
                if entry.get("file") == name:
                    entry["sha256"], entry["size"] = hashlib.sha256(data).hexdigest(), len(data)
        for info in source.infolist():
            if info.filename == drop:
                continue
            content = source.read(info)
            if info.filename == name:
                content = data
            elif info.filename == "manifest.json":
                content = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
            target.writestr(info.filename, content)
    return out


def test_a_signed_bundle_packs_the_report_itself_and_refuses_a_rewritten_manifest(files, signed, pki, tsa, tmp_path):
    bundle = tmp_path / "b.zip"
    result = run("bundle", *files, "--report", signed, "-o", bundle, *sign_options(pki, tsa))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"{bundle}: manifest signed by CN=Ada Auditor,O=Test Audit Co"
    with zipfile.ZipFile(bundle) as archive:
        assert archive.read("report.pdf") == signed.read_bytes()  # one rendering, one file
        manifest = json.loads(archive.read("manifest.json"))
        evidence = next(e["file"] for e in manifest["evidence"] if e["file"])
    assert manifest["signature"]["signer"] == "CN=Ada Auditor,O=Test Audit Co"
    ok = run("verify-bundle", bundle, "--trust", pki.ca.cert)
    assert ok.returncode == 0, ok.stderr
    last = ok.stdout.splitlines()[-1]
    assert last.startswith(f"{bundle}: manifest signature: signed by CN=Ada Auditor,O=Test Audit Co, timestamped ")
    assert last.endswith(" UTC, trusted")

    forged = tamper(bundle, tmp_path / "forged.zip", evidence, b"changed\n", rewrite_manifest=True)
    result = run("verify-bundle", forged)
    assert result.returncode == 2
    assert "manifest.json.p7s: signature: signature does NOT verify: the signed bytes were changed" in result.stderr
    stripped = tamper(
        bundle, tmp_path / "s.zip", evidence, b"changed\n", rewrite_manifest=True, drop="manifest.json.p7s"
    )
    result = run("verify-bundle", stripped)
    assert result.returncode == 2
    assert "missing: manifest.json.p7s: manifest.json says it was signed by CN=Ada Auditor" in result.stderr
    stranger = run("verify-bundle", bundle, "--trust", pki.stranger.cert)
    assert stranger.returncode == 2 and "not trusted by the given certificate" in stranger.stderr


def test_an_unsigned_bundle_says_it_is_unsigned(files, unsigned, pki, tmp_path):
    bundle = tmp_path / "u.zip"
    result = run("bundle", *files, "--report", unsigned, "-o", bundle)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"{bundle}: unsigned"
    check = run("verify-bundle", bundle)
    assert check.returncode == 0, check.stderr
    assert check.stdout.splitlines()[-1] == f"{bundle}: manifest signature: unsigned"
    required = run("verify-bundle", bundle, "--trust", pki.ca.cert)
    assert required.returncode == 2 and "the bundle is unsigned, but --trust requires a signature" in required.stderr


def test_bundle_refuses_a_report_of_other_files(files, unsigned, tmp_path):
    other = files[0].parent / "itgc-mini.yaml", files[0].parent / "itgc-mini.answers.yaml"
    result = run("bundle", *other, "--report", unsigned, "-o", tmp_path / "x.zip")
    assert result.returncode == 2
    assert "but these files make report RPT-" in result.stderr
    assert not (tmp_path / "x.zip").exists()


def test_bundle_default_name_carries_scope_framework_date_and_id(files, tmp_path):
    result = run("bundle", *files, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (bundle,) = tmp_path.glob("*.zip")
    assert bundle.name.startswith("Payments-platform-devops-delivery-2026-11-21-RPT-")
    assert bundle.name.endswith("-bundle.zip")


def sign_off_text(pdf: Path) -> str:
    """The text of the report's last pages, where its sign-off is, on one line."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


def test_the_report_itself_says_whether_it_is_signed_and_by_whom(signed, unsigned):
    assert "Digital signature. Unsigned: this PDF carries no digital signature." in sign_off_text(unsigned)
    signed_text = sign_off_text(signed)
    assert "Digital signature. This PDF is signed (PAdES) by" in signed_text
    assert "by CN=Ada Auditor,O=Test Audit Co;" in signed_text
    assert "Unsigned" not in signed_text


def test_signing_and_checking_work_where_an_event_loop_is_running(unsigned, pki):
    """pyHanko works with asyncio; a thread whose event loop is running (an async server's, the browser
    tests' driver's) must still sign and check, where asyncio.run alone would refuse."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from reports.signing import SigningConfig, sign_data, sign_pdf, verify_data, verify_pdf

    config = SigningConfig(pki.signer.key, pki.signer.cert, None, None)

    async def inside_a_loop():
        signature = sign_data(b"manifest", config)
        pdf = sign_pdf(unsigned.read_bytes(), config, reason="in a loop")
        return verify_data(b"manifest", signature), verify_pdf(pdf)

    # a thread of its own runs the loop: the suite's browser tests may keep one running in this thread
    with ThreadPoolExecutor(max_workers=1) as executor:
        data_verdict, pdf_verdict = executor.submit(asyncio.run, inside_a_loop()).result()
    assert data_verdict.ok and pdf_verdict.ok, (data_verdict, pdf_verdict)
