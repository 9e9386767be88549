"""Benchmark of PDF reports: a 60-requirement report (target under 3 s) and a 1,200-requirement
report, every requirement answered with a note and an evidence link (target under 30 s and
500 MB peak memory). Each run is a fresh process (as `assessment report` is); its peak memory is
the largest sum of the resident memory of that process and its rendering workers, sampled every
50 ms. The same report is then rendered again in that process, which is what the web app's
background renderer takes once it has rendered one report (WeasyPrint already imported); that
figure is printed beside the first, and the targets are checked against the fresh-process one.

Run: `.venv/bin/python bench/bench_report.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants (the rendering workers), in MB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid, ppid = int(entry.name), int(fields.get("PPid", "0").strip())
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total / 1024


def one_run(requirements: int) -> dict:
    """Build and render one report in this process; print time and peak memory as JSON."""
    from assessment.domain.answers import read_answers_text
    from assessment.domain.loader import load_framework_text
    from bench.generate import answers_yaml, framework_yaml
    from reports.model import ReportMeta, build_report
    from reports.render import render_pdf

    framework = load_framework_text(framework_yaml(requirements, per_domain=60 if requirements > 60 else 15))
    answers = read_answers_text(answers_yaml(framework, "2026-11-21"), framework)
    import os
    import threading

    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], _tree_rss_mb(os.getpid()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    report = build_report(framework, answers, ReportMeta(scope="Benchmark", prepared_by="bench"))
    pdf = render_pdf(report)
    seconds = time.perf_counter() - start
    # The same report again in this process: what the web app's renderer, already warm, takes.
    start = time.perf_counter()
    render_pdf(build_report(framework, answers, ReportMeta(scope="Benchmark", prepared_by="bench")))
    warm = time.perf_counter() - start
    done.set()
    sampler.join()
    with tempfile.NamedTemporaryFile(suffix=".pdf") as out:
        out.write(pdf)
        out.flush()
        pages = subprocess.run(["pdfinfo", out.name], capture_output=True, text=True).stdout
    page_count = next((line.split()[-1] for line in pages.splitlines() if line.startswith("Pages:")), "?")
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "seconds": seconds,
        "warm": warm,
        "peak_mb": max(peak[0], own_peak),
        "bytes": len(pdf),
        "pages": page_count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one)))
        return
    from bench.bench_engine import machine

    print(f"machine: {machine()}")
    ok = True
    for requirements, limit_s, limit_mb in ((60, 3, None), (1200, 30, 500)):
        runs = []
        for _ in range(args.runs):
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(requirements)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        seconds = statistics.median(r["seconds"] for r in runs)
        warm = statistics.median(r["warm"] for r in runs)
        peak = max(r["peak_mb"] for r in runs)
        ok &= seconds < limit_s and (limit_mb is None or peak < limit_mb)
        target = f"target < {limit_s} s" + (f" and < {limit_mb} MB" if limit_mb else "")
        print(
            f"{requirements:5d} requirements: median {seconds:6.2f} s over {len(runs)} runs in a fresh process "
            f"(warm renderer, as in the web app: {warm:.2f} s), peak {peak:6.0f} MB, "
            f"{runs[0]['pages']} pages, {runs[0]['bytes']:,} bytes   ({target})"
        )
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
