"""Memory given back after a report: by the rendering workers and by the process that merged it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reports import pool

ROOT = Path(__file__).resolve().parents[2]


def _status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (the peak) of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) // 1024
    return fields


pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")


def test_memory_freed_in_a_thread_goes_back_to_the_system():
    # In a process of its own: in the test runner other threads share and fragment the arenas.
    script = (
        "import threading\n"
        "from reports.memory import give_back\n"
        "from tests.unit.test_report_memory import _status\n"
        "def allocate_and_free():\n"
        "    chunks = [bytearray(2000) for _ in range(100_000)]  # 200 MB in small blocks, in a thread's arena\n"
        # one block in fifty stays (2 MB, kept to the end): glibc cannot cut the freed rest off the heap's top by
        # itself, as it sometimes did when all went, so only malloc_trim gives it back
        "    kept.extend(chunks[::50] + chunks[-1:])\n"
        "    del chunks\n"
        "kept = []\n"
        "worker = threading.Thread(target=allocate_and_free)\n"
        "worker.start()\n"
        "worker.join()\n"
        "before = _status()['VmRSS']\n"
        "assert give_back() is True\n"
        "after = _status()['VmRSS']\n"
        "print(before, after)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    before, after = (int(n) for n in done.stdout.split())
    assert after < before - 100, (before, after)  # without malloc_trim the freed blocks stay resident


@pytest.mark.slow  # a rendering worker
def test_a_worker_gives_back_its_largest_documents_memory():
    rows = "".join(f"<tr><td>row {n}</td><td>{'text ' * 12}</td></tr>" for n in range(1500))
    html = f'<!doctype html><html><head><link rel="stylesheet" href="report.css"></head><body><table>{rows}</table></body></html>'
    workers = pool.Pool(size=1)
    try:
        workers.render([html])
        workers.render(["<!doctype html><html><body><p>small</p></body></html>"])
        worker = _status(workers._workers[0].pid)
        # measured: 172 MB at the peak, 79 MB after giving back, 114 MB with only a garbage collection
        assert worker["VmRSS"] < worker["VmHWM"] - 75, worker
    finally:
        workers.close()
