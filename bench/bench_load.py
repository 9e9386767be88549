"""Load benchmark: 50 simulated people on the 1,200-requirement framework, through the production server.

Targets (issue 15), at 50 simulated users on a 2-core machine, default `make run` (SQLite) and on the stack
(`bin/with-stack`: PostgreSQL, Redis, S3): 0 errors; p95 under 300 ms for pages and under 100 ms for saves;
throughput with two web workers at least 1.6 times that of one; under 150 MB resident memory per web worker.

Each run prepares a new instance (a migrated database, the generated framework, a fully answered assessment,
an account for every simulated person), starts `assessment run` on a free loopback port with WEB_CONCURRENCY
workers, and drives it with locust (headless, bounded in users and time; the people are in
bench/load_users.py) twice:

- the latency run: people arrive (sign in) at --arrival a second, 2 by default, then pause between steps as
  people do (--think, 2 to 8 s by default: a person reads a page or types an answer for longer than that);
  its p95 and p99 by route over the --seconds after the last arrival (and 5 s to settle) are the figures
  compared with the targets; its errors count from the first request, arrival included, and the arrival's
  worst p95 is printed beside them (each sign-in is an Argon2id hash, dear by design);
- the throughput run: the same people with no pause, so the server is saturated; its requests per second
  are compared between one and two web workers.

The web workers' resident memory (RSS, and PSS, which shares the pages they have in common fairly) is sampled
throughout. Medians over --runs runs are printed with each run's CPU yardstick (the time of
`sum(i*i for i in range(10**7))` in a fresh interpreter), since this machine's speed drifts.

Run: `make bench-load` (SQLite), or on the stack: `bin/with-stack .venv/bin/python bench/bench_load.py`.
A short check of the script itself: `--users 6 --seconds 5 --throughput-seconds 3 --runs 1 --requirements 120`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "load-test-password"
MIX = {"member": 30, "lead": 12, "auditor": 8}  # of 50 people; scaled to --users
SAVES = {"save answer", "add link evidence"}
NOT_TIMED = {"sign-in page", "sign in"}  # once per person, at the start
SETTLE_SECONDS = 5  # after the last person has arrived, before the figures start
TARGETS = {"page_p95_ms": 300, "save_p95_ms": 100, "throughput_ratio": 1.6, "worker_rss_mb": 150}


def yardstick() -> float:
    """Seconds for `sum(i*i for i in range(10**7))` in a fresh interpreter."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time; t = time.perf_counter(); sum(i*i for i in range(10**7)); print(time.perf_counter() - t)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(tmp: Path, requirements: int, users: int) -> dict:
    """A new instance in `tmp` with the framework, a fully answered draft and the accounts; returns the plan."""
    from assessment.adapters.evidence_store import EvidenceStore
    from assessment.domain.loader import load_framework_text
    from assessment.extensions import db, report_store
    from assessment.models import Answer, Scope
    from assessment.services import accounts, review
    from assessment.services.library import framework_of, store_framework
    from assessment.services.transfer import import_upload
    from bench.app import fresh_app
    from bench.generate import answers_yaml, framework_yaml

    counts = {kind: max(1, round(users * share / sum(MIX.values()))) for kind, share in MIX.items()}
    app, url = fresh_app(str(tmp))
    with app.app_context():
        source = framework_yaml(requirements)
        row, _ = store_framework(load_framework_text(source), source, "bench-large.yaml")
        framework = framework_of(row)
        scope = Scope(name="Load", kind="team")
        db.session.add(scope)
        db.session.flush()
        store = EvidenceStore(report_store(app).evidence.blobs, 1 << 20)  # the folder, or S3 when configured
        answers = answers_yaml(framework, "2026-11-21", linked=requirements // 4).encode()
        result, _ = import_upload(scope, "answers.yaml", answers, store, "load", 1 << 24)
        assessment = result.assessment
        names: dict[str, list[str]] = {}
        for kind, count in counts.items():
            names[kind] = [f"{kind}{i:02d}" for i in range(1, count + 1)]
            for username in names[kind]:
                accounts.create_user(username, f"Load {kind} {username[-2:]}", kind, PASSWORD)
                if kind == "member":
                    review.add_member(scope, username)
                elif kind == "auditor":
                    review.share(assessment, username, "load")
        rows = db.session.execute(
            db.select(Answer.requirement_id, Answer.value, Answer.revision)
            .where(Answer.assessment_id == assessment.id)
            .order_by(Answer.requirement_id)
        ).all()
        slices = {name: [list(r) for r in rows[i :: len(names["member"])]] for i, name in enumerate(names["member"])}
        plan = {
            "assessment": assessment.id,
            "scope": scope.id,
            "domains": len(framework.domains),
            "users": names,
            "mix": counts,
            "password": PASSWORD,
            "slices": slices,
            "database_url": url,
        }
        db.session.commit()
    with app.app_context():
        db.engine.dispose()
    return plan


def refresh_revisions(plan: dict, plan_file: Path) -> None:
    """Each member's answers at their current revision: a run's saves moved them on, and the next run's people
    start from the plan (a stale revision would be a conflict the benchmark made, not one people meet)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(plan["database_url"])
    with engine.connect() as connection:
        current = dict(
            connection.execute(
                text("SELECT requirement_id, revision FROM answer WHERE assessment_id = :a"), {"a": plan["assessment"]}
            ).all()
        )
    engine.dispose()
    for entries in plan["slices"].values():
        for entry in entries:
            entry[2] = current[entry[0]]
    plan_file.write_text(json.dumps(plan))


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(_children(current))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of one process in MB."""
    rss = pss = 0.0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, pss


class Server:
    """`assessment run` on a free port with `workers` web workers, on the prepared instance."""

    def __init__(self, tmp: Path, database_url: str, workers: int) -> None:
        self.port = free_port()
        self.workers = workers
        self.log = tmp / f"server-{workers}.log"
        env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY"}}
        env.update(
            WEB_CONCURRENCY=str(workers),
            DATABASE_URL=database_url,
            ASSESSMENT_INSTANCE_PATH=str(tmp / "instance"),
            PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        )
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from assessment.launch import main; main()", "run", "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as answer:
                    if answer.status == 200 and len(self.web_workers()) == workers:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the server did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.3)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def web_workers(self) -> list[int]:
        """gunicorn's workers: the children of the process that forked `workers` copies of itself."""
        for pid in _tree(self.process.pid):
            kids = _children(pid)
            if kids and len([k for k in kids if _cmdline(k) == _cmdline(pid)]) == self.workers:
                return [k for k in kids if _cmdline(k) == _cmdline(pid)]
        return []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class MemorySampler:
    """The largest RSS and PSS any web worker reached, sampled twice a second on a thread."""

    server: Server
    rss: float = 0.0
    pss: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for pid in self.server.web_workers():
                rss, pss = _memory_mb(pid)
                self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


