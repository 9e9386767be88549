"""Audit bundles: what a bundle holds, and that verification catches every kind of tampering."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import shutil
import subprocess
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from assessment.domain.answers import read_answers_file
from assessment.domain.loader import load_framework_file
from reports.bundle import safe_file_name, verify_bundle, write_bundle
from reports.model import Report, ReportMeta, build_report
from reports.render import render_pdf
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.slow  # renders a PDF for its bundle

GENERATED = dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC)
PIPELINE = "evidence/E-001-pipeline.yml"


def copy_examples(folder: Path) -> Path:
    """The spec's examples, copied so a test may change them."""
    shutil.copytree(EXAMPLES, folder)
    return folder


def example_report(folder: Path, *, with_files: bool = True) -> Report:
    """The devops example's report, its evidence files mapped to their bytes in `folder`."""
    framework = load_framework_file(folder / "devops-delivery.yaml")
    answers = read_answers_file(folder / "devops-delivery.answers.yaml", framework)
    files = {
        item.sha256: folder / item.file
        for answer in answers.answers.values()
        for item in answer.evidence
        if item.sha256 and item.file
    }
    meta = ReportMeta(scope=answers.scope, generated_at=GENERATED)
    return build_report(framework, answers, meta, evidence_files=files if with_files else None)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Report, bytes, Path]:
    """One report, its PDF and a fresh bundle of them, made once for the module (a PDF takes a while)."""
    folder = copy_examples(tmp_path_factory.mktemp("built") / "examples")
    report = example_report(folder)
    pdf = render_pdf(report)
    out = folder.parent / "bundle.zip"
    write_bundle(report, pdf, out)
    return report, pdf, out


@pytest.fixture
def bundle(built, tmp_path) -> Path:
    """A fresh copy of the bundle, for a test to change."""
    return Path(shutil.copy(built[2], tmp_path / "bundle.zip"))


def rewrite(
    path: Path,
    change: dict[str, Callable[[bytes], bytes]] | None = None,
    drop: tuple[str, ...] = (),
    add: dict[str, bytes] | None = None,
) -> None:
    """Rewrite the zip at `path` with members changed, dropped or added (a new, valid zip)."""
    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            if name not in drop:
                archive.writestr(name, (change or {}).get(name, lambda b: b)(data))
        for name, data in (add or {}).items():
            archive.writestr(name, data)


def flip_first_byte(data: bytes) -> bytes:
    """`data` with one bit of its first byte flipped."""
    return bytes([data[0] ^ 0x01]) + data[1:]


def read_manifest(path: Path) -> dict:
    """The parsed manifest.json of the bundle at `path`."""
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("manifest.json"))


# --- what a bundle holds ----------------------------------------------------------------------------


def test_bundle_holds_the_pdf_the_manifests_and_each_evidence_file(built):
    report, pdf, out = built
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["manifest.json", "manifest.csv", "report.pdf", PIPELINE]
        assert archive.read("report.pdf") == pdf
        assert archive.read(PIPELINE) == (EXAMPLES / "evidence" / "pipeline.yml").read_bytes()


def test_manifest_json_lists_report_facts_the_pdf_and_every_evidence_entry(built):
    report, pdf, out = built
    data = read_manifest(out)
    assert data["format"] == "assessment-report-bundle/1"
    assert data["report_id"] == report.id
    assert data["framework"] == {
        "id": "devops-delivery",
        "title": "DevOps Delivery Maturity (example)",
        "version": "2026.1",
    }
    assert (data["scope"], data["as_of"], data["generated_at"]) == (
        "Payments platform",
        "2026-11-21",
        GENERATED.isoformat(),
    )
    assert data["report_pdf"] == {"file": "report.pdf", "sha256": hashlib.sha256(pdf).hexdigest(), "size": len(pdf)}
    pipeline = (EXAMPLES / "evidence" / "pipeline.yml").read_bytes()
    file_entry, link_entry = data["evidence"]
    assert file_entry == {
        "number": "E-001",
        "title": "Pipeline definition",
        "requirement_ids": ["CI-01"],
        "kind": "file",
        "file": PIPELINE,
        "file_name": "pipeline.yml",
        "sha256": hashlib.sha256(pipeline).hexdigest(),
        "size": len(pipeline),
        "url": None,
        "effective": None,
        "expires": None,
        "current": True,
    }
    assert link_entry["number"] == "E-002" and link_entry["kind"] == "link" and link_entry["file"] is None
    assert (link_entry["url"], link_entry["expires"], link_entry["current"]) == (
        "https://wiki.example.com/slo",
        "2026-10-31",
        False,
    )
    assert (link_entry["sha256"], link_entry["size"], link_entry["requirement_ids"]) == (None, None, ["OPS-01"])


