"""Benchmark of the program dashboard and a scope's trend page at program scale.

Generates 200 scopes × 5 cycles × 300 requirements (300,000 answers), with evidence expiring
around today and backlog items with due dates, then times GET /dashboard and GET
/scopes/<id>/trends through the real WSGI app in-process (server time, signed in as a program
lead). Target (issue 6): each under 300 ms median on PostgreSQL.

Score snapshots are computed once after loading (as the first visit of each page would);
the figures are for pages whose snapshots are current, and the first, cold dashboard is
reported apart.

Run: `bin/with-postgres .venv/bin/python bench/bench_dashboard.py` (uses $DATABASE_URL), or
without it on a SQLite file. `--scopes 20` makes a smaller run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text  # noqa: E402

from assessment.domain.loader import load_framework_text  # noqa: E402
from assessment.extensions import db  # noqa: E402
from assessment.models import Answer, Assessment, BacklogItem, Evidence, EvidenceLink, Scope  # noqa: E402
from assessment.services.library import framework_of, store_framework  # noqa: E402
from bench.app import fresh_app  # noqa: E402
from bench.bench_engine import machine  # noqa: E402
from bench.generate import framework_yaml  # noqa: E402

CYCLE_DAYS = 91


def load(scopes: int, cycles: int, requirements: int) -> tuple[str, int]:
    """Insert the generated program; returns the framework id and one scope id."""
    rng = random.Random(20261122)
    source = framework_yaml(requirements, per_domain=30)
    row, _ = store_framework(load_framework_text(source), source, "bench.yaml")
    framework = framework_of(row)
    requirement_ids = [r.id for r in framework.requirements]
    options = {r.id: [o.value for o in r.answer.options] for r in framework.requirements if not r.is_numeric}
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    db.session.execute(
        insert(Scope), [{"name": f"Team {n:03d}", "kind": "team", "created_at": now} for n in range(scopes)]
    )
    scope_ids = list(db.session.scalars(select(Scope.id).order_by(Scope.id)))
    for scope_id in scope_ids:
        previous = None
        skill = rng.random()
        stale = rng.random() < 0.1  # some teams stopped assessing a while ago
        for cycle in range(cycles):
            as_of = today - dt.timedelta(days=CYCLE_DAYS * (cycles - 1 - cycle) + (400 if stale else 3))
            assessment = Assessment(
                scope_id=scope_id,
                framework_version_id=row.id,
                target_level=3,
                as_of=as_of,
                status="approved" if cycle < cycles - 1 else "draft",
                previous_id=previous,
                created_at=now,
                updated_at=now,
            )
            db.session.add(assessment)
            db.session.flush()
            previous = assessment.id
            good = min(0.95, skill + 0.1 * cycle)
            answers = []
            for rid in requirement_ids:
                choices = options.get(rid)
                value = (choices[0] if rng.random() < good else choices[-1]) if choices else str(rng.randint(0, 10))
                answers.append(
                    {
                        "assessment_id": assessment.id,
                        "requirement_id": rid,
                        "value": value,
                        "note": None,
                        "answered_by": "bench",
                        "answered_at": now,
                        "revision": 1,
                        "carried_over": False,
                    }
                )
            db.session.execute(insert(Answer), answers)
        # evidence: a few items per scope on its latest cycle, expiring before and after the 30-day window
        for n in range(4):
            evidence = Evidence(
                scope_id=scope_id,
                title=f"Evidence {n}",
                url=f"https://wiki.example.com/{scope_id}/{n}",
                expires=today + dt.timedelta(days=rng.randint(-20, 90)),
                created_by="bench",
                created_at=now,
            )
            db.session.add(evidence)
            db.session.flush()
            db.session.add(
                EvidenceLink(assessment_id=previous, requirement_id=requirement_ids[n], evidence_id=evidence.id)
            )
        db.session.execute(
            insert(BacklogItem),
            [
                {
                    "scope_id": scope_id,
                    "framework_id": framework.id,
                    "requirement_id": rid,
                    "assessment_id": previous,
                    "title": f"Improve {rid}",
                    "priority": rng.randint(0, 100),
                    "status": rng.choice(["plan", "do", "check", "done"]),
                    "due_date": today + dt.timedelta(days=rng.randint(-60, 60)),
                    "created_at": now,
                    "updated_at": now,
                }
                for rid in requirement_ids[:20]
            ],
        )
    db.session.commit()
    return framework.id, scope_ids[0]


def timed(client, path: str, runs: int) -> list[float]:
    values = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        values.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scopes", type=int, default=200)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--requirements", type=int, default=300)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app, url = fresh_app(tmp)
        with app.app_context():
            from assessment.readmodels.snapshots import snapshots_of
            from assessment.services import accounts

            started = time.perf_counter()
            framework_id, scope_id = load(args.scopes, args.cycles, args.requirements)
            loaded = time.perf_counter() - started
            count = db.session.scalar(text("SELECT count(*) FROM answer"))
            accounts.create_user("lead", "Lead", "lead", "bench-password")
            db.session.commit()
        client = app.test_client()
        assert client.post("/login", data={"username": "lead", "password": "bench-password"}).status_code == 302
        dashboard = f"/dashboard?framework={framework_id}"
        cold = timed(client, dashboard, 1)[0]  # computes the latest cycles' snapshots
        with app.app_context():
            started = time.perf_counter()
            snapshots_of(list(db.session.scalars(select(Assessment))))
            db.session.commit()
            warmed = time.perf_counter() - started
        trend = f"/scopes/{scope_id}/trends?framework={framework_id}"
        timed(client, trend, 2)
        board = timed(client, dashboard, args.runs)
        trends = timed(client, trend, args.runs)
    backend = url.split(":", 1)[0].split("+")[0]
    print(f"machine: {machine()}")
    print(
        f"database: {backend}; {args.scopes} scopes × {args.cycles} cycles × {args.requirements} requirements "
        f"= {count:,} answers (loaded in {loaded:.1f} s; all snapshots in {warmed:.1f} s)"
    )
    print(f"first dashboard, computing {args.scopes} snapshots: {cold:.0f} ms")
    ok = True
    for label, values in (("dashboard", board), ("scope trend page", trends)):
        median = statistics.median(values)
        ok &= median < 300
        print(
            f"{label:20s} median {median:7.1f} ms   p95 {sorted(values)[int(0.95 * (len(values) - 1))]:7.1f} ms"
            f"   (target median < 300 ms, {len(values)} requests)"
        )
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
