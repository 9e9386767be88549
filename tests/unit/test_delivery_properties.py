"""Property tests of the delivery engine against an independent reading of the spec (`delivery_oracle.py`).

Hypothesis generates valid event sets (several services, changes deployed twice, staging and failed
deployments, rollbacks across services, manual and automatic gates, open and resolved incidents, times
with various UTC offsets and ties, ids shared between types) and writes them as JSON Lines. The engine
must give the oracle's figures for any window, and the invariants the issue names must hold: an
unrelated service, the order of lines, the split into files, and a deployment outside the window that
nothing refers to change nothing. The validator's errors are pinned one by one, in the spec's
`FILE:LINE: PATH: message` form.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.domain.delivery import Window, dora_document, read_events
from assessment.domain.errors import InvalidFile
from tests.conftest import EXAMPLES, tries
from tests.unit.delivery_oracle import differences, oracle_document, read_jsonl

# Generated times fall on a half-hour grid (so ties and window edges at midnight are common), now and
# then a second off it, between BASE and BASE + SLOTS half-hours.
BASE = dt.datetime(2026, 10, 25, tzinfo=dt.UTC)
SLOTS = 48 * 45
OFFSETS = [0, 0, 60, -300, 330, 840, -720, 120]  # minutes east of UTC
SERVICES = ["checkout", "search", "billing", "a", "b"]
GATE_NAMES = ["change-approval", "security-scan", "unit-tests"]


def time_text(instant: dt.datetime, offset_minutes: int, use_z: bool = True) -> str:
    """The instant written in RFC 3339 at the given offset (`Z` or `+00:00` for UTC)."""
    local = instant.astimezone(dt.timezone(dt.timedelta(minutes=offset_minutes)))
    text = local.isoformat()
    return text.replace("+00:00", "Z") if use_z and offset_minutes == 0 else text


@st.composite
def instants(draw) -> dt.datetime:
    """An instant on the grid or a second off it; a few slots come up often, so that times tie."""
    slot = draw(st.one_of(st.integers(0, SLOTS), st.sampled_from([96, 480, 481])))
    return BASE + dt.timedelta(minutes=30 * slot, seconds=draw(st.sampled_from([0, 0, 0, 0, -1, 1])))


@st.composite
def times(draw) -> tuple[dt.datetime, str]:
    """An instant and its text at a random offset."""
    instant = draw(instants())
    return instant, time_text(instant, draw(st.sampled_from(OFFSETS)), draw(st.booleans()))


def maybe(draw, key: str, strategy, often: bool = False) -> dict:
    """`{key: value}` or nothing, so optional keys are sometimes absent and sometimes given (`often`: 3 times in 4)."""
    return {key: draw(strategy)} if draw(st.sampled_from([True, True, True, False] if often else [True, False])) else {}


@st.composite
def event_sets(draw, services=None, prefix: str = "e", max_services: int = 3, tangled: bool = False) -> list[dict]:
    """A valid set of events: every reference resolves, no change is taken live before it was made.

    `tangled` lets a deployment or a build list another service's changes and a gate carry another
    service than its deployment's, which the spec allows (the oracle's readings say how they count)."""
    names = services or draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=max_services, unique=True))
    used: dict[str, set[int]] = {}

    def fresh_id(kind: str) -> str:
        # Each type numbers its ids on its own, so a change and a deployment often share one; the
        # numbers are not in order of creation, and "e10" sorts before "e9" as a string.
        taken = used.setdefault(kind, set())
        number = draw(st.integers(1, 150).filter(lambda n: n not in taken))
        taken.add(number)
        return f"{prefix}{number}"

    events: list[dict] = []
    changes: dict[str, list[tuple[str, dt.datetime]]] = {}
    deployments: dict[str, list[dict]] = {}
    for service in names:
        changes[service] = []
        for _ in range(draw(st.integers(0, 6))):
            instant, text = draw(times())
            change = {"type": "change", "id": fresh_id("change"), "service": service, "time": text}
            events.append(change)
            changes[service].append((change["id"], instant))
        deployments[service] = []
        for _ in range(draw(st.integers(0, 6))):
            instant, text = draw(times())
            if changes[service] and draw(st.booleans()):  # most often a while after one of its changes
                _, made = draw(st.sampled_from(changes[service]))
                instant = made + dt.timedelta(minutes=30 * draw(st.sampled_from([0, 1, 3, 10, 48, 200])))
                text = time_text(instant, draw(st.sampled_from(OFFSETS)))
            listable = [c for name in names for c in changes.get(name, [])] if tangled else changes[service]
            eligible = [c for c, made in listable if made <= instant]
            deployment = {"type": "deployment", "id": fresh_id("deployment"), "service": service, "time": text}
            deployment |= maybe(draw, "environment", st.sampled_from(["production", "production", "staging"]))
            deployment |= maybe(draw, "status", st.sampled_from(["success", "success", "failure"]))
            if eligible:
                deployment |= maybe(
                    draw, "changes", st.lists(st.sampled_from(eligible), unique=True, max_size=3), often=True
                )
            events.append(deployment)
            deployments[service].append((deployment, instant))
        for _ in range(draw(st.integers(0, 3))):
            build = {"type": "build", "id": fresh_id("build"), "service": service, "time": draw(times())[1]}
            build["status"] = draw(st.sampled_from(["success", "failure"]))
            known = [c for name in (names if tangled else [service]) for c, _ in changes.get(name, [])]
            if known:
                build |= maybe(draw, "changes", st.lists(st.sampled_from(known), unique=True, max_size=3), often=True)
            events.append(build)
    every_deployment = [d["id"] for service in names for d, _ in deployments[service]]
    for service in names:
        own = [d["id"] for d, _ in deployments[service]]
        for deployment, instant in deployments[service]:
            others = [d for d in every_deployment if d != deployment["id"]]
            if others and draw(st.integers(0, 4)) == 0:  # rollbacks, now and then of another service
                deployment["rollback_of"] = draw(st.sampled_from(others))
            for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
                entered = instant - dt.timedelta(minutes=draw(st.integers(0, 600)))
                left = entered + dt.timedelta(minutes=draw(st.sampled_from([0, 10, 30, 90, 210])))
                offset = draw(st.sampled_from(OFFSETS))
                owner = draw(st.sampled_from(names)) if tangled else service
                gate = {"type": "gate", "id": fresh_id("gate"), "service": owner, "deployment": deployment["id"]}
                gate |= {"name": draw(st.sampled_from(GATE_NAMES)), "result": draw(st.sampled_from(["pass", "fail"]))}
                gate |= {"entered": time_text(entered, offset), "left": time_text(left, draw(st.sampled_from(OFFSETS)))}
                gate |= maybe(draw, "manual", st.booleans())
                events.append(gate)
        for _ in range(draw(st.integers(0, 3))):
            started, text = draw(times())
            incident = {"type": "incident", "id": fresh_id("incident"), "service": service, "started": text}
            if draw(st.booleans()):
                resolved = started + dt.timedelta(minutes=draw(st.sampled_from([0, 15, 90, 600, 3000])))
                incident["resolved"] = time_text(resolved, draw(st.sampled_from(OFFSETS)))
            if every_deployment:
                pool = own + every_deployment  # mostly its own service's deployments
                incident |= maybe(draw, "caused_by", st.lists(st.sampled_from(pool), unique=True, max_size=2))
            events.append(incident)
    return events


@st.composite
def windows(draw) -> tuple[dt.date, dt.date]:
    """A window of whole days over the generated times, from one day to about six weeks."""
    first = BASE.date() + dt.timedelta(days=draw(st.integers(0, 42)))
    return first, first + dt.timedelta(days=draw(st.integers(0, 40)))


def jsonl(events: list[dict]) -> str:
    return "".join(json.dumps(event) + "\n" for event in events)


def engine_document(files: list[tuple[str, str]], window: tuple[dt.date, dt.date], services=None) -> dict:
    """The engine's document, as `dora --format json` would print it (round-tripped through JSON)."""
    document = dora_document(read_events(files), Window(*window), services=services)
    return json.loads(json.dumps(document))


