"""Benchmark of the web app's reports: the PDF and the evidence bundle of a fully answered
1,189-requirement assessment (the size of NIST SP 800-53's) with about 1,340 audit-trail entries.

Targets (issue 13, point 7): the PDF within 10 times the single-core yardstick measured in the same
run (see bench_report.yardstick), the bundle at most a second more than the PDF, peak memory under
500 MB. The reports are rendered by the web code path: a job is requested as the download button
does (services.reports.request_report) and run by adapters.report_jobs.run_job, with the app's
rendering workers kept warm between runs as a web worker keeps them; the first run, which starts
them, is not counted. Peak memory is that of this process (app, database session, report) and its
rendering workers together, sampled every 50 ms.

Run: `.venv/bin/python bench/bench_web_report.py [--runs N]` (SQLite in a temporary folder).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_report import _tree_rss_mb, yardstick  # noqa: E402
from bench.generate import answers_yaml, framework_yaml  # noqa: E402

REQUIREMENTS = 1189
LINKED = 145  # requirements answered with an evidence link: 1,189 answers + 145 links + submit and approve ≈ 1,340


def build(tmp: str):
    """The app on a new SQLite database holding the assessment; returns (app, assessment id, the number of
    entries of the assessment's trail that its report prints)."""
    from assessment.domain.loader import load_framework_text
    from assessment.extensions import db
    from assessment.models import Scope
    from assessment.services import accounts, review
    from assessment.services.library import framework_of, store_framework
    from assessment.services.transfer import import_upload
    from bench.app import fresh_app

    os.environ.pop("DATABASE_URL", None)  # the measurement is on SQLite
    app, _ = fresh_app(tmp)
    with app.app_context():
        source = framework_yaml(REQUIREMENTS)
        row, _ = store_framework(load_framework_text(source), source, "nist-sized.yaml")
        scope = Scope(name="Payments platform", kind="team")
        db.session.add(scope)
        db.session.flush()
        accounts.create_user("alice", "Alice Example", "member", "bench-password-1")
        accounts.create_user("lead", "Lee Lead", "auditor", "bench-password-2")
        review.add_member(scope, "alice")
        store = app.extensions["assessment.reports"].evidence
        answers = answers_yaml(framework_of(row), "2026-11-21", linked=LINKED).encode()
        result, _ = import_upload(scope, "answers.yaml", answers, store, "alice", 1 << 22)
        review.submit(result.assessment, "alice")
        review.approve(result.assessment, "lead")
        db.session.commit()
        assessment_id = result.assessment.id
        db.session.remove()
    with app.app_context():
        from assessment.services.assessments import get_assessment
        from assessment.services.reports import report_for

        entries = len(report_for(get_assessment(assessment_id), store).trail)
        db.session.remove()
        return app, assessment_id, entries


def run_once(app, assessment_id: int, kind: str, fresh: bool = True) -> tuple[float, int, int]:
    """Seconds to request and run one report job of `kind`, rendered afresh (or, with `fresh` False,
    after the jobs already run: a bundle then packs the PDF downloaded for the same state); the file's
    size and the PDF's page count."""
    from sqlalchemy import delete

    from assessment.adapters.report_jobs import run_job
    from assessment.extensions import db
    from assessment.models import ReportJob
    from assessment.services.assessments import get_assessment
    from assessment.services.reports import request_report

    reports = app.extensions["assessment.reports"]
    with app.app_context():
        # Forget every earlier job and file: the app reuses a finished report of the same state (and a
        # bundle keeps its PDF as that state's download), which would time a lookup, not a rendering.
        if fresh:
            db.session.execute(delete(ReportJob))
            db.session.commit()
            shutil.rmtree(reports.folder, ignore_errors=True)
        else:  # keep the PDF just made; forget the bundles, so the bundle is packed, not looked up
            db.session.execute(delete(ReportJob).where(ReportJob.kind == kind))
            db.session.commit()
        start = time.perf_counter()
        job = request_report(get_assessment(assessment_id), kind, "lead", reports)
        db.session.commit()
        job_id = job.id
        db.session.remove()
        run_job(app, job_id, reports)
        seconds = time.perf_counter() - start
        job = db.session.get(ReportJob, job_id)
        assert job.status == "done", job.message
        data = reports.path_of(job).read_bytes()
        size = len(data)
        db.session.remove()
    if kind == "bundle":
        data = zipfile.ZipFile(io.BytesIO(data)).read("report.pdf")
    from pypdf import PdfReader

    return seconds, size, len(PdfReader(io.BytesIO(data)).pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from bench.bench_engine import machine

    print(f"machine: {machine()}")
    ticks = yardstick()
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_mb(os.getpid()))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with tempfile.TemporaryDirectory(prefix="bench-web-report-") as tmp:
        app, assessment_id, entries = build(tmp)
        run_once(app, assessment_id, "pdf")  # starts the rendering workers, as the app's first report does
        times: dict[str, list[float]] = {"pdf": [], "bundle": [], "after": []}
        facts: dict[str, tuple[int, int]] = {}
        for _ in range(args.runs):
            for kind in ("pdf", "bundle"):
                seconds, size, pages = run_once(app, assessment_id, kind)
                times[kind].append(seconds)
                facts[kind] = (size, pages)
            # the usual order: the PDF is downloaded, then the bundle, which packs that same PDF
            seconds, size, pages = run_once(app, assessment_id, "bundle", fresh=False)
            times["after"].append(seconds)
            facts["after"] = (size, pages)
    done.set()
    sampler.join()
    ticks += yardstick()
    tick = statistics.median(ticks)
    pdf, bundle = statistics.median(times["pdf"]), statistics.median(times["bundle"])
    each_tick = ", ".join(f"{s:.2f}" for s in ticks)
    print(f"yardstick: sum(i*i for i in range(10**7)) median {tick:.2f} s (runs: {each_tick})")
    print(f"database: sqlite; {REQUIREMENTS} requirements, all answered with a note, {LINKED} evidence links; "
          f"audit trail: {entries} entries")  # fmt: skip
    after = statistics.median(times["after"])
    labels = {"pdf": "pdf   ", "bundle": "bundle", "after": "bundle after its PDF"}
    for kind, median, target in (("pdf", pdf, 10 * tick), ("bundle", bundle, pdf + 1), ("after", after, pdf + 1)):
        size, pages = facts[kind]
        each = ", ".join(f"{s:.2f}" for s in times[kind])
        print(
            f"web {labels[kind]} job median {median:6.2f} s over {args.runs} runs (runs: {each}) = "
            f"{median / tick:.1f} x yardstick, {pages} pages, {size:,} bytes   (target < {target:.1f} s"
            + (" = 10 x yardstick)" if kind == "pdf" else " = the PDF + 1 s)")
        )
    print(f"peak memory (this process and its rendering workers): {peak:.0f} MB   (target < 500 MB)")
    ok = pdf < 10 * tick and bundle <= pdf + 1 and peak < 500
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
