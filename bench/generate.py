"""Generated frameworks and answers for benchmarks and scale tests."""

from __future__ import annotations

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


def answers_yaml(framework, as_of: str, linked: int | None = None) -> str:
    """Answers to every requirement with a note; an evidence link each, or only for the first
    `linked` requirements when `linked` is given."""
    out = [f"framework: {framework.id}", f'version: "{framework.version}"', f"as_of: {as_of}", "answers:"]
    for index, req in enumerate(framework.requirements):
        if req.is_numeric:
            value = str(index % 200)
        elif req.answer.id == "coverage":
            value = ("none", "some", "most", "all")[index % 4]
        elif req.answer.id in ("yes_partial_no", "yes_no"):
            value = ("yes", "partial", "no", "na")[index % 4]
            value = "no" if value == "partial" and req.answer.id == "yes_no" else value
        else:  # a converted framework's own scale (compliance, score): its options in turn, and na
            values = [option.value for option in req.answer.options] + (["na"] if req.na_allowed else [])
            value = values[index % len(values)]
        out += [f"  {req.id}:", f"    value: {value}", f"    note: Answer {index} recorded in the benchmark."]
        if linked is None or index < linked:
            out += [
                "    evidence:",
                f"      - {{title: Link {index}, url: 'https://wiki.example.com/p/{index}',"
                f" expires: 2027-0{1 + index % 9}-01}}",
            ]
    return "\n".join(out) + "\n"