def drive(server: Server, plan_file: Path, users: int, seconds: int, wait: str, prefix: Path, arrival: float) -> dict:
    """One locust run, summarised (see `summarise`) from its statistics by request name and its failures.

    People arrive at `arrival` a second (each signs in: an Argon2id hash, by design the dearest thing the server
    does); the figures are those of the `seconds` that follow the last arrival and SETTLE_SECONDS more, when
    everyone is at work. The arrival's own requests, and their failures, are kept beside them."""
    record = Path(f"{prefix}_arrival.json")
    env = {
        **os.environ,
        "LOAD_PLAN": str(plan_file),
        "LOAD_WAIT": wait,
        "LOAD_SETTLE": str(SETTLE_SECONDS),
        "LOAD_ARRIVAL": str(record),
    }
    ramp = users / arrival
    command = [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        str(ROOT / "bench" / "load_users.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(arrival),
        "--run-time",
        f"{round(ramp + SETTLE_SECONDS + seconds)}s",
        "--host",
        server.url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=ramp + seconds + 180)
    if done.returncode != 0:
        raise SystemExit(f"locust failed ({done.returncode}):\n{done.stderr[-3000:]}")
    stats = {}
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            stats[row["Name"]] = row
    failures_file = Path(f"{prefix}_failures.csv")
    failures = list(csv.DictReader(failures_file.open())) if failures_file.exists() else []
    if not record.exists():
        raise SystemExit("locust ended before the statistics of the arrival were recorded")
    summary, arrival = summarise(stats, failures), json.loads(record.read_text())
    summary["errors"] += arrival["errors"]  # a failure while people arrived is a failure all the same
    summary["failures"] = (arrival["failures"] + summary["failures"])[:5]
    timed = [p95 for name, p95 in arrival["p95_ms"].items() if name not in NOT_TIMED and name != "Aggregated"]
    summary["arrival"] = {**arrival, "worst_p95_ms": max(timed, default=0.0)}
    return summary


def summarise(stats: dict[str, dict], failures: list[dict]) -> dict:
    """The figures compared with the targets, from one run's statistics."""
    timed = {name: row for name, row in stats.items() if name not in NOT_TIMED}
    routes = {name: row for name, row in timed.items() if name != "Aggregated"}

    def worst(names: set[str], column: str) -> float:
        values = [float(routes[n][column]) for n in names if n in routes and int(routes[n]["Request Count"])]
        return max(values, default=0.0)

    pages = set(routes) - SAVES
    return {
        "requests": int(stats["Aggregated"]["Request Count"]),
        "errors": int(stats["Aggregated"]["Failure Count"]),
        "rps": float(stats["Aggregated"]["Requests/s"]),
        "page_p95_ms": worst(pages, "95%"),
        "save_p95_ms": worst(SAVES, "95%"),
        "page_p99_ms": worst(pages, "99%"),
        "save_p99_ms": worst(SAVES, "99%"),
        "by_route": {  # a route nobody asked for in the window has "N/A" percentiles: it is left out
            name: (int(row["Request Count"]), float(row["50%"]), float(row["95%"]), float(row["99%"]))
            for name, row in sorted(routes.items())
            if int(row["Request Count"]) > 0 and row["50%"] != "N/A"
        },
        "failures": [f"{f['Name']}: {f['Error']} ({f['Occurrences']})" for f in failures][:5],
    }


def one_run(args: argparse.Namespace, workers: int, number: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        tmp = Path(folder)
        plan = prepare(tmp, args.requirements, args.users)
        plan_file = tmp / "plan.json"
        plan_file.write_text(json.dumps(plan))
        stick = yardstick()
        server = Server(tmp, plan["database_url"], workers)
        latency = throughput = None
        try:
            with MemorySampler(server) as memory:
                latency = drive(server, plan_file, args.users, args.seconds, args.think, tmp / "latency", args.arrival)
                refresh_revisions(plan, plan_file)
                throughput = drive(
                    server, plan_file, args.users, args.throughput_seconds, "none", tmp / "throughput", args.arrival
                )
        finally:
            server.stop()
            if args.keep_logs:
                args.keep_logs.mkdir(parents=True, exist_ok=True)
                (args.keep_logs / f"server-{workers}-{number}.log").write_bytes(server.log.read_bytes())
            if latency is None or throughput is None or latency["errors"] or throughput["errors"]:
                kept = Path(tempfile.gettempdir()) / f"bench-load-server-{workers}-{number}.log"
                kept.write_bytes(server.log.read_bytes())
                print(f"  the server's log, for its errors: {kept}", flush=True)
    result = {
        "workers": workers,
        "run": number,
        "yardstick_s": round(stick, 3),
        "latency": latency,
        "throughput_rps": throughput["rps"],
        "throughput_errors": throughput["errors"],
        "worker_rss_mb": round(memory.rss, 1),
        "worker_pss_mb": round(memory.pss, 1),
    }
    print(
        f"  {workers} worker(s), run {number}: yardstick {stick:.2f} s; {latency['requests']} requests, "
        f"{latency['errors']} errors; p95 pages {latency['page_p95_ms']:.0f} ms, saves {latency['save_p95_ms']:.0f} "
        f"ms (while people arrived: {latency['arrival']['requests']} requests, worst p95 "
        f"{latency['arrival']['worst_p95_ms']:.0f} ms); saturated {throughput['rps']:.1f} req/s "
        f"({throughput['errors']} errors); worker RSS {memory.rss:.0f} MB (PSS {memory.pss:.0f} MB)",
        flush=True,
    )
    for failure in latency["failures"] + throughput["failures"]:
        print(f"    failure: {failure}", flush=True)
    return result


def main() -> None:
    from bench.bench_engine import machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60, help="length of the latency run")
    parser.add_argument("--throughput-seconds", type=int, default=30, help="length of the saturated run")
    parser.add_argument("--think", default="2,8", help="a person's pause between steps: MIN,MAX seconds")
    parser.add_argument("--arrival", type=float, default=2.0, help="people arriving (signing in) per second")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="1,2", help="web worker counts to compare, e.g. 1,2")
    parser.add_argument("--requirements", type=int, default=1200)
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    parser.add_argument("--keep-logs", type=Path, help="keep each run's server log in this folder")
    args = parser.parse_args()
    database = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgresql") else "SQLite"
    stack = ", Redis" if os.environ.get("REDIS_URL") else ""
    stack += ", S3" if os.environ.get("ASSESSMENT_S3_BUCKET") else ""
    print(f"Machine: {machine()}")
    print(
        f"{args.users} users, {args.requirements} requirements, {database}{stack}; latency run {args.seconds} s "
        f"(pauses of {args.think.replace(',', ' to ')} s), "
        f"saturated run {args.throughput_seconds} s; {args.runs} run(s) per worker count",
        flush=True,
    )
    runs = [one_run(args, int(w), n) for w in args.workers.split(",") for n in range(1, args.runs + 1)]
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2))
    med = statistics.median
    print("\nMedians of the runs:")
    by_workers: dict[int, dict] = {}
    for workers in sorted({r["workers"] for r in runs}):
        mine = [r for r in runs if r["workers"] == workers]
        figures = {
            "errors": sum(r["latency"]["errors"] + r["throughput_errors"] for r in mine),
            "page_p95_ms": med(r["latency"]["page_p95_ms"] for r in mine),
            "save_p95_ms": med(r["latency"]["save_p95_ms"] for r in mine),
            "rps": med(r["throughput_rps"] for r in mine),
            "rss": med(r["worker_rss_mb"] for r in mine),
            "pss": med(r["worker_pss_mb"] for r in mine),
            "yardstick": med(r["yardstick_s"] for r in mine),
        }
        by_workers[workers] = figures
        print(
            f"  {workers} worker(s): errors {figures['errors']}; p95 pages {figures['page_p95_ms']:.0f} ms "
            f"(target < {TARGETS['page_p95_ms']}), saves {figures['save_p95_ms']:.0f} ms (target < "
            f"{TARGETS['save_p95_ms']}); saturated {figures['rps']:.1f} req/s; worker RSS {figures['rss']:.0f} MB, "
            f"PSS {figures['pss']:.0f} MB (target < {TARGETS['worker_rss_mb']}); yardstick {figures['yardstick']:.2f} s"
        )
        routes: dict[str, list] = {}
        for r in mine:
            for name, (count, p50, p95, p99) in r["latency"]["by_route"].items():
                routes.setdefault(name, []).append((count, p50, p95, p99))
        for name, values in sorted(routes.items()):
            print(
                f"      {name:<26} n={med(v[0] for v in values):>6.0f}  p50 {med(v[1] for v in values):>5.0f} ms  "
                f"p95 {med(v[2] for v in values):>5.0f} ms  p99 {med(v[3] for v in values):>5.0f} ms"
            )
    if 1 in by_workers and 2 in by_workers and by_workers[1]["rps"]:
        ratio = by_workers[2]["rps"] / by_workers[1]["rps"]
        print(f"  throughput, two workers over one: {ratio:.2f}x (target >= {TARGETS['throughput_ratio']})")


if __name__ == "__main__":
    main()
