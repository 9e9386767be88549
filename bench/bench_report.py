"""Benchmark of PDF reports: a 60-requirement report (target under 3 s) and a 1,200-requirement
report, every requirement answered with a note and an evidence link (target: within 10 times the
single-core yardstick measured in the same run, about 9 s on a machine where it takes 0.9 s, and
under 500 MB peak memory).

The yardstick is issue 13's: the seconds `sum(i*i for i in range(10**7))` takes, the median of
three timings before and three after the reports (the machine may be shared: timing it beside the
reports makes the target move with the machine's speed and load).

Each run times the real command, `assessment report FRAMEWORK ANSWERS -o OUT.pdf`, from the
moment the process is started until it has exited (Python's start, every import and the
rendering workers' start included), and samples every 50 ms the resident memory of that process
and its rendering workers together; the targets are checked against these figures. Beside them
it prints what the web app takes once its rendering workers are running: the same report rendered
again in a process whose workers are ready.

Run: `.venv/bin/python bench/bench_report.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def yardstick(runs: int = 3) -> list[float]:
    """Seconds of issue 13's single-core yardstick, `sum(i*i for i in range(10**7))`, `runs` times."""
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        sum(i * i for i in range(10**7))
        seconds.append(time.perf_counter() - start)
    return seconds


def _tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants (the rendering workers), in MB. Only
    that tree is read (its threads' children lists), so sampling costs the machine next to nothing."""
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            for task in Path(f"/proc/{pid}/task").iterdir():
                stack.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:  # it has just exited
            continue
        rss = next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")), "0")
        total += int(rss)
    return total / 1024


def _inputs(requirements: int, folder: Path) -> tuple[Path, Path]:
    """The generated framework and answers files of a benchmark report."""
    from assessment.domain.loader import load_framework_text
    from bench.generate import answers_yaml, framework_yaml

    text = framework_yaml(requirements, per_domain=60 if requirements > 60 else 15)
    framework_path, answers_path = folder / "framework.yaml", folder / "answers.yaml"
    framework_path.write_text(text)
    answers_path.write_text(answers_yaml(load_framework_text(text), "2026-11-21"))
    return framework_path, answers_path


def command_run(framework_path: Path, answers_path: Path) -> dict:
    """Time `assessment report` in a process of its own; its peak memory with its workers."""
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        out = Path(tmp) / "report.pdf"
        command = [str(Path(sys.executable).parent / "assessment"), "report", str(framework_path),
                   str(answers_path), "-o", str(out), "--prepared-by", "bench"]  # fmt: skip
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak = 0.0
        while process.poll() is None:
            peak = max(peak, _tree_rss_mb(process.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        if process.returncode != 0:
            raise SystemExit(process.stderr.read().decode())
        pages = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
        page_count = next((line.split()[-1] for line in pages.splitlines() if line.startswith("Pages:")), "?")
        return {"seconds": seconds, "peak_mb": peak, "bytes": out.stat().st_size, "pages": page_count}


def warm_runs(framework_path: Path, answers_path: Path, runs: int) -> list[float]:
    """Seconds to render the report again, `runs` times, in a process whose rendering workers are
    running (the first rendering, which starts them, is not counted)."""
    from reports.render import render_pdf
    from reports.sources import report_from_files

    report = report_from_files(framework_path, answers_path, prepared_by="bench")
    render_pdf(report)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        render_pdf(report_from_files(framework_path, answers_path, prepared_by="bench"))
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", type=int, choices=(60, 1200), help="Run one of the two reports.")
    args = parser.parse_args()
    from bench.bench_engine import machine

    print(f"machine: {machine()}")
    ticks = yardstick()
    ok = True
    results = []
    for requirements, limit_mb in ((60, None), (1200, 500)):
        if args.only and requirements != args.only:
            continue
        with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
            framework_path, answers_path = _inputs(requirements, Path(tmp))
            runs = [command_run(framework_path, answers_path) for _ in range(args.runs)]
            warm = statistics.median(warm_runs(framework_path, answers_path, args.runs))
        results.append((requirements, limit_mb, runs, warm))
    ticks += yardstick()
    tick = statistics.median(ticks)
    each_tick = ", ".join(f"{s:.2f}" for s in ticks)
    print(f"yardstick: sum(i*i for i in range(10**7)) median {tick:.2f} s (runs: {each_tick})")
    for requirements, limit_mb, runs, warm in results:
        limit_s = 3 if requirements == 60 else 10 * tick
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = max(r["peak_mb"] for r in runs)
        ok &= seconds < limit_s and (limit_mb is None or peak < limit_mb)
        target = ("target < 3 s" if requirements == 60 else f"target < 10 x yardstick = {limit_s:.1f} s") + (
            f" and < {limit_mb} MB" if limit_mb else ""
        )
        each = ", ".join(f"{r['seconds']:.2f}" for r in runs)
        print(
            f"{requirements:5d} requirements: `assessment report` median {seconds:6.2f} s over {len(runs)} runs "
            f"(runs: {each}) = {seconds / tick:.1f} x yardstick, peak {peak:4.0f} MB, "
            f"{runs[0]['pages']} pages, {runs[0]['bytes']:,} bytes   ({target}); "
            f"with the web app's workers running: {warm:.2f} s"
        )
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