def test_manifest_csv_lists_the_same_entries(built):
    with zipfile.ZipFile(built[2]) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [r["number"] for r in rows] == ["E-001", "E-002"]
    assert rows[0]["sha256"] == hashlib.sha256((EXAMPLES / "evidence" / "pipeline.yml").read_bytes()).hexdigest()
    assert (rows[0]["file"], rows[0]["size"], rows[0]["current"]) == (PIPELINE, "16", "yes")
    assert (rows[1]["url"], rows[1]["expires"], rows[1]["current"], rows[1]["sha256"]) == (
        "https://wiki.example.com/slo",
        "2026-10-31",
        "no",
        "",
    )


def test_bundled_pdf_shows_every_evidence_hash_and_page_numbers(built, tmp_path):
    report, _, out = built
    pdf_path = tmp_path / "report.pdf"
    with zipfile.ZipFile(out) as archive:
        pdf_path.write_bytes(archive.read("report.pdf"))
    text = subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True).stdout
    hashes = [e.sha256 for e in report.evidence if e.sha256]
    assert hashes
    for sha in hashes:
        assert sha in text
    assert "Page 1 of" in text


def test_a_stream_gets_the_same_bytes_as_a_file(built):
    report, pdf, out = built
    stream = io.BytesIO()
    write_bundle(report, pdf, stream)
    assert stream.getvalue() == out.read_bytes()


# --- refusing to bundle -------------------------------------------------------------------------------


def test_a_tampered_evidence_file_is_refused_and_nothing_is_written(tmp_path):
    folder = copy_examples(tmp_path / "examples")
    report = example_report(folder)
    (folder / "evidence" / "pipeline.yml").write_bytes(b"steps: [deploy-anything]\n")
    out = tmp_path / "out" / "bundle.zip"
    out.parent.mkdir()
    with pytest.raises(ValueError, match=r"E-001 \('Pipeline definition'\).*SHA-256") as caught:
        write_bundle(report, b"%PDF-1.7 test", out)
    assert "evidence store was changed" in str(caught.value)
    assert list(out.parent.iterdir()) == []


def test_a_file_entry_without_its_bytes_is_refused(tmp_path):
    report = example_report(copy_examples(tmp_path / "examples"), with_files=False)
    with pytest.raises(ValueError, match=r"evidence E-001 \('Pipeline definition'\).*no source file"):
        write_bundle(report, b"%PDF-1.7 test", io.BytesIO())


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("scan.pdf", "scan.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\scan.pdf", "scan.pdf"),
        ("..hidden.txt", "hidden.txt"),
        ("a\x00b\x1fc\u202e.pdf", "abc.pdf"),
        ('what?:"*.pdf', "what____.pdf"),
        ("", "file"),
        ("...", "file"),
        (None, "file"),
    ],
)
def test_file_names_are_sanitised(given, expected):
    assert safe_file_name(given) == expected


def test_long_file_names_are_cut_to_150_characters_keeping_the_extension():
    name = safe_file_name("x" * 300 + ".pdf")
    assert len(name) == 150 and name.endswith("xx.pdf")
    assert len(safe_file_name("y" * 300)) == 150


