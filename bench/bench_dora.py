"""`assessment dora` over a million events, end to end through the console script (issue 17: under 10 s).

Generates about a million valid events (bench/delivery_events.py) once into a temporary folder, then
times the real command `assessment dora EVENTS --format json` several times, with the single-core
yardstick of the same run beside it, and prints the median.

    .venv/bin/python bench/bench_dora.py [--events 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.delivery_events import write_jsonl  # noqa: E402

TARGET_SECONDS = 10.0
SCRIPT = Path(sys.executable).with_name("assessment")


def yardstick() -> float:
    """The single-core yardstick: python3 -c "sum(i*i for i in range(10**7))", in seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "sum(i*i for i in range(10**7))"], check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.jsonl"
        count = write_jsonl(path, args.events)
        size = path.stat().st_size / 1e6
        print(f"{count:,} events, {size:.0f} MB of JSON Lines")
        times, sticks = [], []
        for run in range(args.runs):
            stick = yardstick()
            started = time.perf_counter()
            done = subprocess.run(
                [str(SCRIPT), "dora", str(path), "--as-of", "2026-12-01", "--format", "json"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                print(done.stderr[:2000], file=sys.stderr)
                return 1
            times.append(elapsed)
            sticks.append(stick)
            print(f"run {run + 1}: dora {elapsed:.2f} s, yardstick {stick:.2f} s")
    median = statistics.median(times)
    verdict = "meets" if median < TARGET_SECONDS else "misses"
    print(
        f"median: dora {median:.2f} s over {count:,} events ({median / count * 1e6:.1f} us an event), "
        f"yardstick {statistics.median(sticks):.2f} s; {verdict} the {TARGET_SECONDS:.0f} s target"
    )
    return 0 if median < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