def assert_same(expected: dict, actual: dict) -> None:
    found = differences(expected, actual)
    assert not found, "\n".join(found[:20])


# -- the spec's example --------------------------------------------------------------------------

EXAMPLE = EXAMPLES / "delivery"
NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def test_the_oracle_gives_the_spec_examples_figures():
    events = read_jsonl([(EXAMPLE / "checkout.events.jsonl").read_text(encoding="utf-8")])
    assert_same(json.loads((EXAMPLE / "checkout.expected.json").read_text()), oracle_document(events, *NOVEMBER))


def test_the_engine_gives_the_spec_examples_figures():
    text = (EXAMPLE / "checkout.events.jsonl").read_text(encoding="utf-8")
    expected = json.loads((EXAMPLE / "checkout.expected.json").read_text())
    assert_same(expected, engine_document([("checkout.events.jsonl", text)], NOVEMBER))


# -- the engine against the oracle ---------------------------------------------------------------


@settings(max_examples=tries(100), deadline=None)
@given(st.booleans().flatmap(lambda tangled: event_sets(tangled=tangled)), windows(), st.data())
def test_the_engine_gives_the_oracles_figures(events, window, data):
    named = data.draw(
        st.one_of(st.none(), st.lists(st.sampled_from([*SERVICES, "nobody"]), min_size=1, max_size=3, unique=True))
    )
    expected = oracle_document(events, *window, services=named)
    assert_same(expected, engine_document([("events.jsonl", jsonl(events))], window, services=named))


