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

LEVELS = ["Initial", "Managed", "Defined", "Measured", "Optimising"]


def framework_yaml(requirements: int, per_domain: int = 60) -> str:
    """A maturity framework in format 1 with `requirements` requirements, guidance and tags on each."""
    out = [
        "id: bench-large",
        'version: "1.0"',
        "title: Generated benchmark framework",
        "kind: maturity",
        "description: A generated framework for benchmarks.",
        "levels:",
    ]
    out += [f"  - {{number: {i + 1}, name: {name}}}" for i, name in enumerate(LEVELS)]
    out += ["scales:", "  coverage:"]
    out += [
        f"    - {{value: {v}, label: {v.title()}, credit: {c}}}"
        for v, c in (("none", 0), ("some", 0.5), ("most", 0.75), ("all", 1))
    ]
    out += ["defaults:", "  evidence: optional", "domains:"]
    count = 0
    domain = 0
    while count < requirements:
        domain += 1
        out += [f"  - id: D{domain:02d}", f"    title: Domain {domain}", "    weight: 1", "    requirements:"]
        for _ in range(min(per_domain, requirements - count)):
            count += 1
            rid = f"D{domain:02d}-{count:04d}"
            out += [
                f"      - id: {rid}",
                f"        title: Practice {count} is in place and measured",
                f"        question: Is practice {count} in place across the services in scope?",
                f"        section: Section {count % 5}",
                f"        level: {2 + count % 4}",
                f"        weight: {1 + count % 3}",
                f"        evidence: {'required' if count % 4 == 0 else 'optional'}",
            ]
            if count % 10 == 0:
                out += [
                    "        answer:",
                    "          type: number",
                    "          unit: hours",
                    "          bands:",
                    "            - {min: 0, max: 24, credit: 1}",
                    "            - {min: 0, max: 168, credit: 0.5}",
                    "            - {min: 0, credit: 0}",
                ]
            elif count % 3 == 0:
                out += ["        answer: coverage"]
            out += [
                "        guidance: |",
                "          Look for a written description of the practice, who owns it, and records",
                "          showing it ran in the last quarter. Evidence: the procedure and two samples.",
                "        recommendation: Write the procedure down, name an owner and keep records.",
                "        tags: [practice:metrics-measurement, practice:pdca]",
            ]
    return "\n".join(out) + "\n"


def answers_yaml(framework, as_of: str) -> str:
    """Answers to every requirement, a note and an evidence link each."""
    out = [f"framework: {framework.id}", f'version: "{framework.version}"', f"as_of: {as_of}", "answers:"]
    for index, req in enumerate(framework.requirements):
        if req.is_numeric:
            value = str(index % 200)
        elif req.answer.id == "coverage":
            value = ("none", "some", "most", "all")[index % 4]
        else:
            value = ("yes", "partial", "no", "na")[index % 4]
        out += [
            f"  {req.id}:",
            f"    value: {value}",
            f"    note: Answer {index} recorded in the benchmark.",
            "    evidence:",
            f"      - {{title: Link {index}, url: 'https://wiki.example.com/p/{index}',"
            f" expires: 2027-0{1 + index % 9}-01}}",
        ]
    return "\n".join(out) + "\n"


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
