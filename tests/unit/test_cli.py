"""The `assessment` command line, run as the installed console script in a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, LIBRARY

pytestmark = pytest.mark.slow  # a console-script process per test

SCRIPT = Path(sys.executable).with_name("assessment")


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `assessment ARGS` and capture its output."""
    return subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=60)


def assert_invalid(result: subprocess.CompletedProcess, *fragments: str, quiet: bool = True) -> None:
    """Exit 2, nothing on stdout, only FILE:LINE: PATH: message lines on stderr, no traceback."""
    assert result.returncode == 2, result
    assert result.stdout == "" or not quiet
    assert "Traceback" not in result.stderr
    for line in result.stderr.splitlines():
        assert line.count(":") >= 3, line
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.fixture
def devops(tmp_path) -> tuple[Path, Path]:
    """The devops example and its answers, copied with their evidence into tmp_path."""
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    return tmp_path / "ex" / "devops-delivery.yaml", tmp_path / "ex" / "devops-delivery.answers.yaml"


def test_console_script_is_installed():
    assert SCRIPT.exists()


def test_validate_the_shipped_library():
    result = run("validate", LIBRARY)
    assert result.returncode == 0, result.stderr
    assert "8 framework file(s) valid" in result.stdout


def test_validate_reports_every_error_of_every_file(tmp_path):
    (tmp_path / "a.yaml").write_text("id: A\nversion: 1\ntitle: t\nkind: compliance\ndomains: []\n")
    (tmp_path / "b.yml").write_text("id: [\n")
    (tmp_path / "ok.yaml").write_text((EXAMPLES / "itgc-mini.yaml").read_text())
    result = run("validate", tmp_path)
    assert_invalid(result, quiet=False)
    assert result.stdout.startswith(f"ok  {tmp_path / 'ok.yaml'}: itgc-mini 1.0")
    lines = result.stderr.splitlines()
    assert lines[3].startswith(f"{tmp_path / 'b.yml'}:2: $: not valid YAML: ")
    assert lines[:3] == [
        f"{tmp_path / 'a.yaml'}:1: id: 'A' is not a valid framework id: it must match ^[a-z0-9][a-z0-9-]{{0,62}}$",
        f'{tmp_path / "a.yaml"}:2: version: expected a string, got the number 1; quote it: "1"',
        f"{tmp_path / 'a.yaml'}:5: domains: expected at least 1 item(s), got 0",
    ]


def test_validate_an_empty_directory(tmp_path):
    assert_invalid(run("validate", tmp_path), "no framework files (*.yaml, *.yml) in this directory")


def test_validate_a_binary_file(tmp_path):
    (tmp_path / "x.yaml").write_bytes(bytes(range(256)) * 4)
    assert_invalid(run("validate", tmp_path / "x.yaml"), "a binary file, not UTF-8 YAML text")


def test_validate_a_non_utf8_file(tmp_path):
    (tmp_path / "x.yaml").write_bytes("title: \u00e9t\u00e9\n".encode("latin-1"))
    assert_invalid(run("validate", tmp_path / "x.yaml"), f"{tmp_path / 'x.yaml'}:1: $: not UTF-8 text")


def test_validate_a_file_over_5_mb(tmp_path):
    (tmp_path / "x.yaml").write_text("a: " + "b" * (5 * 1024 * 1024) + "\n")
    assert_invalid(run("validate", tmp_path / "x.yaml"), "the limit is 5,242,880 (5 MB)")


def test_validate_a_missing_path(tmp_path):
    assert_invalid(run("validate", tmp_path / "nope.yaml"), "no such file or directory")


def test_score_text_summary(devops):
    result = run("score", *devops)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Overall score: 56.3 / 100" in out
    assert "Level: 1 Initial    target 3 Defined: not reached" in out
    assert "CI   Continuous integration   87.5  level 1 Initial" in out
    assert "Gaps up to level 3: 4" in out
    assert "L3 OPS-01  Services have SLOs with error budgets  [not met, unsupported: no current evidence]" in out
    assert "-> Define an SLO and an error budget policy for each service." in out


def test_score_honours_as_of(devops):
    before = json.loads(run("score", *devops, "--format", "json").stdout)
    earlier = json.loads(run("score", *devops, "--format", "json", "--as-of", "2026-10-01").stdout)
    assert before["as_of"] == "2026-11-21" and earlier["as_of"] == "2026-10-01"
    ops = {r["id"]: r for r in earlier["requirements"]}["OPS-01"]
    assert (ops["status"], ops["unsupported"]) == ("met", False)  # the SLO evidence was still current
    assert earlier["overall"]["score"] > before["overall"]["score"]