@settings(max_examples=tries(40), deadline=None)
@given(event_sets(services=["checkout", "search"]), event_sets(services=["unrelated"], prefix="u"), windows())
def test_an_unrelated_service_changes_no_other_services_figures(events, unrelated, window):
    before = engine_document([("events.jsonl", jsonl(events))], window)
    after = engine_document([("events.jsonl", jsonl(events + unrelated))], window)
    assert ("unrelated" in [s["service"] for s in after["services"]]) == bool(unrelated)
    after["services"] = [s for s in after["services"] if s["service"] != "unrelated"]
    assert_same(before, after)


@settings(max_examples=tries(50), deadline=None)
@given(st.booleans().flatmap(lambda tangled: event_sets(tangled=tangled)), windows(), st.randoms(), st.integers(1, 4))
def test_shuffled_lines_and_several_files_change_nothing(events, window, rnd, file_count):
    one_file = engine_document([("events.jsonl", jsonl(events))], window)
    lines = [json.dumps(event) for event in events] + [""] * rnd.randint(0, 3)  # blank lines are ignored
    rnd.shuffle(lines)
    cuts = sorted(rnd.randint(0, len(lines)) for _ in range(file_count - 1))
    parts = [lines[a:b] for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True)]
    files = [(f"part-{n}.jsonl", "\n".join(part) + "\n") for n, part in enumerate(parts)]
    assert_same(one_file, engine_document(files, window))