def test_large_evidence_is_streamed_not_read_whole(tmp_path):
    folder = copy_examples(tmp_path / "examples")
    big = bytes(range(256)) * (96 * 1024)  # 24 MiB
    (folder / "evidence" / "pipeline.yml").write_bytes(big)
    answers = folder / "devops-delivery.answers.yaml"
    old = hashlib.sha256((EXAMPLES / "evidence" / "pipeline.yml").read_bytes()).hexdigest()
    answers.write_text(answers.read_text().replace(old, hashlib.sha256(big).hexdigest()))
    report = example_report(folder)
    out = tmp_path / "big.zip"
    del big
    tracemalloc.start()
    try:
        write_bundle(report, b"%PDF-1.7 test", out)
        _, written_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        problems = verify_bundle(out)
        _, verified_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems == []
    assert written_peak < 8 * 1024 * 1024
    assert verified_peak < 8 * 1024 * 1024


# --- verification -------------------------------------------------------------------------------------


def test_a_fresh_bundle_verifies(built):
    assert verify_bundle(built[2]) == []


def test_one_changed_byte_of_an_evidence_file_is_named(bundle):
    old = read_manifest(bundle)["evidence"][0]["sha256"]
    new = hashlib.sha256(flip_first_byte((EXAMPLES / "evidence" / "pipeline.yml").read_bytes())).hexdigest()
    rewrite(bundle, change={PIPELINE: flip_first_byte})
    assert verify_bundle(bundle) == [f"altered: {PIPELINE}: SHA-256 is {new}, manifest says {old}"]


def test_a_changed_size_is_named(bundle):
    rewrite(bundle, change={PIPELINE: lambda data: data + b"\n"})
    (problem,) = verify_bundle(bundle)
    assert problem.startswith(f"altered: {PIPELINE}: SHA-256 is ")
    assert problem.endswith("size is 17 bytes, manifest says 16")


def test_an_altered_report_pdf_is_named(bundle):
    rewrite(bundle, change={"report.pdf": lambda data: data.replace(b"%PDF", b"%PDX", 1)})
    (problem,) = verify_bundle(bundle)
    assert problem.startswith("altered: report.pdf: SHA-256 is ")


def test_a_removed_member_is_missing(bundle):
    rewrite(bundle, drop=(PIPELINE,))
    assert verify_bundle(bundle) == [f"missing: {PIPELINE}"]


def test_an_added_member_is_extra(bundle):
    rewrite(bundle, add={"evidence/foo": b"not in the manifest"})
    assert verify_bundle(bundle) == ["extra: evidence/foo"]


def test_a_manifest_rewritten_to_match_an_altered_file_disagrees_with_the_csv(bundle):
    forged = flip_first_byte((EXAMPLES / "evidence" / "pipeline.yml").read_bytes())
    data = read_manifest(bundle)
    old, data["evidence"][0]["sha256"] = data["evidence"][0]["sha256"], hashlib.sha256(forged).hexdigest()
    rewrite(bundle, change={PIPELINE: lambda _: forged, "manifest.json": lambda _: json.dumps(data).encode()})
    assert verify_bundle(bundle) == [
        f"manifest.csv disagrees with manifest.json: E-001: sha256 is {old!r} in the CSV, "
        f"{data['evidence'][0]['sha256']!r} in the JSON"
    ]


def test_a_missing_or_broken_manifest_is_reported(bundle, tmp_path):
    other = Path(shutil.copy(bundle, tmp_path / "other.zip"))
    rewrite(bundle, drop=("manifest.json",))
    assert verify_bundle(bundle) == ["missing: manifest.json"]
    rewrite(other, change={"manifest.json": lambda data: data[:-20]})
    (problem,) = verify_bundle(other)
    assert problem.startswith("manifest.json is not valid JSON: ")


def test_a_file_that_is_not_a_zip_is_reported(tmp_path, bundle):
    text = tmp_path / "bundle-not.zip"
    text.write_text("just text\n")
    assert verify_bundle(text) == ["not a valid zip file: bundle-not.zip: File is not a zip file"]
    cut = tmp_path / "cut.zip"
    cut.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
    (problem,) = verify_bundle(cut)
    assert problem.startswith("not a valid zip file: cut.zip")
    assert verify_bundle(tmp_path / "absent.zip") == [f"not found: {tmp_path / 'absent.zip'}"]


