"""Delivery events read and checked as the spec's section 1 says (`delivery-events.md`).

A file of events is JSON Lines. `read_events` parses every line, checks every key and type, and
then the references between events across all the files read together; every problem of every
file is collected and raised at once as `InvalidFile`, each as `FILE:LINE: PATH: message`. What
comes out is an `EventSet` of frozen, typed events: nothing downstream reads a raw dict.

Times become seconds since the epoch (floats, exact to the microsecond for the next few
centuries), so durations are plain subtractions. The reader is written for a million lines in a
few seconds: one pass, one small function an event type, no per-key objects.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidFile, Problem

TYPES = ("change", "build", "deployment", "gate", "incident")
PRODUCTION = "production"
SUCCESS = "success"
FAILURE = "failure"

_COMMON = ("type", "id", "service")
KEYS: dict[str, tuple[str, ...]] = {
    "change": (*_COMMON, "time"),
    "build": (*_COMMON, "time", "status", "changes"),
    "deployment": (*_COMMON, "time", "environment", "status", "changes", "rollback_of"),
    "gate": (*_COMMON, "deployment", "name", "entered", "left", "result", "manual"),
    "incident": (*_COMMON, "started", "resolved", "caused_by"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "change": (*_COMMON, "time"),
    "build": (*_COMMON, "time", "status"),
    "deployment": (*_COMMON, "time"),
    "gate": (*_COMMON, "deployment", "name", "entered", "left", "result"),
    "incident": (*_COMMON, "started"),
}
_KEY_SETS = {kind: frozenset(keys) for kind, keys in KEYS.items()}

# RFC 3339's date-time: a full date, "T", a full time with optional fractions, and an offset.
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
TIME_HINT = "an RFC 3339 time with a UTC offset, e.g. 2026-11-03T14:05:00Z"


@dataclass(frozen=True, slots=True)
class Change:
    """A change, first committed at `time`."""

    id: str
    service: str
    time: float


@dataclass(frozen=True, slots=True)
class Build:
    """A build that finished at `time`, on `changes`."""

    id: str
    service: str
    time: float
    status: str
    changes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment that finished at `time`; a failed one did not go live."""

    id: str
    service: str
    time: float
    environment: str = PRODUCTION
    status: str = SUCCESS
    changes: tuple[str, ...] = ()
    rollback_of: str | None = None

    @property
    def is_live(self) -> bool:
        """Whether it took its changes live in production (a successful production deployment)."""
        return self.status == SUCCESS and self.environment == PRODUCTION


@dataclass(frozen=True, slots=True)
class Gate:
    """A gate a deployment stood before, from `entered` to `left`."""

    id: str
    service: str
    deployment: str
    name: str
    entered: float
    left: float
    result: str
    manual: bool = False


@dataclass(frozen=True, slots=True)
class Incident:
    """A failure in production, from `started` to `resolved` (None while open)."""

    id: str
    service: str
    started: float
    resolved: float | None = None
    caused_by: tuple[str, ...] = ()


Event = Change | Build | Deployment | Gate | Incident


@dataclass(frozen=True)
class EventSet:
    """One set of valid events, each type by id, in the order they were read."""

    changes: dict[str, Change] = field(default_factory=dict)
    builds: dict[str, Build] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)
    gates: dict[str, Gate] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)

    def services(self) -> list[str]:
        """Every service any event names, sorted."""
        names: set[str] = set()
        for events in self.by_type().values():
            names.update(event.service for event in events.values())
        return sorted(names)

    def by_type(self) -> dict[str, dict[str, Any]]:
        """The five maps, keyed by the events' type names."""
        return {
            "change": self.changes,
            "build": self.builds,
            "deployment": self.deployments,
            "gate": self.gates,
            "incident": self.incidents,
        }

    def __len__(self) -> int:
        return sum(len(events) for events in self.by_type().values())

    def all(self) -> Iterable[Event]:
        """Every event, type by type."""
        for events in self.by_type().values():
            yield from events.values()


