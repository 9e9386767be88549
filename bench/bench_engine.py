"""Benchmark of the engine: validate a generated 1,200-requirement framework and score 1,200 answers.

Targets (issue 2): validation under 300 ms, scoring under 20 ms, both medians.
Run: `make bench` or `.venv/bin/python bench/bench_engine.py [--runs N] [--requirements N]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assessment.domain import yamlread  # noqa: E402
from assessment.domain.answers import read_answers_file  # noqa: E402
from assessment.domain.loader import load_framework_file  # noqa: E402
from assessment.domain.scoring import score, scorecard_to_dict  # noqa: E402
from bench.generate import answers_yaml, framework_yaml  # noqa: E402


def median_ms(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), times


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parser = yamlread._Loader.__mro__[1].__name__
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, YAML parser: {parser}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=int, default=1200)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fw_path = Path(tmp) / "bench-large.yaml"
        fw_path.write_text(framework_yaml(args.requirements))
        framework = load_framework_file(fw_path)
        answers_path = Path(tmp) / "answers.yaml"
        answers_path.write_text(answers_yaml(framework, "2026-11-21"))
        answers = read_answers_file(answers_path, framework)
        assert len(framework.requirements) == args.requirements == len(answers.answers)

        validate_ms, _ = median_ms(lambda: load_framework_file(fw_path), args.runs)
        answers_ms, _ = median_ms(lambda: read_answers_file(answers_path, framework), args.runs)
        as_of = dt.date(2026, 11, 21)
        score_ms, _ = median_ms(lambda: score(framework, answers, as_of=as_of), args.runs * 4)
        json_ms, _ = median_ms(lambda: scorecard_to_dict(score(framework, answers, as_of=as_of)), args.runs * 4)

    print(f"machine: {machine()}")
    print(f"framework: {args.requirements} requirements, {len(framework_yaml(args.requirements)):,} bytes of YAML")
    print(f"load + validate framework file   median {validate_ms:8.1f} ms over {args.runs} runs   (target < 300 ms)")
    print(f"read + check answers file        median {answers_ms:8.1f} ms over {args.runs} runs")
    print(
        f"score {args.requirements} answers              median {score_ms:8.2f} ms "
        f"over {args.runs * 4} runs   (target < 20 ms)"
    )
    print(f"score + spec JSON dict           median {json_ms:8.2f} ms over {args.runs * 4} runs")
    ok = validate_ms < 300 and score_ms < 20
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
