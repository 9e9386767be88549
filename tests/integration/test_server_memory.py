"""A serving application freezes what lives as long as it once its first request is done, so the
collector's full passes skip it (they paused large pages by about 90 ms every few requests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a Python process per test

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, sys
from assessment import create_app
for testing in (True, False):
    app = create_app({"INSTANCE_PATH": f"{sys.argv[1]}/{testing}", "TESTING": testing})
    client = app.test_client()
    before = gc.get_freeze_count()
    status = client.get("/login").status_code
    after_first = gc.get_freeze_count()
    client.get("/login")
    print(testing, status, after_first > before, gc.get_freeze_count() == after_first)
"""


def test_a_server_freezes_its_long_lived_objects_once_after_its_first_request(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "True 200 False True"  # tests build many applications: none is frozen
    assert out[1] == "False 200 True True"  # a server: frozen after the first request, and only then


LAZY = """
import sys
from assessment import create_app
app = create_app({"INSTANCE_PATH": sys.argv[1]})
client = app.test_client()
print(client.get("/login").status_code, client.get("/healthz").status_code)
print(" ".join(sorted(m for m in ("openpyxl", "authlib", "requests") if m in sys.modules)) or "none")
"""


def test_a_server_loads_spreadsheets_and_single_sign_on_only_when_they_are_used(tmp_path):
    # openpyxl (~8 MB) and Authlib with requests (~17 MB) would sit in every web worker for the few
    # requests that write a workbook or sign someone in with a provider.
    out = subprocess.run(
        [sys.executable, "-c", LAZY, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "200 200"
    assert out[1] == "none"


UNUSED = """
import sys
from assessment import create_app
app = create_app({"INSTANCE_PATH": sys.argv[1]})
client = app.test_client()
print(client.get("/login").status_code, client.get("/readyz").status_code)  # /readyz writes to the queue
print("huey" in sys.modules)
print(" ".join(sorted(m for m in ("alembic", "flask_migrate", "psycopg", "gevent") if m in sys.modules)) or "none")
"""


def test_a_server_on_sqlite_and_the_embedded_queue_loads_no_migrations_postgres_or_gevent(tmp_path):
    # Alembic with Flask-Migrate (~15 MB) serve no request; huey imports psycopg and gevent whenever they are
    # installed (~12 MB), though its storage here is SQLite or Redis and its workers threads.
    out = subprocess.run(
        [sys.executable, "-c", UNUSED, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")},
    ).stdout.split("\n")
    assert out[0] == "200 200" and out[1] == "True"
    assert out[2] == "none"


ARENAS = "from assessment import serving; print(serving.limit_malloc_arenas())"


def _arenas_capped(**environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | environment
    return subprocess.run(
        [sys.executable, "-c", ARENAS], cwd=ROOT, capture_output=True, text=True, check=True, env=env
    ).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_server_caps_malloc_arenas_unless_whoever_started_it_chose():
    assert _arenas_capped() == "True"
    assert _arenas_capped(MALLOC_ARENA_MAX="4") == "False"


HASHES = """
import sys, threading
from assessment import serving
from assessment.services import accounts

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024

if sys.argv[1] == "serving":
    serving.limit_malloc_arenas()
    print(serving.fix_mmap_threshold())
else:
    print(None)
before = rss()
for _ in range(3):  # sign-ins two at a time, as a worker's two threads take them
    threads = [threading.Thread(target=accounts._hasher.hash, args=("a password",)) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
print(round(rss() - before))
"""


def _growth_after_hashes(how: str, **environment: str) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k not in ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_")}
    out = subprocess.run(
        [sys.executable, "-c", HASHES, how], cwd=ROOT, capture_output=True, text=True, check=True, env=env | environment
    ).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_server_gives_back_the_memory_of_each_password_hash():
    # Argon2id takes 19 MiB a hash. Left to glibc's sliding threshold, these came from the heap after the first
    # one and stayed there: about 40 MB a worker for good. Mapped on their own, they go back when freed.
    applied, growth = _growth_after_hashes("serving")
    assert applied == "True" and growth < 8, growth
    _, unfixed = _growth_after_hashes("plain")
    assert unfixed > growth  # what it would cost without (about 38 MB here), so the probe measures something
    assert _growth_after_hashes("serving", MALLOC_MMAP_THRESHOLD_="65536")[0] == "False"  # their choice stands


PEAK = """
import threading
from assessment import serving
from assessment.services import accounts

def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024

serving.limit_malloc_arenas()
serving.fix_mmap_threshold()
stored = accounts._hash("a password")  # one hash's memory is in the peak from here on
before = peak()
work = [lambda: accounts._hash("a password"), lambda: accounts._verify(stored, "a password")] * 2
threads = [threading.Thread(target=job) for job in work]  # four sign-ins and password changes at once
[t.start() for t in threads]
[t.join() for t in threads]
print(round(peak() - before))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/status")
def test_a_process_hashes_one_password_at_a_time_so_its_peak_holds_one_hash():
    # Each Argon2id hash or verification holds 19 MiB while it runs: four at once would raise the peak by
    # about 57 MB; one at a time, not at all.
    env = {k: v for k, v in os.environ.items() if k not in ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_")}
    growth = subprocess.run(
        [sys.executable, "-c", PEAK], cwd=ROOT, capture_output=True, text=True, check=True, env=env
    ).stdout.strip()
    assert int(growth) < 8, growth