def parse_time(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 time that has an offset; ValueError otherwise."""
    if not _TIME.fullmatch(text):
        raise ValueError(text)
    return dt.datetime.fromisoformat(text.upper()).timestamp()


def format_time(seconds: float) -> str:
    """A time as RFC 3339 in UTC with a Z; fractions only when there are some."""
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def event_to_dict(event: Event) -> dict[str, Any]:
    """An event in the spec's form, every key written out and times in UTC: read back, it is the same event."""
    kind = TYPE_OF[type(event)]
    out: dict[str, Any] = {"type": kind, "id": event.id, "service": event.service}
    if isinstance(event, Change):
        out["time"] = format_time(event.time)
    elif isinstance(event, Build):
        out.update(time=format_time(event.time), status=event.status, changes=list(event.changes))
    elif isinstance(event, Deployment):
        out.update(
            time=format_time(event.time), environment=event.environment, status=event.status,
            changes=list(event.changes),
        )  # fmt: skip
        if event.rollback_of is not None:
            out["rollback_of"] = event.rollback_of
    elif isinstance(event, Gate):
        out.update(
            deployment=event.deployment, name=event.name, entered=format_time(event.entered),
            left=format_time(event.left), result=event.result, manual=event.manual,
        )  # fmt: skip
    else:
        out["started"] = format_time(event.started)
        if event.resolved is not None:
            out["resolved"] = format_time(event.resolved)
        out["caused_by"] = list(event.caused_by)
    return out


TYPE_OF = {Change: "change", Build: "build", Deployment: "deployment", Gate: "gate", Incident: "incident"}


class _LineErrors:
    """The problems of one event, with the file and line they belong to."""

    __slots__ = ("file", "line", "problems")

    def __init__(self, file: str, line: int, problems: list[Problem]):
        self.file, self.line, self.problems = file, line, problems

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.line, path, message))


def _key_path(key: str) -> str:
    return f"$.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"$[{json.dumps(key)}]"


def _string(obj: dict, key: str, errors: _LineErrors, what: str = "a non-empty string") -> str | None:
    value = obj.get(key)
    if isinstance(value, str) and value:
        return value
    errors.add(f"$.{key}", f"expected {what}, got {_shown(value)}")
    return None


def _time(obj: dict, key: str, errors: _LineErrors) -> float | None:
    value = obj.get(key)
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            pass
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?", value):
            errors.add(f"$.{key}", f"time {value!r} has no UTC offset; expected {TIME_HINT}")
            return None
    errors.add(f"$.{key}", f"expected {TIME_HINT}, got {_shown(value)}")
    return None


def _choice(obj: dict, key: str, options: tuple[str, ...], errors: _LineErrors, default: str | None = None):
    if key not in obj and default is not None:
        return default
    value = obj.get(key)
    if value in options:
        return value
    errors.add(f"$.{key}", f"expected one of {', '.join(options)}, got {_shown(value)}")
    return None


def _ids(obj: dict, key: str, errors: _LineErrors, what: str) -> tuple[str, ...] | None:
    value = obj.get(key)
    if value is None and key not in obj:
        return ()
    if not isinstance(value, list):
        errors.add(f"$.{key}", f"expected a list of {what} ids, got {_shown(value)}")
        return None
    bad = False
    for index, item in enumerate(value):
        if not (isinstance(item, str) and item):
            errors.add(f"$.{key}[{index}]", f"expected a {what} id (a non-empty string), got {_shown(item)}")
            bad = True
    return None if bad else tuple(value)


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "an empty string" if not value else repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return "a list" if isinstance(value, list) else "an object"


