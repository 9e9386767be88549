"""Benchmark of signing in: the whole POST /login request, and the Argon2id verification inside it.

Target (issue 14): a sign-in under 300 ms on this machine, with a hash no weaker than OWASP's
Argon2id minimum (m=19 MiB, t=2, p=1 or an equivalent trade-off). Requests go through the real
WSGI app in-process (Flask's test client) on a migrated database with the production hasher (the
instance's PASSWORD_* settings, or the ones given here), so the figures are server time without
the network. The yardstick `sum(i*i for i in range(10**7))` of the same run says how busy the
machine was.

Run: `.venv/bin/python bench/bench_signin.py` (SQLite), or on PostgreSQL:
`bin/with-postgres .venv/bin/python bench/bench_signin.py` (uses $DATABASE_URL).
Compare with the old profile: `--time-cost 3 --memory-kib 65536 --parallelism 4`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assessment.extensions import db  # noqa: E402
from assessment.services import accounts, audit  # noqa: E402
from bench.app import fresh_app  # noqa: E402
from bench.bench_engine import machine  # noqa: E402

PASSWORD = "bench-password-123"


def yardstick() -> float:
    """Seconds for the fixed pure-Python loop every benchmark of this project prints."""
    start = time.perf_counter()
    sum(i * i for i in range(10**7))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--time-cost", type=int)
    parser.add_argument("--memory-kib", type=int)
    parser.add_argument("--parallelism", type=int)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app, url = fresh_app(tmp)
        if args.time_cost or args.memory_kib or args.parallelism:
            accounts.configure_hasher(args.time_cost, args.memory_kib, args.parallelism)
        hasher = accounts.hasher()
        with app.app_context(), audit.acting_as("bench"):
            accounts.create_user("bench", "Bench", "member", PASSWORD)
            db.session.commit()
            stored = accounts.find_user("bench").password_hash
        form = {"username": "bench", "password": PASSWORD, "next": "/"}
        app.test_client().post("/login", data=form)  # warm-up: templates, the trail key, connections
        requests, hashes = [], []
        for _ in range(args.runs):
            client = app.test_client()  # a browser without cookies, as at a first sign-in
            start = time.perf_counter()
            response = client.post("/login", data=form)
            requests.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 302, response.status_code
            start = time.perf_counter()
            hasher.verify(stored, PASSWORD)
            hashes.append((time.perf_counter() - start) * 1000)
        ruler = yardstick()
    print(f"machine: {machine()}")
    print(f"database: {url.split(':', 1)[0]}")
    print(f"Argon2id: t={hasher.time_cost} m={hasher.memory_cost} KiB p={hasher.parallelism}")
    print(f"sign-in request (POST /login), median of {args.runs}: {statistics.median(requests):.1f} ms")
    print(f"  slowest: {max(requests):.1f} ms")
    print(f"Argon2id verification alone, median of {args.runs}: {statistics.median(hashes):.1f} ms")
    print(f"yardstick sum(i*i for i in range(10**7)): {ruler:.2f} s")


if __name__ == "__main__":
    main()