def test_a_corrupt_member_is_reported(bundle):
    """Bytes changed in place, under an unchanged CRC: zipfile's check fails, verify says so."""
    raw = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as archive:
        info = archive.getinfo("report.pdf")
    local = info.header_offset  # the local header: 30 bytes, then the name and extra field it declares
    start = (
        local
        + 30
        + int.from_bytes(raw[local + 26 : local + 28], "little")
        + int.from_bytes(raw[local + 28 : local + 30], "little")
    )
    raw[start + 100] ^= 0xFF
    bundle.write_bytes(bytes(raw))
    (problem,) = verify_bundle(bundle)
    assert problem.startswith("corrupt: report.pdf: ")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.txt", "'..' in path"),
        ("evidence/../../evil.txt", "'..' in path"),
        ("/etc/cron.d/evil", "absolute path"),
        ("C:/evil.txt", "absolute path"),
        ("evidence\\..\\evil.txt", "backslash in name"),
    ],
)
def test_a_hostile_member_name_is_reported_and_nothing_is_extracted(bundle, tmp_path, name, reason, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rewrite(bundle, add={name: b"payload"})
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert verify_bundle(bundle) == [f"unsafe name: {name!r}: {reason}"]
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def claim_size(path: Path, name: str, size: int) -> None:
    """Make the central directory of the zip claim that member `name` unpacks to `size` bytes."""
    raw = bytearray(path.read_bytes())
    encoded = name.encode()
    at = raw.find(b"PK\x01\x02")
    while at != -1:
        name_length = int.from_bytes(raw[at + 28 : at + 30], "little")
        if raw[at + 46 : at + 46 + name_length] == encoded:
            raw[at + 24 : at + 28] = size.to_bytes(4, "little")
            path.write_bytes(bytes(raw))
            return
        at = raw.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{name} is not in {path}")


def test_an_oversized_member_is_reported_not_read(bundle):
    claim_size(bundle, PIPELINE, 3 * 1024**3)
    assert verify_bundle(bundle) == [f"too large: {PIPELINE}: 3,221,225,472 bytes unpacked (limit 2,147,483,648)"]


def test_a_bundle_too_large_in_all_is_reported_not_read(bundle):
    rewrite(bundle, add={f"evidence/bomb-{n}": b"0" for n in range(7)})
    for n in range(7):
        claim_size(bundle, f"evidence/bomb-{n}", 3 * 1024**3)
    (problem,) = verify_bundle(bundle)
    assert problem.startswith("too large: the bundle unpacks to ")
    assert problem.endswith("(limit 21,474,836,480); nothing was read")


def test_the_trail_anchor_is_in_the_manifest_and_the_report_and_verify_bundle_checks_its_shape(tmp_path):
    from assessment.domain.trail import Anchor
    from reports.render import render_html

    folder = copy_examples(tmp_path / "examples")
    plain = example_report(folder)
    report = dataclasses.replace(plain, trail_anchor=Anchor(42, "ab" * 32, 42))
    assert report.id == plain.id  # like the trail itself, the anchor is not part of the id
    html = " ".join(render_html(report).split())
    assert "the application's audit trail held 42 entries" in html and "--anchor 42:" + "ab" * 32 in html
    assert "Audit trail anchor" not in render_html(plain)  # a report from files has no trail
    out = tmp_path / "bundle.zip"
    write_bundle(report, b"%PDF-1.7 stand-in", out)
    anchor = read_manifest(out)["audit_trail"]
    assert anchor == {"count": 42, "seq": 42, "head": "ab" * 32, "anchor": "42:" + "ab" * 32}
    assert verify_bundle(out) == []
    data = read_manifest(out)
    data["audit_trail"]["count"] = 41
    rewrite(out, change={"manifest.json": lambda _: json.dumps(data).encode()})
    assert verify_bundle(out) == [
        "manifest.json: audit_trail must give count, seq (equal), head (a SHA-256) and anchor SEQ:HEAD"
    ]
    write_bundle(plain, b"%PDF-1.7 stand-in", out)
    assert "audit_trail" not in read_manifest(out)