def _build_event(kind: str, obj: dict, errors: _LineErrors) -> Event | None:
    """The typed event of a checked object, or None when any of its values is wrong."""
    before = len(errors.problems)
    event_id = _string(obj, "id", errors)
    service = _string(obj, "service", errors)
    if kind == "change":
        time = _time(obj, "time", errors)
        built: Event | None = None if len(errors.problems) > before else Change(event_id, service, time)
        return built
    if kind == "build":
        time = _time(obj, "time", errors)
        status = _choice(obj, "status", (SUCCESS, FAILURE), errors)
        changes = _ids(obj, "changes", errors, "change")
        return None if len(errors.problems) > before else Build(event_id, service, time, status, changes)
    if kind == "deployment":
        time = _time(obj, "time", errors)
        environment = PRODUCTION if "environment" not in obj else _string(obj, "environment", errors)
        status = _choice(obj, "status", (SUCCESS, FAILURE), errors, default=SUCCESS)
        changes = _ids(obj, "changes", errors, "change")
        rollback_of = None if "rollback_of" not in obj else _string(obj, "rollback_of", errors, "a deployment id")
        if len(errors.problems) > before:
            return None
        return Deployment(event_id, service, time, environment, status, changes, rollback_of)
    if kind == "gate":
        deployment = _string(obj, "deployment", errors, "a deployment id")
        name = _string(obj, "name", errors)
        entered = _time(obj, "entered", errors)
        left = _time(obj, "left", errors)
        result = _choice(obj, "result", ("pass", "fail"), errors)
        manual = obj.get("manual", False)
        if not isinstance(manual, bool):
            errors.add("$.manual", f"expected true or false, got {_shown(manual)}")
        if entered is not None and left is not None and left < entered:
            errors.add("$.left", f"the gate was left at {obj['left']}, before it was entered at {obj['entered']}")
        if len(errors.problems) > before:
            return None
        return Gate(event_id, service, deployment, name, entered, left, result, manual)
    started = _time(obj, "started", errors)
    resolved = None if "resolved" not in obj else _time(obj, "resolved", errors)
    caused_by = _ids(obj, "caused_by", errors, "deployment")
    if started is not None and resolved is not None and resolved < started:
        errors.add("$.resolved", f"resolved at {obj['resolved']}, before the incident started at {obj['started']}")
    if len(errors.problems) > before:
        return None
    return Incident(event_id, service, started, resolved, caused_by)


@dataclass
class _Reading:
    """What the reader keeps while it goes: the events, where each was read, and every problem."""

    events: EventSet = field(default_factory=EventSet)
    where: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    maps: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.maps = self.events.by_type()


def _read_object(reading: _Reading, file: str, line: int, obj: Any) -> None:
    errors = _LineErrors(file, line, reading.problems)
    if not isinstance(obj, dict):
        errors.add("$", f"expected a JSON object (an event), got {_shown(obj)}")
        return
    kind = obj.get("type")
    if kind not in _KEY_SETS:
        if "type" not in obj:
            errors.add("$", f"missing key 'type'; expected one of {', '.join(TYPES)}")
        else:
            errors.add("$.type", f"unknown type {_shown(kind)}; expected one of {', '.join(TYPES)}")
        return
    allowed = _KEY_SETS[kind]
    if not allowed.issuperset(obj):
        for key in obj:
            if key not in allowed:
                errors.add(_key_path(key), f"unknown key {key!r} for a {kind} event; allowed: {', '.join(KEYS[kind])}")
    missing = [key for key in REQUIRED[kind] if key not in obj]
    for key in missing:
        errors.add("$", f"missing key {key!r} (a {kind} event needs {', '.join(REQUIRED[kind])})")
    event = None if missing else _build_event(kind, obj, errors)
    event_id = obj.get("id")
    if not (isinstance(event_id, str) and event_id):
        return
    first = reading.where.get((kind, event_id))
    if first is not None:
        errors.add("$.id", f"duplicate {kind} id {event_id!r} (first at {first[0]}:{first[1]})")
        return
    reading.where[(kind, event_id)] = (file, line)
    if event is not None:
        reading.maps[kind][event_id] = event


def read_event_objects(
    items: Iterable[tuple[str, int, Any]], existing: Mapping[str, Mapping[str, float | None]] | None = None
) -> EventSet:
    """Check already-parsed events, each given as (file, line, object), and return them as one set.

    `existing` holds the ids of events kept elsewhere (a scope's stored events), type by type, each
    with its time (a change's, for the deployed-before-made check): references may point at them.
    Raises InvalidFile with every problem of every item.
    """
    reading = _Reading()
    for file, line, obj in items:
        _read_object(reading, file, line, obj)
    _check_references(reading, existing or {})
    if reading.problems:
        raise InvalidFile(reading.problems)
    return reading.events


