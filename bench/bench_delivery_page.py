"""Benchmark of the delivery metrics pages on one scope of 100,000 generated events (20 services).

Target (issue 17), server time, p95: the overview and a service's page under 300 ms each. The events
are stored through `services.delivery.add_events` in batches, as the API stores them; the pages are then
requested through the real WSGI app in-process (Flask's test client), as bench_web.py does, by a member of
the scope's team. The first request of each page is timed on its own (cold: the events read and indexed,
the page built; the service page then reuses the indexed events), and the service page once more after
the cache is cleared; the other requests hit the read model's cache (one `scope_state` query and the rendering).

Run: `.venv/bin/python bench/bench_delivery_page.py` (SQLite), or on PostgreSQL:
`bin/with-postgres .venv/bin/python bench/bench_delivery_page.py` (uses $DATABASE_URL); a short check of
the script: `--events 5000 --runs 5`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assessment.extensions import db  # noqa: E402
from assessment.models import Scope  # noqa: E402
from assessment.readmodels.delivery_metrics import clear_cache  # noqa: E402
from assessment.services import accounts, delivery, review  # noqa: E402
from assessment.services.library import import_library  # noqa: E402
from bench.app import fresh_app  # noqa: E402
from bench.bench_dora import yardstick  # noqa: E402
from bench.bench_engine import machine  # noqa: E402
from bench.bench_ingest import batches  # noqa: E402
from bench.bench_web import percentile, timed  # noqa: E402
from bench.delivery_events import generate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 300
AS_OF = dt.date(2026, 12, 1)  # the generator's last day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--batch", type=int, default=delivery.MAX_BATCH_EVENTS)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    events = list(generate(args.events, services=args.services, end=AS_OF))
    with tempfile.TemporaryDirectory() as tmp:
        app, url = fresh_app(tmp)
        start = time.perf_counter()
        with app.app_context():
            import_library(ROOT / "frameworks")  # the DevOps framework names the bands
            scope = Scope(name="Bench", kind="team")
            db.session.add(scope)
            db.session.flush()
            accounts.create_user("bench", "Bench", "member", "bench-password")
            review.add_member(scope, "bench")
            for number, part in enumerate(batches(events, args.batch), 1):
                items = [(f"batch {number}", line, event) for line, event in enumerate(part, 1)]
                delivery.add_events(scope, items, source="api", actor="bench")
            db.session.commit()
            scope_id = scope.id
            stored, _largest = delivery.scope_state(scope_id)
            service = delivery.services_of(scope_id)[0]
        stored_in = time.perf_counter() - start
        client = app.test_client()
        signed_in = client.post("/login", data={"username": "bench", "password": "bench-password"})
        assert signed_in.status_code == 302, signed_in.get_data(as_text=True)

        pages = {
            "overview": f"/scopes/{scope_id}/delivery?as_of={AS_OF}",
            f"service page ({service})": f"/scopes/{scope_id}/delivery/{service}?as_of={AS_OF}",
        }
        results = {}
        for label, path in pages.items():

            def get(_i: int, path: str = path) -> None:
                response = client.get(path)
                assert response.status_code == 200, response.get_data(as_text=True)[:500]

            cold = timed(get, 1)[0]
            results[label] = (cold, timed(get, args.runs - 1))
        clear_cache()  # the service page alone on cold data: its events read and indexed too
        alone = timed(lambda _i: client.get(pages[f"service page ({service})"]), 1)[0]

    backend = url.split(":", 1)[0]
    print(f"machine: {machine()}; yardstick {yardstick():.2f} s")
    print(f"database: {backend}; {stored:,} events stored ({args.services} services) in {stored_in:.1f} s")
    ok = True
    for label, (cold, values) in results.items():
        p95 = percentile(values, 0.95)
        ok &= p95 < TARGET_MS
        print(
            f"{label:28s} cold {cold:7.1f} ms   median {statistics.median(values):7.1f} ms   p95 {p95:7.1f} ms   "
            f"(target p95 < {TARGET_MS} ms, {len(values)} requests after the first)"
        )
    print(f"service page cold with nothing cached (events read and indexed): {alone:.1f} ms")
    print(f"yardstick after the run: {yardstick():.2f} s")
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
