"""The rendering workers: real processes, real WeasyPrint, real PDFs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assessment.launch import renders_pdf
from reports import pool
from reports.render import CHUNK_ROWS, Part, _groups

pytestmark = pytest.mark.slow  # rendering worker processes

ROOT = Path(__file__).resolve().parents[2]


def page(text: str) -> str:
    return f'<!doctype html><html><head><link rel="stylesheet" href="report.css"></head><body><p id="p">{text}</p></body></html>'


def test_documents_come_back_in_order_from_two_workers():
    workers = pool.Pool(size=2)
    try:
        results = workers.render([page(f"document {n}") + "<p>x</p>" * (50 * n) for n in range(4)])
        assert [r.pages for r in results] == sorted(r.pages for r in results)  # longer documents, more pages
        assert all(r.pdf.startswith(b"%PDF") and r.anchors == {"p": 0} for r in results)
        assert len({w.pid for w in workers._workers}) == 2  # both rendered
        # one process was started: the second worker was forked from it once WeasyPrint was loaded
        started = [w.process for w in workers._workers if w.process is not None]
        assert len(started) == 1 and started[0].args[-3] == "--fork"
    finally:
        workers.close()


def _gone(pid: int, seconds: float = 10) -> bool:
    """Whether a process (not necessarily our child) has ended within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_forked_worker_that_dies_is_replaced_and_closing_stops_every_worker():
    workers = pool.Pool(size=2)
    try:
        workers.render([page("one"), page("two") + "<p>x</p>" * 100])
        forked = next(w for w in workers._workers if w.process is None)
        assert forked.alive and forked.pid != os.getpid()
        os.kill(forked.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while forked.alive and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not forked.alive
        results = workers.render([page("three"), page("four") + "<p>x</p>" * 100])
        assert results[0].pages == 1 and results[1].pages > 1
        assert forked not in workers._workers and len(workers._workers) == 2
        pids = {w.pid for w in workers._workers}
        assert len(pids) == 2 and forked.pid not in pids
    finally:
        workers.close()
    assert all(_gone(pid) for pid in pids)


def test_closing_before_the_fork_leaves_no_process_behind():
    workers = pool.Pool(size=2)
    workers.warm()
    zygote = next(w for w in workers._workers if w.process is not None).process
    workers.close()  # at once, while the first worker is still importing WeasyPrint
    assert zygote.poll() is not None
    # a second worker forked after its input was closed finds its own input closed as well, and leaves
    children = subprocess.run(["pgrep", "-g", str(zygote.pid)], capture_output=True, text=True).stdout.split()
    assert all(_gone(int(pid)) for pid in children)


def test_a_failed_document_is_reported_and_the_worker_serves_the_next(tmp_path):
    (worker,) = pool._Worker.start(1)
    try:
        with pytest.raises(pool.WorkerFailed, match="FileNotFoundError"):
            worker.render(tmp_path / "missing.html")
        good = tmp_path / "good.html"
        good.write_text(page("fine"))
        assert worker.render(good).pages == 1 and not Path(f"{good}.pdf").exists()
    finally:
        worker.close()


def test_a_dead_worker_is_reported_and_replaced(tmp_path):
    workers = pool.Pool(size=1)
    try:
        workers.render([page("one")])
        first = workers._workers[0]
        first.process.kill()
        first.process.wait()
        path = tmp_path / "p.html"
        path.write_text(page("two"))
        with pytest.raises(pool.WorkerFailed, match="stopped"):
            first.render(path)
        assert workers.render([page("three")])[0].pages == 1  # a new worker took its place
        assert workers._workers[0].process.pid != first.process.pid
    finally:
        workers.close()


def test_idle_workers_stop():
    workers = pool.Pool(size=1, idle_seconds=0.2)
    workers.render([page("one")])
    process = workers._workers[0].process
    deadline = time.monotonic() + 10
    # the process ends first, then the idle timer drops it from the pool: wait for both (CI once saw the gap)
    while (process.poll() is None or workers._workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.poll() is not None and workers._workers == []


def test_the_process_asking_for_a_pdf_never_imports_weasyprint(tmp_path):
    script = (
        "import sys; from pathlib import Path\n"
        "from reports.sources import report_from_files\n"
        "from reports.render import render_pdf\n"
        "ex = Path(sys.argv[1])\n"
        "pdf = render_pdf(report_from_files(ex / 'devops-delivery.yaml', ex / 'devops-delivery.answers.yaml'))\n"
        "assert pdf.startswith(b'%PDF') and 'weasyprint' not in sys.modules, sorted(sys.modules)\n"
    )
    examples = ROOT.parent / "shared" / "spec" / "examples"
    if not examples.is_dir():
        pytest.skip("../shared/spec/examples is absent")
    subprocess.run([sys.executable, "-c", script, str(examples)], cwd=ROOT, check=True, timeout=120)


def test_a_mid_size_report_is_cut_in_two_halves_between_parts():
    parts = [Part("cover"), Part("summary"), Part("detail", items=list(range(60))), Part("evidence", items=list(range(60))),
             Part("gaps", items=list(range(45))), Part("closing")]  # fmt: skip
    weights = {0: 10, 1: 30, 2: 120, 3: 60, 4: 50, 5: 20}
    groups = _groups(parts, list(range(6)), weights, parallel=True)
    assert groups == [[0, 1, 2], [3, 4, 5]]  # 160 against 130: the most even cut between parts
    assert _groups(parts, list(range(6)), weights, parallel=False) == [list(range(6))]
    large = [Part("detail", items=list(range(CHUNK_ROWS))) for _ in range(6)]
    assert _groups(large, list(range(6)), dict.fromkeys(range(6), 1), parallel=True) == [[0, 1], [2, 3], [4, 5]]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["report", "f.yaml", "a.yaml", "-o", "r.pdf"], True),
        (["report", "f.yaml", "a.yaml", "-o", "r.pdf", "--format", "pdf"], True),
        (["report", "f.yaml", "a.yaml", "-o", "r.html", "--format", "html"], False),
        (["report", "f.yaml", "a.yaml", "-o", "r.html", "--format=html"], False),
        (["bundle", "f.yaml", "a.yaml", "-o", "b.zip"], True),
        (["report", "--help"], False),
        (["score", "f.yaml", "a.yaml"], False),
        ([], False),
    ],
)
def test_the_command_starts_workers_only_when_it_renders_a_pdf(args, expected):
    assert renders_pdf(args) is expected


