"""Files that pass through other tools: a bundle re-zipped by `zip`, CSV opened by Excel, written files
and the umask, the JSON Schema checked by ajv."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from reports.bundle import verify_bundle, write_bundle
from reports.render import render_pdf
from tests.unit.test_bundle import copy_examples, example_report
from tests.unit.test_cli import SCRIPT

NAME = "Prüfplan-Übersicht.yml"


def zip_again(folder: Path, target: Path, by_hand: bool = False) -> Path:
    """Zip `folder` as ordinary tools do: folder entries, and UTF-8 names without the zip's UTF-8 flag."""
    if shutil.which("zip") and not by_hand:  # Debian's Info-ZIP
        subprocess.run(["zip", "-q", "-r", str(target), "."], cwd=folder, check=True, timeout=60)
    else:  # the same by hand: Python flags the UTF-8 names it writes, so the flag is cleared afterwards
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                archive.write(path, path.relative_to(folder).as_posix())
        _clear_utf8_flags(target)
    with zipfile.ZipFile(target) as archive:
        infos = archive.infolist()
    assert any(i.is_dir() for i in infos) and not any(i.flag_bits & 0x800 for i in infos)
    return target


def _clear_utf8_flags(path: Path) -> None:
    """Clear bit 11 (UTF-8 names) of every local and central header of the zip at `path`."""
    with zipfile.ZipFile(path) as archive:
        offsets, at = [info.header_offset for info in archive.infolist()], archive.start_dir
    data = bytearray(path.read_bytes())
    for offset in offsets:
        assert data[offset : offset + 4] == b"PK\x03\x04"
        data[offset + 7] &= ~0x08
    while data[at : at + 4] == b"PK\x01\x02":
        data[at + 9] &= ~0x08
        at += 46 + sum(int.from_bytes(data[at + k : at + k + 2], "little") for k in (28, 30, 32))
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory) -> Path:
    """A bundle whose evidence file has a non-ASCII name, unpacked into a folder."""
    folder = copy_examples(tmp_path_factory.mktemp("tools") / "examples")
    (folder / "evidence" / "pipeline.yml").rename(folder / "evidence" / NAME)
    answers = folder / "devops-delivery.answers.yaml"
    answers.write_text(answers.read_text().replace("file: evidence/pipeline.yml", f"file: evidence/{NAME}"))
    report = example_report(folder)
    bundle = folder.parent / "bundle.zip"
    write_bundle(report, render_pdf(report), bundle)
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder.parent / "unpacked")
    return folder.parent / "unpacked"


@pytest.mark.parametrize("by_hand", [False, True])
def test_a_bundle_re_zipped_by_ordinary_tools_verifies(unpacked, tmp_path, by_hand):
    assert (unpacked / "evidence" / f"E-001-{NAME}").is_file()
    assert verify_bundle(zip_again(unpacked, tmp_path / "again.zip", by_hand)) == []


@pytest.mark.parametrize("member", [f"evidence/E-001-{NAME}", "report.pdf"])
def test_a_re_zipped_bundle_with_one_changed_byte_is_caught(unpacked, tmp_path, member):
    folder = Path(shutil.copytree(unpacked, tmp_path / "copy"))
    data = bytearray((folder / member).read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / member).write_bytes(bytes(data))
    problems = verify_bundle(zip_again(folder, tmp_path / "again.zip"))
    assert len(problems) == 1 and problems[0].startswith(f"altered: {member}: SHA-256 is"), problems


@pytest.mark.slow  # a console-script process or a timed race
@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_follow_the_umask(tmp_path, umask):
    folder = copy_examples(tmp_path / "examples")
    framework, answers = folder / "devops-delivery.yaml", folder / "devops-delivery.answers.yaml"
    commands = {
        "report.html": ["report", framework, answers, "--format", "html", "-o"],
        "report.pdf": ["report", framework, answers, "-o"],
        "bundle.zip": ["bundle", framework, answers, "-o"],
        "schema.json": ["schema", "-o"],
    }
    for name, args in commands.items():
        result = subprocess.run(
            [str(SCRIPT), *map(str, args), str(tmp_path / name)],
            capture_output=True,
            text=True,
            timeout=120,
            umask=umask,
        )
        assert result.returncode == 0, result.stderr
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_csv_files_start_with_a_byte_order_mark_and_the_workbook_names_itself(tmp_path):
    import io

    from openpyxl import load_workbook

    from reports.exports import backlog_csv, requirements_csv, workbook_xlsx

    report = example_report(copy_examples(tmp_path / "examples"))
    for text in (requirements_csv(report), backlog_csv(report)):
        assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")  # Excel then reads the file as UTF-8
        assert text.removeprefix("\ufeff").startswith(("domain_id,", "requirement_id,")), text[:40]
    properties = load_workbook(io.BytesIO(workbook_xlsx(report))).properties
    assert properties.title == "Payments platform: DevOps Delivery Maturity (example) 2026.1"
    assert properties.creator == "assessment"


def test_a_bundle_written_before_the_byte_order_mark_still_verifies(unpacked, tmp_path):
    folder = Path(shutil.copytree(unpacked, tmp_path / "copy"))
    manifest = folder / "manifest.csv"
    assert manifest.read_bytes().startswith(b"\xef\xbb\xbf")
    manifest.write_bytes(manifest.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    assert verify_bundle(zip_again(folder, tmp_path / "again.zip")) == []


# --- the JSON Schema, checked by ajv in strict mode -----------------------------------------------------

AJV_CHECK = Path(__file__).resolve().parents[1] / "tools" / "ajv_check.js"
AJV_MODULES = Path(__file__).resolve().parents[2] / ".ci" / "node" / "node_modules"


def ajv(schema: Path, *documents: Path) -> subprocess.CompletedProcess:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the JSON Schema is not checked with ajv (apt-get install nodejs npm)")
    if not (AJV_MODULES / "ajv").is_dir():
        pytest.skip(f"ajv is not installed in {AJV_MODULES.parent} (make test installs it with npm)")
    return subprocess.run(
        ["node", str(AJV_CHECK), str(schema), *map(str, documents)], capture_output=True, text=True, timeout=120
    )


def test_the_published_schema_has_an_id_and_passes_ajv_strict_with_every_shipped_framework(tmp_path):
    import json

    from assessment.domain.yamlread import parse_yaml
    from tests.conftest import EXAMPLES, LIBRARY, ROOT

    schema = ROOT / "schema" / "framework.schema.json"
    assert json.loads(schema.read_text())["$id"].startswith("urn:")
    documents = []
    for path in [*sorted(LIBRARY.glob("*.yaml")), *sorted(EXAMPLES.glob("*.yaml"))]:
        if ".answers." in path.name:
            continue
        documents.append(tmp_path / f"{path.stem}.json")
        documents[-1].write_text(json.dumps(parse_yaml(path.read_text(), path.name)))
    result = ajv(schema, *documents)
    assert result.returncode == 0, result.stderr
    assert f"compiled in strict mode; {len(documents)} document(s) checked" in result.stdout
    compliance = json.loads(documents[0].read_text())
    compliance["kind"] = "compliance" if compliance["kind"] == "maturity" else "maturity"
    (tmp_path / "wrong.json").write_text(json.dumps(compliance))
    assert ajv(schema, tmp_path / "wrong.json").returncode == 1