def parse_lines(file: str, text: str) -> Iterable[tuple[str, int, Any]]:
    """The (file, line, object) of every non-blank line; a line that is not JSON gives a `_NotJson`."""
    for number, raw in enumerate(text.split("\n"), 1):
        if not raw or raw.isspace():
            continue
        try:
            yield file, number, json.loads(raw)
        except ValueError as exc:
            yield file, number, _NotJson(str(exc))


class _NotJson:
    """A line that did not parse, carried to the reader so its error sits in line order."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


def read_events(
    files: Sequence[tuple[str, str]], existing: Mapping[str, Mapping[str, float | None]] | None = None
) -> EventSet:
    """Read JSON Lines files, each given as (name, text), as one set of events; InvalidFile with every problem."""
    reading = _Reading()
    for name, text in files:
        for file, line, obj in parse_lines(name, text):
            if isinstance(obj, _NotJson):
                reading.problems.append(Problem(file, line, "$", f"not JSON: {obj.reason}"))
            else:
                _read_object(reading, file, line, obj)
    _check_references(reading, existing or {})
    if reading.problems:
        raise InvalidFile(reading.problems)
    return reading.events


def read_event_files(paths: Sequence[str]) -> EventSet:
    """Read events files from disk (UTF-8), as one set; a missing or unreadable file is a problem too."""
    texts, problems = [], []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                texts.append((str(path), handle.read()))
        except FileNotFoundError:
            problems.append(Problem(str(path), 1, "$", "no such file"))
        except UnicodeDecodeError as exc:
            problems.append(Problem(str(path), 1, "$", f"not UTF-8 text: {exc.reason} at byte {exc.start}"))
        except OSError as exc:
            problems.append(Problem(str(path), 1, "$", f"cannot be read: {exc.strerror}"))
    try:
        events = read_events(texts)
    except InvalidFile as exc:
        problems.extend(exc.problems)
    if problems:
        raise InvalidFile(problems)
    return events


def _check_references(reading: _Reading, existing: Mapping[str, Mapping[str, float | None]]) -> None:
    """Every reference names an event of the right type, here or kept elsewhere; changes go live after they are made."""
    events, where, problems = reading.events, reading.where, reading.problems

    def known(kind: str, event_id: str) -> bool:
        return (kind, event_id) in where or event_id in existing.get(kind, {})

    def change_time(change_id: str) -> float | None:
        change = events.changes.get(change_id)
        return change.time if change is not None else existing.get("change", {}).get(change_id)

    def report(kind: str, event_id: str, path: str, message: str) -> None:
        file, line = where[(kind, event_id)]
        problems.append(Problem(file, line, path, message))

    for build in events.builds.values():
        for index, change_id in enumerate(build.changes):
            if not known("change", change_id):
                report("build", build.id, f"$.changes[{index}]", f"no change has id {change_id!r}")
    for deployment in events.deployments.values():
        for index, change_id in enumerate(deployment.changes):
            if not known("change", change_id):
                report("deployment", deployment.id, f"$.changes[{index}]", f"no change has id {change_id!r}")
                continue
            made = change_time(change_id)
            if made is not None and deployment.time < made:
                report(
                    "deployment", deployment.id, f"$.changes[{index}]",
                    f"change {change_id!r} was made at {format_time(made)}, after this deployment finished at "
                    f"{format_time(deployment.time)}",
                )  # fmt: skip
        if deployment.rollback_of is not None and not known("deployment", deployment.rollback_of):
            report("deployment", deployment.id, "$.rollback_of", f"no deployment has id {deployment.rollback_of!r}")
    for gate in events.gates.values():
        if not known("deployment", gate.deployment):
            report("gate", gate.id, "$.deployment", f"no deployment has id {gate.deployment!r}")
    for incident in events.incidents.values():
        for index, deployment_id in enumerate(incident.caused_by):
            if not known("deployment", deployment_id):
                report("incident", incident.id, f"$.caused_by[{index}]", f"no deployment has id {deployment_id!r}")