def test_score_honours_target_level(devops):
    result = json.loads(run("score", *devops, "--format", "json", "--target-level", "2").stdout)
    assert result["overall"]["target_level"] == 2
    assert [g["id"] for g in result["gaps"]] == ["CI-02"]


def test_score_refuses_an_undefined_target_level(devops):
    assert_invalid(run("score", *devops, "--target-level", "9"), "level 9 is not defined; defined levels: 1, 2, 3, 4")


@pytest.mark.parametrize(
    ("gate", "code"),
    [
        (("--fail-under-score", "56"), 0),
        (("--fail-under-score", "56.26"), 3),
        (("--fail-under-level", "1"), 0),
        (("--fail-under-level", "2"), 3),
        (("--fail-under-score", "50", "--fail-under-level", "2"), 3),
    ],
)
def test_score_gates(devops, gate, code):
    result = run("score", *devops, "--format", "json", *gate)
    assert result.returncode == code, result.stderr
    json.loads(result.stdout)  # the result is still printed
    assert ("gate failed" in result.stderr) == (code == 3)


def test_null_score_fails_its_gate(tmp_path):
    fw = tmp_path / "fw.yaml"
    fw.write_text((EXAMPLES / "itgc-mini.yaml").read_text())
    answers = tmp_path / "a.yaml"
    answers.write_text('framework: itgc-mini\nversion: "1.0"\nanswers: {AC-01: na, AC-02: na, CM-01: na, CM-02: na}\n')
    result = run("score", fw, answers, "--fail-under-score", "0")
    assert result.returncode == 3
    assert "overall score n/a is below 0" in result.stderr


def test_score_answers_for_another_framework(devops):
    framework, _ = devops
    assert_invalid(
        run("score", framework, EXAMPLES / "itgc-mini.answers.yaml"),
        "framework: this answers file is for framework 'itgc-mini', not 'devops-delivery'",
    )


def test_score_invalid_answers_reports_all_and_prints_nothing(devops, tmp_path):
    framework, _ = devops
    answers = tmp_path / "bad.yaml"
    answers.write_text(
        'framework: devops-delivery\nversion: "2026.1"\nanswers:\n  CI-01: maybe\n  XX-1: yes\n  OPS-02: na\n'
    )
    result = run("score", framework, answers)
    assert_invalid(result)
    assert len(result.stderr.splitlines()) == 3


def test_score_invalid_framework(tmp_path):
    bad = tmp_path / "fw.yaml"
    bad.write_bytes(b"\xff\xfe binary")
    assert_invalid(run("score", bad, EXAMPLES / "itgc-mini.answers.yaml"), "not UTF-8 text")


def test_score_bad_date_is_a_usage_error(devops):
    result = run("score", *devops, "--as-of", "yesterday")
    assert result.returncode == 2 and "is not a date YYYY-MM-DD" in result.stderr and result.stdout == ""


