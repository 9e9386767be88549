"""Generated delivery events for the benchmarks: deterministic, realistic in shape, any size.

Each deployment takes about three changes live after two builds (one in ten fails) and two gates
(an approval that is manual, a scan that fails now and then); one deployment in twenty causes an
incident and one in forty is rolled back; one in ten goes to staging first. About eight events a
deployment, spread over the services and over the year before `end`.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(count: int, *, services: int = 20, end: dt.date = dt.date(2026, 12, 1), seed: int = 17) -> Iterator[dict]:
    """About `count` valid events, in time order per service, as spec dicts."""
    rng = random.Random(seed)
    deployments = max(1, count // 8)
    per_service = max(1, deployments // services)
    end_ts = dt.datetime(end.year, end.month, end.day, tzinfo=dt.UTC).timestamp()
    span = 365 * 86400
    made = 0
    for s in range(services):
        service = f"service-{s:02d}"
        step = span / per_service
        t = end_ts - span
        previous = None
        for d in range(per_service):
            if made >= count:
                return
            t += step * (0.5 + rng.random())
            t = min(t, end_ts - 3600)
            dep_id = f"{service}-d{d}"
            changes = []
            for c in range(rng.randint(1, 5)):
                change_id = f"{service}-c{d}-{c}"
                changes.append(change_id)
                made_at = _iso(t - rng.randint(600, 200000))
                yield {"type": "change", "id": change_id, "service": service, "time": made_at}
            for b in range(2):
                status = "failure" if b == 0 and rng.random() < 0.1 else "success"
                yield {"type": "build", "id": f"{service}-b{d}-{b}", "service": service, "time": _iso(t - 500 + b),
                       "status": status, "changes": changes}  # fmt: skip
            if rng.random() < 0.1:
                yield {"type": "deployment", "id": f"{dep_id}-stg", "service": service, "time": _iso(t - 400),
                       "environment": "staging", "changes": changes}  # fmt: skip
            yield {"type": "gate", "id": f"{dep_id}-g1", "service": service, "deployment": dep_id,
                   "name": "change-approval", "entered": _iso(t - 300), "left": _iso(t - 300 + rng.randint(60, 7200)),
                   "result": "pass", "manual": True}  # fmt: skip
            yield {"type": "gate", "id": f"{dep_id}-g2", "service": service, "deployment": dep_id,
                   "name": "security-scan", "entered": _iso(t - 200), "left": _iso(t - 100),
                   "result": "fail" if rng.random() < 0.03 else "pass"}  # fmt: skip
            deployment = {"type": "deployment", "id": dep_id, "service": service, "time": _iso(t + 7200),
                          "changes": changes}  # fmt: skip
            if previous is not None and rng.random() < 0.025:
                deployment["rollback_of"] = previous
            yield deployment
            if rng.random() < 0.05:
                incident = {"type": "incident", "id": f"{service}-i{d}", "service": service, "started": _iso(t + 7300),
                            "caused_by": [dep_id]}  # fmt: skip
                if rng.random() < 0.9:
                    incident["resolved"] = _iso(t + 7300 + rng.randint(300, 36000))
                yield incident
            made += 8
            previous = dep_id


def write_jsonl(path, count: int, **options) -> int:
    """Write about `count` events to `path` as JSON Lines; the number written."""
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        for event in generate(count, **options):
            out.write(json.dumps(event, separators=(",", ":")))
            out.write("\n")
            written += 1
    return written
