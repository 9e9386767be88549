"""Benchmark of the web pages on a fully answered 1,200-requirement framework.

Targets (issue 3), server time, p95: a questionnaire page of 60 requirements under 100 ms, the
results page under 150 ms, saving one answer under 50 ms. Requests go through the real WSGI app
in-process (Flask's test client), so the figures are server time without the network.

Run: `.venv/bin/python bench/bench_web.py` (SQLite), or on PostgreSQL:
`bin/with-postgres .venv/bin/python bench/bench_web.py` (uses $DATABASE_URL).
`--framework FILE` times the pages of that framework instead of the generated one: a framework
file of ours, or any source `assessment convert` reads (converted first), e.g.
`--framework ../shared/data/ciso-assistant/nist-sp-800-53-rev5.yaml` (1,189 requirements).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from assessment.adapters.evidence_store import EvidenceStore  # noqa: E402
from assessment.domain.errors import InvalidFile  # noqa: E402
from assessment.domain.loader import load_framework_text  # noqa: E402
from assessment.extensions import db, report_store  # noqa: E402
from assessment.models import Scope  # noqa: E402
from assessment.services.library import framework_of, store_framework  # noqa: E402
from assessment.services.transfer import import_upload  # noqa: E402
from bench.app import fresh_app  # noqa: E402
from bench.bench_engine import machine  # noqa: E402
from bench.generate import answers_yaml, framework_yaml  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(fn, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) * 1000)
    return times


def framework_text(path: Path) -> str:
    """The framework file at `path`, or the conversion of a source of another format."""
    from assessment.cli_convert import read_folder, read_source
    from assessment.domain.convert import convert_folder, convert_text

    if path.is_dir():
        return convert_folder(str(path), read_folder(path))
    text = read_source(path)
    if isinstance(text, str):
        try:
            load_framework_text(text, str(path))
            return text  # one of ours already
        except InvalidFile:
            pass
    return convert_text(text, str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=int, default=1200)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--framework", type=Path, help="A framework file, or a source `assessment convert` reads.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app, url = fresh_app(tmp)
        with app.app_context():
            source = framework_yaml(args.requirements) if args.framework is None else framework_text(args.framework)
            row, _ = store_framework(load_framework_text(source), source, "bench.yaml")
            args.requirements = len(framework_of(row).requirements)
            scope = Scope(name="Bench", kind="team")
            db.session.add(scope)
            db.session.flush()
            store = EvidenceStore(report_store(app).evidence.blobs, 1 << 20)  # the folder, or S3 when configured
            answers = answers_yaml(framework_of(row), "2026-11-21").encode()
            result, _ = import_upload(scope, "answers.yaml", answers, store, "bench", 1 << 20)
            # The pages are timed as the team member who works on the scope (access checks included).
            from assessment.services import accounts, review

            accounts.create_user("bench", "Bench", "member", "bench-password")
            review.add_member(scope, "bench")
            db.session.commit()
            assessment = result.assessment.id
            domains = len(framework_of(row).domains)
            first = next(req for req in framework_of(row).requirements if not req.is_numeric)
            choices = [option.value for option in first.answer.options][:2]
            revision = 1
        client = app.test_client()
        signed_in = client.post("/login", data={"username": "bench", "password": "bench-password"})
        assert signed_in.status_code == 302, signed_in.get_data(as_text=True)
        for path in (f"/assessments/{assessment}/domains/0", f"/assessments/{assessment}/results"):
            assert client.get(path).status_code == 200  # warm the framework cache and templates

        questionnaire = timed(lambda i: client.get(f"/assessments/{assessment}/domains/{i % domains}"), args.runs)
        results = timed(lambda i: client.get(f"/assessments/{assessment}/results"), args.runs)

        def save(i: int) -> None:
            nonlocal revision
            response = client.post(
                f"/assessments/{assessment}/answers/{first.id}",
                data={"value": choices[i % len(choices)], "note": "", "revision": str(revision)},
                headers={"X-Requested-With": "fetch"},
            )
            assert response.status_code == 200, response.get_data(as_text=True)
            revision = response.json["revision"]

        saves = timed(save, args.runs)

    backend = url.split(":", 1)[0]
    print(f"machine: {machine()}")
    name = args.framework or "generated"
    print(
        f"database: {backend}; framework: {name}, {args.requirements} requirements, all answered with a note and a link"
    )
    ok = True
    for label, values, target in (
        ("questionnaire page (60 requirements)", questionnaire, 100),
        ("results page", results, 150),
        ("save one answer", saves, 50),
    ):
        p95 = percentile(values, 0.95)
        ok &= p95 < target
        print(
            f"{label:38s} median {statistics.median(values):7.1f} ms   p95 {p95:7.1f} ms   "
            f"(target p95 < {target} ms, {len(values)} requests)"
        )
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