def test_nothing_is_written(devops, tmp_path):
    before = sorted(p for p in tmp_path.rglob("*"))
    run("score", *devops)
    run("validate", devops[0])
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_frameworks_list():
    result = run("frameworks", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["ID", "VERSION", "KIND", "DOMAINS", "REQUIREMENTS"]
    row = next(line for line in lines if line.startswith("sox-itgc "))
    assert row.split()[:5] == ["sox-itgc", "2026.1", "compliance", "4", "44"]
    listed = json.loads(run("frameworks", "list", "--format", "json").stdout)
    assert len(listed) == 8 and {"id", "version", "kind", "domains", "requirements"} <= set(listed[0])


def test_frameworks_list_of_an_empty_library(tmp_path):
    assert_invalid(run("frameworks", "list", "--library", tmp_path), "no framework files")


def test_report_bundle_and_verify_bundle(devops, tmp_path):
    pdf = tmp_path / "out" / "report.pdf"
    pdf.parent.mkdir()
    result = run("report", *devops, "-o", pdf, "--prepared-by", "Dana")
    assert result.returncode == 0, result.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    html = tmp_path / "out" / "report.html"
    assert run("report", *devops, "-o", html, "--format", "html").returncode == 0
    assert "Evidence index" in html.read_text()
    bundle = tmp_path / "out" / "bundle.zip"
    result = run("bundle", *devops, "-o", bundle)
    assert result.returncode == 0, result.stderr
    assert run("verify-bundle", bundle).returncode == 0
    # change one byte of the evidence file inside the bundle
    import zipfile

    altered = tmp_path / "out" / "altered.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(altered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "evidence/E-001-pipeline.yml":
                data = bytes([data[0] ^ 1]) + data[1:]
            dst.writestr(info, data)
    result = run("verify-bundle", altered)
    assert result.returncode == 2
    assert "altered: evidence/E-001-pipeline.yml" in result.stderr


def test_file_commands_load_neither_flask_nor_sqlalchemy(devops, tmp_path):
    """A pipeline gating on a score pays only for the engine (and a report, for the renderer)."""
    environment = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    for args in (["score", *devops], ["validate", devops[0]], ["report", *devops, "-o", tmp_path / "r.pdf"]):
        result = subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60,
                                env=environment)  # fmt: skip
        assert result.returncode == 0, result.stderr
        modules = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time")}
        assert "assessment.domain.scoring" in modules or args[0] == "validate"
        assert not {m for m in modules if m.split(".")[0] in ("flask", "sqlalchemy", "werkzeug", "weasyprint")}, args


def test_a_renderer_that_cannot_start_is_an_error_message_not_a_trace(devops, tmp_path):
    broken = tmp_path / "broken" / "weasyprint"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise OSError('cannot load library pango-1.0')\n")
    out = tmp_path / "never.pdf"
    for command in ("report", "bundle"):
        result = subprocess.run([str(SCRIPT), command, *map(str, devops), "-o", str(out)], capture_output=True,
                                text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(broken.parent)})  # fmt: skip
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.strip() == (
            "Error: the report could not be rendered: a report rendering worker stopped: "
            "OSError: cannot load library pango-1.0"
        )
        assert not out.exists()


def test_report_of_invalid_input_writes_nothing(devops, tmp_path):
    framework, _ = devops
    out = tmp_path / "never.pdf"
    assert_invalid(run("report", framework, EXAMPLES / "itgc-mini.answers.yaml", "-o", out), "this answers file is for")
    assert_invalid(run("bundle", framework, EXAMPLES / "itgc-mini.answers.yaml", "-o", out), "this answers file is for")
    assert not out.exists() and not list(tmp_path.glob(".never*"))


def test_a_report_reads_the_framework_file_once(devops, tmp_path):
    probe = (
        "import sys\n"
        "import assessment.cli_files as cli, reports.sources as sources\n"
        "calls, read = [], cli.load_framework_file\n"
        "cli.load_framework_file = sources.load_framework_file = lambda path: calls.append(path) or read(path)\n"
        "try:\n"
        "    cli.files.main(sys.argv[1:], prog_name='assessment')\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "print(len(calls))\n"
    )
    out = tmp_path / "r.html"
    args = ["report", *map(str, devops), "-o", str(out), "--format", "html", "--target-level", "2"]
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "1" and out.exists()


def test_help_lists_every_command_without_building_the_application():
    probe = (
        "import sys\n"
        "sys.argv = ['assessment', '--help']\n"
        "from assessment.launch import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('built:', 'assessment.app' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "built: False"
    listed = {line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.startswith("  ")}
    assert {
        "db",
        "init",
        "users",
        "audit",
        "frameworks",
        "report",
        "bundle",
        "validate",
        "score",
        "run",
        "config",
    } <= listed


def test_a_file_command_ends_without_teardown_but_runs_its_exit_handlers_and_flushes(tmp_path):
    probe = (
        "import atexit, sys\n"
        "class Noisy:\n"
        "    def __del__(self):\n"
        "        sys.stderr.write('torn down\\n')\n"
        "kept = Noisy()\n"
        "atexit.register(lambda: sys.stderr.write('exit handler ran\\n'))\n"
        "sys.argv = ['assessment', 'schema']\n"
        "from assessment.launch import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout)["$schema"]  # the whole schema, flushed to a pipe
    assert "exit handler ran" in done.stderr and "torn down" not in done.stderr
    failed = subprocess.run([str(SCRIPT), "validate", str(tmp_path / "missing.yaml")], capture_output=True, text=True)
    assert failed.returncode == 2 and "missing.yaml" in failed.stderr  # exit codes are kept