IMPORT_PROBE = """
import ctypes.util, sys
calls = []
search = ctypes.util.find_library
ctypes.util.find_library = lambda name: calls.append(name) or search(name)
{setup}
from reports.worker import import_weasyprint
import_weasyprint()
from weasyprint.text.ffi import pango
print(len(calls), pango.pango_version())
"""


def test_a_worker_imports_weasyprint_without_searching_for_libraries():
    # Left to itself, cffi runs ldconfig or gcc for each of some twenty library names (a third of the import).
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE.format(setup="")], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "0" and int(out[1]) > 0


def test_where_sonames_do_not_open_the_ordinary_search_is_used_and_stdout_stays_clean():
    # A system whose libraries open only through the search: every direct name with ".so" in it fails.
    setup = """
import cffi.api
load = cffi.api._load_backend_lib
def refuse_sonames(backend, name, flags):
    if isinstance(name, str) and ".so" in name:
        raise OSError("no such file: " + name)
    return load(backend, name, flags)
cffi.api._load_backend_lib = refuse_sonames
"""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE.format(setup=setup)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    calls, version = done.stdout.split()  # nothing but the probe's own line reached stdout
    assert int(calls) > 0 and int(version) > 0


def test_a_worker_stuck_on_a_document_is_stopped_and_replaced():
    workers = pool.Pool(size=1, document_seconds=0.5)
    try:
        workers.warm()
        stuck = workers._workers[0].process
        with pytest.raises(pool.WorkerFailed, match=r"took longer than 0.5 s on one document"):
            workers.render([page("long") + "<p>x</p>" * 30000])
        assert stuck.wait(timeout=10) is not None
        workers.document_seconds = 60
        assert workers.render([page("next")])[0].pages == 1  # a new worker took its place
        assert workers._workers[0].process is not stuck
    finally:
        workers.close()


def test_a_render_over_its_time_limit_is_stopped_inside_the_step_and_the_next_render_gets_new_workers():
    workers = pool.Pool(size=2)
    try:
        workers.warm()
        first = workers._workers[0].process
        heavy = [page(f"long {n}") + "<p>x</p>" * 30000 for n in range(3)]  # several seconds of layout each
        started = time.monotonic()
        with pool.time_limit(1.0), pytest.raises(pool.TimeLimitReached, match=r"time limit of 1 s ran out"):
            workers.render(heavy)
        assert time.monotonic() - started < 6  # stopped at the limit, not after the documents
        assert first.wait(timeout=10) is not None  # the workers busy with it were killed
        assert workers.render([page("next")])[0].pages == 1  # and new ones serve the next render
        assert workers._workers[0].process is not first
    finally:
        workers.close()


def test_a_render_whose_time_limit_has_already_run_out_starts_nothing():
    workers = pool.Pool(size=1)
    try:
        with pool.time_limit(0), pytest.raises(pool.TimeLimitReached):
            workers.render([page("too late")])
        assert workers._workers == []
        with pool.time_limit(None):
            assert workers.render([page("no limit")])[0].pages == 1
    finally:
        workers.close()
