"""The report commands' cover facts (issue 13, point 3): --prepared-by, --organisation, --period-start and
--confidentiality, their defaults and their errors, run as the installed console script."""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import shutil
import subprocess

import pytest

from tests.conftest import EXAMPLES
from tests.unit.test_cli import run

pytestmark = [
    pytest.mark.slow,  # a console-script process per test
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"),
]


@pytest.fixture
def devops(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    return tmp_path / "ex" / "devops-delivery.yaml", tmp_path / "ex" / "devops-delivery.answers.yaml"


def pages(pdf) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def author(pdf) -> str:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return re.search(r"^Author:\s*(.*)$", info, re.M).group(1)


def test_without_options_the_cover_has_the_defaults_and_the_author_is_not_empty(devops, tmp_path):
    framework, _ = devops
    pdf = tmp_path / "r.pdf"
    result = run("report", *devops, "-o", pdf)
    assert result.returncode == 0, result.stderr
    text = pages(pdf)
    cover = text[0]
    assert re.search(r"Prepared by\s+not stated", cover) and author(pdf) == "not stated"
    assert "2026-08-23 to 2026-11-21 (as of 2026-11-21)" in cover  # 90 days up to the answers' as-of date
    assert f"SHA-256 {hashlib.sha256(framework.read_bytes()).hexdigest()}" in cover
    assert f"by assessment {importlib.metadata.version('assessment')}" in cover
    assert "Organisation" not in cover
    assert all("CONFIDENTIAL" in page for page in text)
    assert not any("DRAFT" in page for page in text)  # an answers file is no draft of the application's


def test_the_options_reach_the_cover_every_page_and_the_author(devops, tmp_path):
    pdf = tmp_path / "r.pdf"
    result = run(
        "report", *devops, "-o", pdf, "--prepared-by", "Dana Scully", "--organisation", "Example Bank AG",
        "--period-start", "2026-10-01", "--confidentiality", "Internal",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = pages(pdf)
    assert re.search(r"Prepared by\s+Dana Scully", text[0]) and author(pdf) == "Dana Scully"
    assert re.search(r"Organisation\s+Example Bank AG", text[0])
    assert "2026-10-01 to 2026-11-21 (as of 2026-11-21)" in text[0]
    assert all("INTERNAL" in page for page in text) and not any("CONFIDENTIAL" in page for page in text)
    signoff = next(p for p in text if "Sign-off" in p and "Signature" in p)
    assert re.search(r"Prepared by\s+Dana Scully", signoff)
    bundle = tmp_path / "b.zip"
    result = run("bundle", *devops, "-o", bundle, "--organisation", "Example Bank AG", "--period-start", "2026-10-01")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--period-start", "2026-11-22"), "after its as-of date 2026-11-21"),
        (("--period-start", "2026-13-01"), "is not a date YYYY-MM-DD"),
        (("--period-start", "2026-11-22", "--as-of", "2026-12-31"), None),  # fine: as-of moved too
        (("--organisation", "  "), "must not be empty"),
        (("--confidentiality", ""), "must not be empty"),
        (("--prepared-by", ""), "must not be empty"),
    ],
)
@pytest.mark.parametrize("command", ["report", "bundle"])
def test_bad_options_are_clear_errors_and_write_nothing(devops, tmp_path, command, args, message):
    out = tmp_path / "out.file"
    result = run(command, *devops, "-o", out, *args)
    if message is None:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert message in result.stderr and result.stdout == ""
    assert not out.exists()
