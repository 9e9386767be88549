"""Benchmark of delivery events sent through the API: 100,000 generated events in batches of 10,000.

Target (issue 17): the whole set stored in under 30 s, end to end. The instance is prepared as
bench_api.py prepares its own (a migrated database, a scope, a team member with a token), then served by
`assessment run` (gunicorn, as `make run` serves it) on a free loopback port; the time is the client's,
from the first batch sent to the last one answered, over a kept-alive connection, JSON encoding included.
Each batch ends where a deployment's events do (a gate names its deployment, which follows it), so every
batch's references are stored already or in the batch. The set is then sent again, which must add nothing,
and timed too. The CPU yardstick (bench_dora.py's) is printed beside, since this machine's speed drifts.

Run: `.venv/bin/python bench/bench_ingest.py`; a short check of the script: `--events 5000 --batch 1000`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_dora import yardstick  # noqa: E402
from bench.bench_engine import machine  # noqa: E402
from bench.bench_load import Server  # noqa: E402
from bench.delivery_events import generate  # noqa: E402

TARGET_SECONDS = 30.0


def prepare(tmp: Path) -> dict:
    """A new instance in `tmp`: one scope and a member of its team with a token."""
    from assessment.extensions import db
    from assessment.models import Scope
    from assessment.services import accounts, review, tokens
    from bench.app import fresh_app

    app, url = fresh_app(str(tmp))
    with app.app_context():
        scope = Scope(name="Bench", kind="team")
        db.session.add(scope)
        db.session.flush()
        member = accounts.create_user("bench", "Bench", "member", "bench-password")
        review.add_member(scope, "bench")
        _, secret = tokens.create(member, "bench")
        db.session.commit()
        plan = {"scope": scope.id, "token": secret, "database_url": url}
    with app.app_context():
        db.engine.dispose()
    return plan


def batches(events: list[dict], size: int) -> list[list[dict]]:
    """The events in batches of at most `size`, each cut before a change (where a deployment's events begin)."""
    found, current = [], []
    for index, event in enumerate(events):
        current.append(event)
        following = events[index + 1] if index + 1 < len(events) else None
        if following is None or (len(current) > size - 64 and following["type"] == "change"):
            found.append(current)
            current = []
    assert all(len(b) <= size for b in found), "a deployment's events did not fit in the last 64 of a batch"
    return found


def send(http, url: str, parts: list[list[dict]], expected_status: int) -> tuple[float, dict]:
    totals = {"added": 0, "unchanged": 0, "resolved": 0}
    start = time.perf_counter()
    for part in parts:
        response = http.post(url, json={"events": part}, timeout=300)
        assert response.status_code == expected_status, response.text[:1000]
        for key in totals:
            totals[key] += response.json()[key]
    return time.perf_counter() - start, totals


def main() -> int:
    import requests

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    events = list(generate(args.events))
    parts = batches(events, args.batch)
    with tempfile.TemporaryDirectory() as tmp:
        plan = prepare(Path(tmp))
        os.environ.setdefault("ASSESSMENT_API_RATE_LIMIT", "100000/minute")
        server = Server(Path(tmp), plan["database_url"], 1)
        try:
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {plan['token']}"
            url = f"{server.url}/api/v1/scopes/{plan['scope']}/events"
            first, added = send(http, url, parts, 201)
            again, repeated = send(http, url, parts, 200)
        finally:
            server.stop()
    cpu = yardstick()
    assert added["added"] == len(events) and repeated["unchanged"] == len(events), (added, repeated)
    print(f"machine: {machine()}")
    print(f"yardstick: sum(i*i for i in range(10**7)) in {cpu:.2f} s")
    print(f"database: {plan['database_url'].split(':', 1)[0]}; {len(events):,} events in {len(parts)} batches")
    print(f"stored: {first:.2f} s ({len(events) / first:,.0f} events/s; target under {TARGET_SECONDS:.0f} s)")
    print(f"sent again (nothing added): {again:.2f} s ({len(events) / again:,.0f} events/s)")
    return 0 if first < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
