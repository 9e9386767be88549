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

import contextlib
import datetime as dt
import gc
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec

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
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:?\d{2})")
TIME_HINT = "an RFC 3339 time with a UTC offset, e.g. 2026-11-03T14:05:00Z"


class Change(msgspec.Struct, frozen=True, gc=False):
    """A change, first committed at `time`."""

    id: str
    service: str
    time: float


class Build(msgspec.Struct, frozen=True, gc=False):
    """A build that finished at `time`, on `changes`."""

    id: str
    service: str
    time: float
    status: str
    changes: tuple[str, ...] = ()


class Deployment(msgspec.Struct, frozen=True, gc=False):
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


class Gate(msgspec.Struct, frozen=True, gc=False):
    """A gate a deployment stood before, from `entered` to `left`."""

    id: str
    service: str
    deployment: str
    name: str
    entered: float
    left: float
    result: str
    manual: bool = False


class Incident(msgspec.Struct, frozen=True, gc=False):
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
    return _seconds(text.upper())


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
        except OverflowError:
            pass
        except ValueError as exc:
            if _TIME.fullmatch(value):  # the right form, a moment out of range (before year 1 in UTC)
                errors.add(f"$.{key}", f"time {value!r} is out of range ({exc})")
                return None
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
    """What the reader keeps while it goes: the events, where each was read, and every problem.

    Where an event was read is kept as its file and line packed in one int (file index << 32 |
    line), in `order`, a list per type in the order of the type's map: a million events keep a
    million small ints and no second dict. Ids of events refused for their values are in `refused`,
    so references to them and duplicates of them are not reported twice.
    """

    events: EventSet = field(default_factory=EventSet)
    files: list[str] = field(default_factory=list)
    order: dict[str, list[int]] = field(default_factory=lambda: {kind: [] for kind in TYPES})
    refused: dict[str, dict[str, int]] = field(default_factory=lambda: {kind: {} for kind in TYPES})
    problems: list[Problem] = field(default_factory=list)
    maps: dict[str, dict[str, Any]] = field(init=False)
    _positions: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.maps = self.events.by_type()

    def file_index(self, file: str) -> int:
        if not self.files or self.files[-1] != file:
            self.files.append(file)
        return len(self.files) - 1

    def place(self, kind: str, event_id: str) -> tuple[str, int]:
        """The file and line of an event read (only asked when there is a problem to report)."""
        packed = self.refused[kind].get(event_id)
        if packed is None:
            positions = self._positions.get(kind)
            if positions is None or len(positions) != len(self.maps[kind]):
                positions = self._positions[kind] = {key: i for i, key in enumerate(self.maps[kind])}
            packed = self.order[kind][positions[event_id]]
        return self.files[packed >> 32], packed & 0xFFFFFFFF

    def knows(self, kind: str, event_id: str) -> bool:
        return event_id in self.maps[kind] or event_id in self.refused[kind]


def _read_object(reading: _Reading, file: str, line: int, obj: Any) -> None:
    """Check one event fully and keep it, or record each of its problems (the slow, thorough path)."""
    errors = _LineErrors(file, line, reading.problems)
    if not isinstance(obj, dict):
        errors.add("$", f"expected a JSON object (an event), got {_shown(obj)}")
        return
    kind = obj.get("type")
    if kind not in _KEY_SETS:
        if "type" not in obj:
            errors.add("$.type", f"missing key 'type'; expected one of {', '.join(TYPES)}")
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
        errors.add(f"$.{key}", f"missing key {key!r} (a {kind} event needs {', '.join(REQUIRED[kind])})")
    event = None if missing else _build_event(kind, obj, errors)
    event_id = obj.get("id")
    if not (isinstance(event_id, str) and event_id):
        return
    if reading.knows(kind, event_id):
        first_file, first_line = reading.place(kind, event_id)
        errors.add("$.id", f"duplicate {kind} id {event_id!r} (first at {first_file}:{first_line})")
        return
    packed = reading.file_index(file) << 32 | line
    if event is None:
        reading.refused[kind][event_id] = packed
    else:
        reading.maps[kind][event_id] = event
        reading.order[kind].append(packed)


