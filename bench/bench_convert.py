"""Benchmark of `assessment convert` and import: the 1,189-requirement NIST SP 800-53 library in
CISO Assistant's format, converted, validated and stored as a framework version (issue 18's target:
under 3 s). Each run converts in process (read, detect, convert, validate with our loader) and
stores the result in a fresh migrated database; the CPU yardstick of the same run is beside it.

    .venv/bin/python bench/bench_convert.py [--runs 5] [--source ../shared/data/ciso-assistant/nist-sp-800-53-rev5.yaml]

Skips (exit 0 with a message) when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assessment.domain.convert import convert_text  # noqa: E402
from assessment.domain.loader import load_framework_text  # noqa: E402
from assessment.domain.yamlread import read_text  # noqa: E402
from assessment.extensions import db  # noqa: E402
from assessment.services.library import store_framework  # noqa: E402
from bench.app import fresh_app  # noqa: E402
from bench.bench_dora import yardstick  # noqa: E402
from bench.bench_engine import machine  # noqa: E402

SOURCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ciso-assistant" / "nist-sp-800-53-rev5.yaml"
TARGET_SECONDS = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--source", type=Path, default=SOURCE)
    args = parser.parse_args()
    if not args.source.is_file():
        print(f"skipped: {args.source} is absent")
        return 0
    print(machine())
    times, converts, sticks = [], [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            app, _url = fresh_app(tmp)
            with app.app_context():
                stick = yardstick()
                started = time.perf_counter()
                text = convert_text(read_text(args.source), args.source.name)
                framework = load_framework_text(text, args.source.name)
                converted = time.perf_counter() - started
                store_framework(framework, text, args.source.name)
                db.session.commit()
                elapsed = time.perf_counter() - started
        times.append(elapsed)
        converts.append(converted)
        sticks.append(stick)
        print(
            f"run {run + 1}: {len(framework.requirements):,} requirements, convert+validate {converted:.2f} s, "
            f"with import {elapsed:.2f} s, yardstick {stick:.2f} s"
        )
    median = statistics.median(times)
    verdict = "meets" if median < TARGET_SECONDS else "misses"
    print(
        f"median: convert+validate {statistics.median(converts):.2f} s, with import {median:.2f} s, "
        f"yardstick {statistics.median(sticks):.2f} s; {verdict} the {TARGET_SECONDS:.0f} s target"
    )
    return 0 if median < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