@st.composite
def outside_deployments(draw, events: list[dict], window: tuple[dt.date, dt.date]) -> list[dict]:
    """A deployment of a known service before `from` or on/after the day after `to`, that lists no change and
    rolls nothing back, with perhaps gates of its own: by the spec it cannot change a figure of the window."""
    start = dt.datetime.combine(window[0], dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(window[1] + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    before = start - dt.timedelta(minutes=draw(st.sampled_from([1, 30, 60 * 24, 60 * 24 * 40])), seconds=0)
    after = end + dt.timedelta(minutes=draw(st.sampled_from([0, 1, 60 * 24, 60 * 24 * 40])))
    instant = draw(st.sampled_from([before, after, start - dt.timedelta(seconds=1)]))
    service = draw(st.sampled_from(sorted({"checkout"} | {e["service"] for e in events})))
    deployment = {"type": "deployment", "id": "outside", "service": service}
    deployment["time"] = time_text(instant, draw(st.sampled_from(OFFSETS)))
    deployment |= maybe(draw, "environment", st.sampled_from(["production", "staging"]))
    deployment |= maybe(draw, "status", st.sampled_from(["success", "failure"]))
    deployment |= maybe(draw, "changes", st.just([]))
    gates = [
        {
            "type": "gate",
            "id": f"outside-gate-{n}",
            "service": service,
            "deployment": "outside",
            "name": draw(st.sampled_from(GATE_NAMES)),
            "entered": time_text(instant - dt.timedelta(hours=1), 0),
            "left": time_text(instant, 0),
            "result": draw(st.sampled_from(["pass", "fail"])),
            "manual": draw(st.booleans()),
        }
        for n in range(draw(st.integers(0, 2)))
    ]
    return [deployment, *gates]


@settings(max_examples=tries(40), deadline=None)
@given(event_sets(), windows(), st.data())
def test_a_deployment_outside_the_window_that_nothing_refers_to_changes_nothing(events, window, data):
    extra = data.draw(outside_deployments(events, window))
    named = sorted({"checkout"} | {e["service"] for e in events})  # so a first event of checkout adds no entry
    before = engine_document([("events.jsonl", jsonl(events))], window, services=named)
    assert_same(before, engine_document([("events.jsonl", jsonl(events + extra))], window, services=named))


def test_a_deployment_outside_the_window_does_change_figures_when_it_delivers_a_change_or_rolls_one_back():
    """The other side of the rule: an earlier delivery of a change takes its lead time out of the window,
    and a rollback after the window still marks a deployment of the window failed (section 3)."""
    window = (dt.date(2026, 11, 10), dt.date(2026, 11, 20))
    events = [
        {"type": "change", "id": "c1", "service": "checkout", "time": "2026-11-05T12:00:00Z"},
        {"type": "deployment", "id": "d1", "service": "checkout", "time": "2026-11-12T12:00:00Z", "changes": ["c1"]},
    ]
    earlier = {"type": "deployment", "id": "d0", "service": "checkout", "time": "2026-11-09T23:59:59Z"}
    earlier["changes"] = ["c1"]
    rollback = {"type": "deployment", "id": "d2", "service": "checkout", "time": "2026-11-21T00:00:00Z"}
    rollback["rollback_of"] = "d1"

    def checkout(more: list[dict]) -> dict:
        document = engine_document([("events.jsonl", jsonl(events + more))], window)
        assert_same(oracle_document(events + more, *window), document)
        return document["services"][0]

    alone = checkout([])
    assert (alone["lead_time"], alone["changes"], alone["change_failure_rate"]) == (168.0, 1, 0.0)
    delivered_before = checkout([earlier])
    assert (delivered_before["lead_time"], delivered_before["changes"]) == (None, 0)
    assert delivered_before["releases"][0]["changes"] == 0 and delivered_before["releases"][0]["lead_time"] is None
    rolled_back_after = checkout([rollback])
    assert (rolled_back_after["deployments"], rolled_back_after["change_failure_rate"]) == (1, 100.0)
    assert rolled_back_after["releases"][0]["rolled_back"] is True


# -- the validator (section 1) -------------------------------------------------------------------

VALID_LINES = [
    '{"type": "change", "id": "c1", "service": "s", "time": "2026-11-03T08:00:00Z"}',
    '{"type": "deployment", "id": "d1", "service": "s", "time": "2026-11-03T10:00:00Z", "changes": ["c1"]}',
    "",  # a blank line still counts in the line numbers: the bad line below is line 4
]
CHANGE = '{"type": "change", "id": "c2", "service": "s", "time": "2026-11-03T08:00:00Z"%s}'
DEPLOYMENT = '{"type": "deployment", "id": "d2", "service": "s", "time": "2026-11-03T10:00:00Z"%s}'
BUILD = '{"type": "build", "id": "b1", "service": "s", "time": "2026-11-03T09:00:00Z", "status": "success"%s}'
GATE = '{"type": "gate", "id": "g1", "service": "s", "deployment": "d1", "name": "approval", "entered": "2026-11-03T09:00:00Z", "left": "2026-11-03T09:30:00Z", "result": "pass"%s}'
INCIDENT = '{"type": "incident", "id": "i1", "service": "s", "started": "2026-11-03T11:00:00Z"%s}'

# (what is wrong, the bad line, the path its error names, words of which the message holds at least one)
BAD_LINES = [
    ("not JSON", '{"type": "change", "id": "c2",', "$", ["json"]),
    ("not an object", '["change", "c2"]', "$", ["object"]),
    ("unknown key", CHANGE % ', "colour": "red"', "$.colour", ["unknown", "colour"]),
    ("unknown key of another type", BUILD % ', "environment": "production"', "$.environment", ["unknown"]),
    ("missing key", '{"type": "change", "id": "c2", "service": "s"}', "$.time", ["missing", "required"]),
    ("missing type", '{"id": "c2", "service": "s", "time": "2026-11-03T08:00:00Z"}', "$.type", ["missing", "required"]),
    (
        "missing id",
        '{"type": "change", "service": "s", "time": "2026-11-03T08:00:00Z"}',
        "$.id",
        ["missing", "required"],
    ),
    (
        "time not a string",
        '{"type": "change", "id": "c2", "service": "s", "time": 1764756000}',
        "$.time",
        ["string", "time"],
    ),
    (
        "id not a string",
        '{"type": "change", "id": 7, "service": "s", "time": "2026-11-03T08:00:00Z"}',
        "$.id",
        ["string"],
    ),
    ("empty id", '{"type": "change", "id": "", "service": "s", "time": "2026-11-03T08:00:00Z"}', "$.id", ["empty"]),
    (
        "service not a string",
        '{"type": "change", "id": "c2", "service": null, "time": "2026-11-03T08:00:00Z"}',
        "$.service",
        ["string"],
    ),
    ("build status", BUILD.replace('"success"', '"broken"') % "", "$.status", ["success"]),
    ("deployment status", DEPLOYMENT % ', "status": "rolled-back"', "$.status", ["success"]),
    ("environment not a string", DEPLOYMENT % ', "environment": 3', "$.environment", ["string"]),
    ("changes not a list", DEPLOYMENT % ', "changes": "c1"', "$.changes", ["list"]),
    ("a change id not a string", DEPLOYMENT % ', "changes": ["c1", 1]', "$.changes[1]", ["string"]),
    ("gate result", GATE.replace('"pass"', '"ok"') % "", "$.result", ["pass"]),
    ("gate manual", GATE % ', "manual": "yes"', "$.manual", ["boolean", "true"]),
    ("caused_by not a list", INCIDENT % ', "caused_by": "d1"', "$.caused_by", ["list"]),
    ("unknown type", '{"type": "release", "id": "r1", "service": "s"}', "$.type", ["change", "unknown", "one of"]),
    ("time without offset", CHANGE.replace("08:00:00Z", "08:00:00") % "", "$.time", ["offset"]),
    ("not a time", CHANGE.replace("2026-11-03T08:00:00Z", "yesterday") % "", "$.time", ["time", "rfc"]),
    (
        "duplicate id",
        '{"type": "change", "id": "c1", "service": "t", "time": "2026-11-04T08:00:00Z"}',
        "$.id",
        ["duplicate", "c1", "unique", "already"],
    ),
    ("dangling change", DEPLOYMENT % ', "changes": ["c1", "nope"]', "$.changes[1]", ["nope"]),
    ("a change reference naming a deployment", DEPLOYMENT % ', "changes": ["d1"]', "$.changes[0]", ["d1"]),
    ("dangling change of a build", BUILD % ', "changes": ["nope"]', "$.changes[0]", ["nope"]),
    ("dangling rollback_of", DEPLOYMENT % ', "rollback_of": "nope"', "$.rollback_of", ["nope"]),
    ("rollback_of naming a change", DEPLOYMENT % ', "rollback_of": "c1"', "$.rollback_of", ["c1"]),
    ("dangling caused_by", INCIDENT % ', "caused_by": ["d1", "nope"]', "$.caused_by[1]", ["nope"]),
    (
        "dangling gate deployment",
        GATE.replace('"deployment": "d1"', '"deployment": "nope"') % "",
        "$.deployment",
        ["nope"],
    ),
    (
        "change deployed before it was made",
        DEPLOYMENT.replace("10:00:00Z", "07:59:59Z") % ', "changes": ["c1"]',
        "$.changes[0]",
        ["before", "after"],
    ),
    # 09:00+02:00 is 07:00Z, before c1's 08:00Z, although it reads later.
    (
        "change deployed before it was made, at an offset",
        DEPLOYMENT.replace("10:00:00Z", "09:00:00+02:00") % ', "changes": ["c1"]',
        "$.changes[0]",
        ["before", "after"],
    ),
    # Reading: a deployment's `changes` are "the changes it took live" whatever its environment or status,
    # so the check holds for a staging or a failed deployment too.
    (
        "change deployed to staging before it was made",
        DEPLOYMENT.replace("10:00:00Z", "07:00:00Z") % ', "environment": "staging", "changes": ["c1"]',
        "$.changes[0]",
        ["before", "after"],
    ),
    (
        "change in a failed deployment before it was made",
        DEPLOYMENT.replace("10:00:00Z", "07:00:00Z") % ', "status": "failure", "changes": ["c1"]',
        "$.changes[0]",
        ["before", "after"],
    ),
    (
        "incident resolved before it started",
        INCIDENT % ', "resolved": "2026-11-03T10:59:00Z"',
        "$.resolved",
        ["before"],
    ),
    ("gate left before it was entered", GATE.replace("09:30:00Z", "08:59:00Z") % "", "$.left", ["before"]),
]

# Lines the msgspec reader (850dda7) first let escape or read wrongly, fixed since: each is one error at the line.
ENGINE_BUGS = [
    # msgspec.ValidationError "Number out of range" escapes; Python's json reads 1e999 as inf, a wrong type.
    ("a number out of range", CHANGE.replace('"2026-11-03T08:00:00Z"', "1e999") % "", "$.time", ["string", "time"]),
    ("a number out of range under an unknown key", CHANGE % ', "x": -1e999', "$.x", ["unknown"]),
    # RecursionError escapes: a line nested too deep for the reader is still only a bad line.
    ("nesting too deep", "[" * 100_000 + "]" * 100_000, "$", ["json", "deep", "nest", "object"]),
    # ValueError "year 0 is out of range" escapes: 0001-01-01T00:30:00+01:00 is before year 1 in UTC.
    (
        "a time before year 1 in UTC",
        CHANGE.replace("2026-11-03T08:00:00Z", "0001-01-01T00:30:00+01:00") % "",
        "$.time",
        ["time", "range", "rfc"],
    ),
    # RFC 3339's time-numoffset is +HH:MM; the engine reads +0100 too (msgspec's reading, noted in events.py),
    # but an offset of one digit is no offset it knows.
    ("an offset of one digit", CHANGE.replace("08:00:00Z", "08:00:00+1") % "", "$.time", ["offset", "rfc"]),
]


def problems_of(files: list[tuple[str, str]]) -> list[str]:
    """Every error line the engine reports for the files (none when they read)."""
    try:
        read_events(files)
    except InvalidFile as invalid:
        return [str(problem) for problem in invalid.problems]
    return []


def test_the_valid_lines_read():
    assert problems_of([("bad.jsonl", "\n".join(VALID_LINES) + "\n")]) == []


# A missing key is reported at the key's own path (`$.time`), as the framework loader reports one.


def bad_line_cases():
    for case in BAD_LINES:
        yield pytest.param(*case, id=case[0])
    for case in ENGINE_BUGS:
        yield pytest.param(*case, id=case[0])


@pytest.mark.parametrize(("wrong", "line", "path", "words"), list(bad_line_cases()))
def test_each_error_is_one_line_at_the_event_and_the_path(wrong, line, path, words):
    problems = problems_of([("bad.jsonl", "\n".join([*VALID_LINES, line]) + "\n")])
    assert len(problems) == 1, problems
    prefix = f"bad.jsonl:4: {path}: "
    assert problems[0].startswith(prefix), problems
    assert any(word in problems[0][len(prefix) :].lower() for word in words), problems


def test_a_file_with_several_bad_lines_reports_all_of_them():
    names = ["not JSON", "unknown key", "gate result", "dangling change", "incident resolved before it started"]
    chosen = [case for case in BAD_LINES if case[0] in names]
    lines = list(VALID_LINES)
    where = []
    for _, line, path, _ in chosen:
        lines += [line, ""]
        where.append(f"bad.jsonl:{len(lines) - 1}: {path}: ")
    problems = problems_of([("bad.jsonl", "\n".join(lines))])
    assert len(problems) == len(chosen), problems
    for prefix, problem in zip(where, problems, strict=True):
        assert problem.startswith(prefix), (prefix, problems)


def test_limits_that_are_not_errors():
    """Equal times are not "before", and times compare as instants, not as text."""
    lines = [
        '{"type": "change", "id": "c1", "service": "s", "time": "2026-11-03T14:00:00+02:00"}',
        '{"type": "deployment", "id": "d1", "service": "s", "time": "2026-11-03T13:00:00Z", "changes": ["c1"]}',
        '{"type": "deployment", "id": "c1", "service": "s", "time": "2026-11-03T12:00:00Z", "changes": ["c1"]}',
        '{"type": "gate", "id": "c1", "service": "s", "deployment": "c1", "name": "n", "entered": "2026-11-03T12:00:00Z", "left": "2026-11-03T13:00:00+01:00", "result": "fail"}',
        '{"type": "incident", "id": "c1", "service": "s", "started": "2026-11-03T15:00:00Z", "resolved": "2026-11-03T10:00:00-05:00", "caused_by": []}',
        '{"type": "build", "id": "d1", "service": "s", "time": "2026-11-03T11:00:00Z", "status": "failure", "changes": []}',
    ]
    assert problems_of([("ok.jsonl", "\n\n".join(lines))]) == []


def test_references_resolve_across_files_and_errors_name_the_file_that_makes_them():
    first = '{"type": "deployment", "id": "d1", "service": "s", "time": "2026-11-03T10:00:00Z", "changes": ["c1"]}\n'
    second = '{"type": "change", "id": "c1", "service": "s", "time": "2026-11-03T08:00:00Z"}\n'
    assert problems_of([("a.jsonl", first), ("b.jsonl", second)]) == []
    dangling = (
        '\n{"type": "incident", "id": "i1", "service": "s", "started": "2026-11-03T11:00:00Z", "caused_by": ["d2"]}\n'
    )
    problems = problems_of([("a.jsonl", first), ("b.jsonl", second + dangling)])
    assert len(problems) == 1 and problems[0].startswith("b.jsonl:3: $.caused_by[0]: "), problems
    # Reading: a duplicate is reported where it is met second, in the order the files are given.
    problems = problems_of([("a.jsonl", first), ("b.jsonl", second), ("c.jsonl", second)])
    assert len(problems) == 1 and problems[0].startswith("c.jsonl:1: $.id: "), problems


# -- readings of the spec's less explicit points, each pinned by a minimal set of events -----------


def event(kind: str, id: str, service: str, **keys) -> dict:
    return {"type": kind, "id": id, "service": service, **keys}


C1 = event("change", "c1", "checkout", time="2026-11-02T00:00:00Z")
D1 = event("deployment", "d1", "checkout", time="2026-11-02T06:00:00Z", changes=["c1"])
INCIDENT_ON_D1 = event("incident", "i1", "checkout", started="2026-11-02T07:00:00Z", caused_by=["d1"])


def gate(id: str, name: str, result: str, minutes: int, **keys) -> dict:
    left = dt.datetime(2026, 11, 2, 5, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes)
    return event(
        "gate",
        id,
        "checkout",
        deployment="d1",
        name=name,
        result=result,
        entered="2026-11-02T05:00:00Z",
        left=time_text(left, 0),
        **keys,
    )


def edge(id: str, time: str) -> dict:
    return event("deployment", id, "checkout", time=time)


# (reading, events, services named, {(service, key, ...): the value the reading gives})
READINGS = [
    (
        "a change of another service taken live by S counts in S's lead time, not in its own service's",
        [event("change", "c1", "search", time="2026-11-02T00:00:00Z"), D1],
        None,
        {("checkout", "lead_time"): 6.0, ("checkout", "changes"): 1, ("search", "lead_time"): None},
    ),
    (
        "a gate belongs to the deployment it names, whatever its own service",
        [C1, D1, {**gate("g1", "approval", "pass", 60, manual=True), "service": "search"}],
        None,
        {("checkout", "releases", 0, "gate_wait"): 1.0, ("checkout", "gates", 0, "runs"): 1, ("search", "gates"): []},
    ),
    (
        "an incident of another service, started outside the window, still makes a deployment of D failed",
        [C1, D1, event("incident", "i9", "search", started="2026-12-05T00:00:00Z", caused_by=["d1"])],
        None,
        {
            ("checkout", "change_failure_rate"): 100.0,
            ("checkout", "releases", 0, "incidents"): ["i9"],
            ("search", "incidents"): 0,
        },
    ),
    (
        "an incident started in the window and resolved after it counts as resolved",
        [event("incident", "i1", "checkout", started="2026-11-30T23:00:00Z", resolved="2026-12-01T01:00:00+00:00")],
        None,
        {("checkout", "time_to_restore"): 2.0, ("checkout", "open_incidents"): 0, ("checkout", "incidents"): 1},
    ),
    (
        "ties in time go to the smaller id as a string: e10 before e9, at one instant written at two offsets",
        [
            C1,
            event("deployment", "e9", "checkout", time="2026-11-03T01:00:00+01:00", changes=["c1"]),
            event("deployment", "e10", "checkout", time="2026-11-03T00:00:00Z", changes=["c1"]),
        ],
        None,
        {
            ("checkout", "releases", 0, "deployment"): "e10",
            ("checkout", "releases", 0, "changes"): 1,
            ("checkout", "releases", 1, "changes"): 0,
        },
    ),
    (
        "a change listed twice by one deployment is one change of it",
        [C1, {**D1, "changes": ["c1", "c1"]}],
        None,
        {("checkout", "changes"): 1, ("checkout", "releases", 0, "changes"): 1},
    ),
    (
        "every service any event names is listed, even with nothing in the window",
        [
            event("deployment", "s1", "search", time="2026-10-01T00:00:00Z"),
            event("build", "b1", "billing", time="2026-11-02T00:00:00Z", status="failure"),
        ],
        None,
        {
            ("billing", "deployments"): 0,
            ("search", "deployment_frequency"): 0.0,
            ("search", "change_failure_rate"): None,
        },
    ),
    (
        "a named service with no event is listed with zeros and nulls, named services by name",
        [C1, D1],
        ["zeta", "checkout"],
        {
            ("zeta", "deployments"): 0,
            ("zeta", "lead_time"): None,
            ("zeta", "time_to_restore"): None,
            ("zeta", "releases"): [],
        },
    ),
    (
        "a failed rollback, of another service, still marks its target rolled back and failed",
        [C1, D1, event("deployment", "r1", "search", time="2026-11-02T08:00:00Z", status="failure", rollback_of="d1")],
        None,
        {
            ("checkout", "releases", 0, "rolled_back"): True,
            ("checkout", "failed_deployments"): 1,
            ("search", "deployments"): 0,
        },
    ),
    (
        "a deployment that passed one run of a gate and failed another counts in passed_failed",
        [
            C1,
            D1,
            INCIDENT_ON_D1,
            gate("g1", "approval", "pass", 10),
            gate("g2", "approval", "fail", 20),
            gate("g3", "scan", "fail", 5),
        ],
        None,
        {
            ("checkout", "gates", 0, "passed_failed"): 1,
            ("checkout", "gates", 0, "caught_nothing"): False,
            ("checkout", "gates", 1, "passed_failed"): 0,
            ("checkout", "releases", 0, "failed_gates"): ["approval", "scan"],
        },
    ),
    (
        "a manual gate that failed still counts its wait and its step",
        [C1, D1, gate("g1", "approval", "fail", 30, manual=True), gate("g2", "scan", "pass", 90, manual=False)],
        None,
        {
            ("checkout", "releases", 0, "gate_wait"): 0.5,
            ("checkout", "releases", 0, "manual_steps"): 1,
            ("checkout", "gates", 0, "wait"): 0.5,
        },
    ),
    (
        "a staging or failed deployment is no delivery: the change's delivery is its first live one",
        [
            C1,
            {**D1, "environment": "staging", "time": "2026-11-02T01:00:00Z", "id": "s0"},
            {**D1, "status": "failure", "id": "f0"},
            {**D1, "time": "2026-11-02T09:00:00Z"},
        ],
        None,
        {("checkout", "lead_time"): 9.0, ("checkout", "deployments"): 1},
    ),
    (
        "a change made before the window and delivered in it counts, with its whole lead time",
        [{**C1, "time": "2026-10-20T00:00:00Z"}, D1],
        None,
        {("checkout", "lead_time"): 13 * 24 + 6.0},
    ),
    (
        "a failed build of another service, outside the window, on two of d's changes counts once",
        [
            C1,
            {**C1, "id": "c2"},
            {**D1, "changes": ["c1", "c2"]},
            event("build", "b1", "search", time="2026-10-01T00:00:00Z", status="failure", changes=["c1", "c2"]),
        ],
        None,
        {("checkout", "releases", 0, "failed_builds"): 1},
    ),
    (
        "the window holds from 00:00:00Z of `from` up to, not including, 00:00:00Z of the day after `to`",
        [
            edge("in1", "2026-11-01T00:00:00Z"),
            edge("in2", "2026-11-01T01:00:00+01:00"),
            edge("in3", "2026-11-30T23:59:59Z"),
            edge("in4", "2026-12-01T00:30:00+01:00"),
            edge("out1", "2026-10-31T23:59:59Z"),
            edge("out2", "2026-12-01T00:00:00Z"),
            edge("out3", "2026-11-30T20:00:00-05:00"),
            edge("out4", "2026-11-01T00:30:00+01:00"),
        ],
        None,
        {("checkout", "deployments"): 4, ("checkout", "releases", 1, "time"): "2026-11-01T00:00:00Z"},
    ),
]


def figure(document: dict, where: tuple):
    service, *keys = where
    value = next(s for s in document["services"] if s["service"] == service)
    for key in keys:
        value = value[key]
    return value


@pytest.mark.parametrize(("reading", "events", "named", "figures"), READINGS, ids=[case[0][:60] for case in READINGS])
def test_the_engine_follows_the_oracles_readings(reading, events, named, figures):
    expected = oracle_document(events, *NOVEMBER, services=named)
    assert {where: figure(expected, where) for where in figures} == figures, reading
    assert_same(expected, engine_document([("events.jsonl", jsonl(events))], NOVEMBER, services=named))


@settings(max_examples=tries(30), deadline=None)
@given(
    event_sets(tangled=True),
    st.sampled_from([case for case in BAD_LINES if not case[0].startswith("missing")]),
    st.randoms(),
)
def test_one_bad_line_among_many_valid_ones_gives_exactly_its_error(events, case, rnd):
    """Wherever it sits among generated valid events (after the lines it refers to), a bad line is the
    file's only error, at its own line: the valid events around it neither hide it nor add to it."""
    _, bad, path, _ = case
    rest = [json.dumps(event) for event in events] + [bad]
    rnd.shuffle(rest)
    lines = [*VALID_LINES, *rest]
    problems = problems_of([("mixed.jsonl", "\n".join(lines) + "\n")])
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"mixed.jsonl:{lines.index(bad) + 1}: {path}: "), problems