# The fast path: msgspec decodes and checks a clean line in C, into the wire forms below, which
# state the spec's table (keys, types, defaults; unknown keys refused). Anything it refuses goes
# through `_read_object`, which finds and words every problem of the line. Both read times alike
# (`_TIME` is msgspec's rule): RFC 3339's date-time with its offset, and the two forms msgspec also
# reads, a space for the T (RFC 3339's note in 5.6 allows it) and an offset without its colon
# (ISO 8601's basic form), which name the same instant. Refusing those two costs a third more time
# on a million lines (a pattern on every time); every other form is refused.
_NONEMPTY = Annotated[str, msgspec.Meta(min_length=1)]
_MOMENT = Annotated[dt.datetime, msgspec.Meta(tz=True)]
_FIRST = dt.datetime(1, 1, 1, tzinfo=dt.UTC).timestamp()
_AFTER_LAST = dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC).timestamp()


def _seconds(text: str) -> float:
    """Seconds since the epoch of a time the pattern passed; ValueError for one outside years 1 to 9999 in UTC."""
    seconds = dt.datetime.fromisoformat(text).timestamp()
    if seconds < _FIRST or seconds > _AFTER_LAST:
        raise ValueError(f"{text} is outside the years 1 to 9999 in UTC")
    return seconds


_IDS = tuple[_NONEMPTY, ...]
_STATUS = Literal["success", "failure"]
_WIRE = {"tag_field": "type", "forbid_unknown_fields": True, "gc": False}


class _ChangeIn(msgspec.Struct, tag="change", **_WIRE):
    id: _NONEMPTY
    service: _NONEMPTY
    time: _MOMENT


class _BuildIn(msgspec.Struct, tag="build", **_WIRE):
    id: _NONEMPTY
    service: _NONEMPTY
    time: _MOMENT
    status: _STATUS
    changes: _IDS = ()


class _DeploymentIn(msgspec.Struct, tag="deployment", **_WIRE):
    id: _NONEMPTY
    service: _NONEMPTY
    time: _MOMENT
    environment: _NONEMPTY = PRODUCTION
    status: _STATUS = SUCCESS
    changes: _IDS = ()
    rollback_of: _NONEMPTY | msgspec.UnsetType = msgspec.UNSET


class _GateIn(msgspec.Struct, tag="gate", **_WIRE):
    id: _NONEMPTY
    service: _NONEMPTY
    deployment: _NONEMPTY
    name: _NONEMPTY
    entered: _MOMENT
    left: _MOMENT
    result: Literal["pass", "fail"]
    manual: bool = False


class _IncidentIn(msgspec.Struct, tag="incident", **_WIRE):
    id: _NONEMPTY
    service: _NONEMPTY
    started: _MOMENT
    resolved: _MOMENT | msgspec.UnsetType = msgspec.UNSET
    caused_by: _IDS = ()


_WIRE_FORMS = _ChangeIn | _BuildIn | _DeploymentIn | _GateIn | _IncidentIn
_DECODER = msgspec.json.Decoder(_WIRE_FORMS)


