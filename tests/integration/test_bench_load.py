"""bench/bench_load.py works: a short run with a few simulated people prepares its instance, serves it through
`assessment run`, drives it with locust and prints its figures with no error. (The figures themselves are the
benchmark's business, quoted from full runs, never asserted by a test.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a server and a locust process

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_load_run_serves_every_kind_of_person_without_an_error(tmp_path):
    # Never import locust here: it monkey-patches the whole process for gevent, and the threads of the tests
    # after this one (the readiness checks' among them) then hang. The script runs it in a process of its own.
    if not Path(sys.executable).with_name("locust").exists():
        pytest.skip("locust drives the load benchmark (the test extras install it)")
    figures = tmp_path / "runs.json"
    # bench/app.py empties $DATABASE_URL's schema: the script gets a SQLite file of its own, never the suite's database
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL"}}
    done = subprocess.run(
        [sys.executable, "bench/bench_load.py", "--users", "6", "--seconds", "6", "--throughput-seconds", "3"]
        + ["--runs", "1", "--workers", "1", "--requirements", "120", "--think", "0.2,0.5", "--json", str(figures)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "1 worker(s): errors 0;" in done.stdout, done.stdout
    (run,) = json.loads(figures.read_text())
    routes = run["latency"]["by_route"]
    # the three kinds of person each did something of their own
    assert {"save answer", "results"} <= set(routes), routes
    assert run["latency"]["errors"] == 0 and run["throughput_errors"] == 0, run
    assert 0 < run["worker_rss_mb"] < 1000, run
