"""Benchmark of the API on a fully answered 1,200-requirement assessment, through the production server.

Targets (issue 16): reading the assessment's score (GET /api/v1/assessments/{id}/score) under 100 ms p95;
writing its 1,200 answers in one PATCH under 2 s. The instance is prepared as bench_load.py prepares its
own (a migrated database, the generated framework, every requirement answered with a note and a link, a
team member with a token), then served by `assessment run` (gunicorn, as `make run` serves it) on a free
loopback port; the times are the client's, end to end over loopback with a kept-alive connection.

The score is read --reads times after a warm-up; the PATCH changes every one of the 1,200 answers, --runs
times (each from the revisions the last one gave back), and its median is printed. The CPU yardstick (the
time of `sum(i*i for i in range(10**7))` in a fresh interpreter) is printed beside, since this machine's
speed drifts.

Run: `.venv/bin/python bench/bench_api.py` (SQLite), or on the stack: `bin/with-stack .venv/bin/python
bench/bench_api.py`. A short check of the script itself: `--requirements 120 --reads 20 --runs 1`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_engine import machine  # noqa: E402
from bench.bench_load import Server, yardstick  # noqa: E402
from bench.bench_web import percentile  # noqa: E402

TARGETS = {"score_p95_ms": 100, "patch_median_s": 2.0}
WARM_UP = 10


def prepare(tmp: Path, requirements: int) -> dict:
    """A new instance in `tmp`: the framework, a fully answered draft and a team member's token."""
    from assessment.adapters.evidence_store import EvidenceStore
    from assessment.domain.loader import load_framework_text
    from assessment.extensions import db, report_store
    from assessment.models import Scope
    from assessment.services import accounts, review, tokens
    from assessment.services.library import framework_of, store_framework
    from assessment.services.transfer import import_upload
    from bench.app import fresh_app
    from bench.generate import answers_yaml, framework_yaml

    app, url = fresh_app(str(tmp))
    with app.app_context():
        source = framework_yaml(requirements)
        row, _ = store_framework(load_framework_text(source), source, "bench-large.yaml")
        scope = Scope(name="Bench", kind="team")
        db.session.add(scope)
        db.session.flush()
        store = EvidenceStore(report_store(app).evidence.blobs, 1 << 20)  # the folder, or S3 when configured
        answers = answers_yaml(framework_of(row), "2026-11-21").encode()
        result, _ = import_upload(scope, "answers.yaml", answers, store, "bench", 1 << 24)
        member = accounts.create_user("bench", "Bench", "member", "bench-password")
        review.add_member(scope, "bench")
        _, secret = tokens.create(member, "bench")
        db.session.commit()
        plan = {"assessment": result.assessment.id, "token": secret, "database_url": url}
    with app.app_context():
        db.engine.dispose()
    return plan


def timed_ms(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def changed(answer: dict) -> object:
    """Another valid value than the answer's (the generated framework's scales and bands)."""
    value = answer["value"]
    if isinstance(value, int | float):
        return value + 1
    for cycle in (("none", "some", "most", "all"), ("yes", "partial", "no", "na")):
        if value in cycle:
            return cycle[(cycle.index(value) + 1) % len(cycle)]
    raise ValueError(f"no other value known for {answer['requirement_id']}: {value!r}")


def main() -> None:
    import requests

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=int, default=1200)
    parser.add_argument("--reads", type=int, default=200, help="score reads timed, after a warm-up")
    parser.add_argument("--runs", type=int, default=5, help="PATCH requests of every answer timed")
    parser.add_argument("--workers", type=int, default=1, help="web workers of the server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plan = prepare(Path(tmp), args.requirements)
        # The operations are timed, not the per-token rate limit's refusals (600 a minute by default).
        os.environ.setdefault("ASSESSMENT_API_RATE_LIMIT", "100000/minute")
        server = Server(Path(tmp), plan["database_url"], args.workers)
        try:
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {plan['token']}"
            base = f"{server.url}/api/v1/assessments/{plan['assessment']}"

            def read_score() -> None:
                response = http.get(f"{base}/score", timeout=60)
                assert response.status_code == 200, response.text[:500]

            for _ in range(WARM_UP):
                read_score()
            reads = [timed_ms(read_score) for _ in range(args.reads)]

            listed = http.get(f"{base}/answers", params={"limit": 2000}, timeout=60)
            assert listed.status_code == 200, listed.text[:500]
            answers = listed.json()
            assert len(answers) == args.requirements, len(answers)
            patches = []
            for _ in range(args.runs):
                body = {
                    "answers": {
                        a["requirement_id"]: {"value": changed(a), "note": a["note"], "revision": a["revision"]}
                        for a in answers
                    }
                }
                start = time.perf_counter()
                response = http.patch(f"{base}/answers", json=body, timeout=120)
                patches.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text[:500]
                assert len(response.json()["saved"]) == args.requirements, "every answer changed"
                answers = response.json()["answers"]
            changed_reads = []  # the first read of a changed assessment scores it again
            for rid in [a["requirement_id"] for a in answers[:20]]:
                answer = next(a for a in answers if a["requirement_id"] == rid)
                put = http.put(
                    f"{base}/answers/{rid}", json={"value": changed(answer), "revision": answer["revision"]}, timeout=60
                )
                assert put.status_code == 200, put.text[:500]
                changed_reads.append(timed_ms(read_score))
        finally:
            server.stop()
    cpu = yardstick()
    backend = plan["database_url"].split(":", 1)[0]
    score_p95 = percentile(reads, 0.95)
    patch_median = statistics.median(patches)
    print(f"machine: {machine()}")
    print(f"yardstick: sum(i*i for i in range(10**7)) in {cpu:.2f} s")
    print(
        f"database: {backend}; framework: {args.requirements} requirements, all answered with a note and a link; "
        f"server: `assessment run` (gunicorn), {args.workers} web worker(s), over loopback"
    )
    print(
        f"{'score read (GET .../score)':38s} median {statistics.median(reads):7.1f} ms   p95 {score_p95:7.1f} ms   "
        f"(target p95 < {TARGETS['score_p95_ms']} ms, {len(reads)} requests after {WARM_UP} to warm up)"
    )
    print(
        f"{'score read just after a change':38s} median {statistics.median(changed_reads):7.1f} ms   "
        f"p95 {percentile(changed_reads, 0.95):7.1f} ms   (20 requests, each after a PUT of one answer)"
    )
    print(
        f"{f'PATCH of {args.requirements} answers, all changed':38s} median {patch_median:7.2f} s    "
        f"runs {', '.join(f'{p:.2f}' for p in patches)} s   (target < {TARGETS['patch_median_s']} s)"
    )
    ok = score_p95 < TARGETS["score_p95_ms"] and patch_median < TARGETS["patch_median_s"]
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