def _from_wire(w: Any) -> tuple[str, Event] | None:
    """The typed event of a decoded line, or None when a check the wire form cannot state fails
    (a gate left before it was entered, an incident resolved before it started, a time in year 1 or
    9999, which an offset may carry outside the years UTC can hold: the thorough path words it)."""
    cls = type(w)
    if cls is _ChangeIn:
        time = w.time
        if time.year in _EDGE_YEARS:
            return None
        return "change", Change(w.id, w.service, time.timestamp())
    if cls is _BuildIn:
        time = w.time
        if time.year in _EDGE_YEARS:
            return None
        return "build", Build(w.id, w.service, time.timestamp(), w.status, w.changes)
    if cls is _DeploymentIn:
        time = w.time
        if time.year in _EDGE_YEARS:
            return None
        rollback_of = None if w.rollback_of is msgspec.UNSET else w.rollback_of
        return "deployment", Deployment(
            w.id, w.service, time.timestamp(), w.environment, w.status, w.changes, rollback_of
        )
    if cls is _GateIn:
        if w.entered.year in _EDGE_YEARS or w.left.year in _EDGE_YEARS:
            return None
        entered, left = w.entered.timestamp(), w.left.timestamp()
        if left < entered:
            return None
        return "gate", Gate(w.id, w.service, w.deployment, w.name, entered, left, w.result, w.manual)
    if w.started.year in _EDGE_YEARS or (w.resolved is not msgspec.UNSET and w.resolved.year in _EDGE_YEARS):
        return None
    resolved = None if w.resolved is msgspec.UNSET else w.resolved.timestamp()
    started = w.started.timestamp()
    if resolved is not None and resolved < started:
        return None
    return "incident", Incident(w.id, w.service, started, resolved, w.caused_by)


_EDGE_YEARS = frozenset((1, 9999))


def read_event_objects(
    items: Iterable[tuple[str, int, Any]], existing: Mapping[str, Mapping[str, float | None]] | None = None
) -> EventSet:
    """Check already-parsed events, each given as (file, line, object), and return them as one set.

    `existing` holds the ids of events kept elsewhere (a scope's stored events), type by type, each
    with its time (a change's, for the deployed-before-made check): references may point at them.
    Raises InvalidFile with every problem of every item. Batches are small, so every item goes the
    thorough way.
    """
    reading = _Reading()
    with _no_cycle_collection():
        for file, line, obj in items:
            _read_object(reading, file, line, obj)
    return _finish(reading, existing)


def _read_lines(reading: _Reading, file: str, lines: Iterable[bytes | str]) -> None:
    """Parse and keep every non-blank line of one file (lines split on LF only, so line numbers are the file's)."""
    decode, maps, order, refused = _DECODER.decode, reading.maps, reading.order, reading.refused
    base = reading.file_index(file) << 32
    for number, raw in enumerate(lines, 1):
        if not raw or raw.isspace():
            continue
        try:
            # ValueError: a time msgspec cannot hold in UTC (before year 1); the thorough way words it
            typed = _from_wire(decode(raw))
            if typed is not None:  # kept unless its id is taken (the thorough path words the duplicate)
                kind, event = typed
                events = maps[kind]
                if event.id not in events and event.id not in refused[kind]:
                    events[event.id] = event
                    order[kind].append(base | number)
                    continue
        except (msgspec.ValidationError, ValueError, OverflowError):
            pass
        except msgspec.DecodeError as exc:
            reading.problems.append(Problem(file, number, "$", f"not JSON: {_json_reason(exc)}"))
            continue
        try:
            obj = json.loads(raw)  # the standard reader: a number beyond a double is inf, not an error here
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            reading.problems.append(Problem(file, number, "$", f"not JSON: {reason}"))
            continue
        _read_object(reading, file, number, obj)
        base = reading.file_index(file) << 32


def _json_reason(exc: msgspec.DecodeError) -> str:
    """msgspec's words for a line that is not JSON, without its own prefix."""
    return str(exc).removeprefix("JSON is malformed: ")


@contextlib.contextmanager
def _no_cycle_collection():
    """Pause the cyclic collector while a million small objects are made: events hold no cycles, and
    the collector's passes over a growing heap cost a third of the reading."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _finish(reading: _Reading, existing: Mapping[str, Mapping[str, float | None]] | None) -> EventSet:
    _check_references(reading, existing or {})
    if reading.problems:
        raise InvalidFile(reading.problems)
    return reading.events


def read_events(
    files: Sequence[tuple[str, str | bytes]], existing: Mapping[str, Mapping[str, float | None]] | None = None
) -> EventSet:
    """Read JSON Lines files, each given as (name, text), as one set of events; InvalidFile with every problem."""
    reading = _Reading()
    with _no_cycle_collection():
        for name, text in files:
            data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
            _read_lines(reading, name, data.split(b"\n"))
    return _finish(reading, existing)


def read_event_files(paths: Sequence[str]) -> EventSet:
    """Read events files from disk, as one set, a line at a time; a missing or unreadable file is a problem too."""
    reading = _Reading()
    with _no_cycle_collection():
        for path in paths:
            try:
                with open(path, "rb") as handle:
                    _read_lines(reading, str(path), handle)
            except FileNotFoundError:
                reading.problems.append(Problem(str(path), 1, "$", "no such file"))
            except OSError as exc:
                reading.problems.append(Problem(str(path), 1, "$", f"cannot be read: {exc.strerror}"))
    return _finish(reading, None)


def _check_references(reading: _Reading, existing: Mapping[str, Mapping[str, float | None]]) -> None:
    """Every reference names an event of the right type, here or kept elsewhere; changes go live after they are made.

    The loops test membership in the maps directly (a million events: a closure call a reference
    would cost a second); a problem found is then worded by `_references_of`."""
    events, changes, deployments = reading.events, reading.events.changes, reading.events.deployments
    refused_changes, refused_deployments = reading.refused["change"], reading.refused["deployment"]
    kept_changes, kept_deployments = existing.get("change", {}), existing.get("deployment", {})

    def change_known(change_id: str) -> bool:
        return change_id in changes or change_id in refused_changes or change_id in kept_changes

    def deployment_known(deployment_id: str) -> bool:
        return deployment_id in deployments or deployment_id in refused_deployments or deployment_id in kept_deployments

    for build in events.builds.values():
        for change_id in build.changes:
            if change_id not in changes and not change_known(change_id):
                _report_changes(reading, "build", build.id, build.changes, change_known)
                break
    for deployment in deployments.values():
        for change_id in deployment.changes:
            change = changes.get(change_id)
            if change is None or deployment.time < change.time:
                _report_changes(reading, "deployment", deployment.id, deployment.changes, change_known, deployment.time,
                                existing.get("change", {}))  # fmt: skip
                break
        if deployment.rollback_of is not None and not deployment_known(deployment.rollback_of):
            _report(reading, "deployment", deployment.id, "$.rollback_of",
                    f"no deployment has id {deployment.rollback_of!r}")  # fmt: skip
    for gate in events.gates.values():
        if gate.deployment not in deployments and not deployment_known(gate.deployment):
            _report(reading, "gate", gate.id, "$.deployment", f"no deployment has id {gate.deployment!r}")
    for incident in events.incidents.values():
        for index, deployment_id in enumerate(incident.caused_by):
            if deployment_id not in deployments and not deployment_known(deployment_id):
                _report(reading, "incident", incident.id, f"$.caused_by[{index}]",
                        f"no deployment has id {deployment_id!r}")  # fmt: skip


def _report(reading: _Reading, kind: str, event_id: str, path: str, message: str) -> None:
    file, line = reading.place(kind, event_id)
    reading.problems.append(Problem(file, line, path, message))


def _report_changes(reading, kind, event_id, change_ids, known, finished=None, kept=None) -> None:
    """Each problem of one event's `changes`: an unknown id, or (a deployment's) a change made after it."""
    changes = reading.events.changes
    for index, change_id in enumerate(change_ids):
        if not known(change_id):
            _report(reading, kind, event_id, f"$.changes[{index}]", f"no change has id {change_id!r}")
            continue
        if finished is None:
            continue
        change = changes.get(change_id)
        made = change.time if change is not None else (kept or {}).get(change_id)
        if made is not None and finished < made:
            _report(
                reading, kind, event_id, f"$.changes[{index}]",
                f"change {change_id!r} was made at {format_time(made)}, after this deployment finished at "
                f"{format_time(finished)}",
            )  # fmt: skip
