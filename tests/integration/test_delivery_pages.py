"""The delivery metrics pages (issue 17): a scope's services with their four key metrics, and a service's
weekly trends, control charts and releases, over the spec's example events."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select

from assessment.domain.delivery.control import xmr
from assessment.domain.display import one_decimal
from assessment.extensions import db
from assessment.models import DeliveryEvent, Scope
from assessment.readmodels import delivery_metrics as delivery_rm
from assessment.services import delivery, review
from tests.conftest import EXAMPLES
from tests.integration.conftest import sign_in_as
from tests.integration.helpers import make_scope

FOLDER = EXAMPLES / "delivery"
EXAMPLE = FOLDER / "checkout.events.jsonl"
EXPECTED = json.loads((FOLDER / "checkout.expected.json").read_text())
WINDOW = EXPECTED["window"]
QUERY = f"?as_of={WINDOW['to']}&days={WINDOW['days']}"
METRICS = ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")


@pytest.fixture(autouse=True)
def _no_pages_of_another_test():
    """The cache lives in the process: on PostgreSQL every test's database has the same URL and may reuse ids."""
    delivery_rm.clear_cache()
    yield
    delivery_rm.clear_cache()


@pytest.fixture
def world(app, client, devops):
    """The example's events in the devops assessment's scope (alice's team), and a second scope of bob's."""
    _assessment, scope_id = devops
    other = make_scope(client, "Other")
    with app.app_context():
        scope = db.session.get(Scope, scope_id)
        delivery.add_file(scope, "checkout.events.jsonl", EXAMPLE.read_bytes(), source="upload", actor="admin")
        review.add_member(scope, "alice")
        review.add_member(db.session.get(Scope, other), "bob")
        db.session.commit()
    return scope_id, other


def _figure(page: str, metric: str, scope: str = "") -> str:
    """The figure the page prints for `metric` (the first after `scope`, a piece of the page that precedes it)."""
    start = page.index(scope) if scope else 0
    found = re.search(rf'data-figure="{metric}">([^<]*)<', page[start:])
    assert found, metric
    return found.group(1)


def _row(page: str, service: str) -> str:
    start = page.index(f'data-service="{service}"')
    return page[start : page.index("</tr>", start)]


def _expected(value: float | None) -> str:
    return one_decimal(value, "—")


def test_the_overview_prints_the_spec_figures_of_each_service(app, world):
    scope_id, _other = world
    page = sign_in_as(app.test_client(), "alice").get(f"/scopes/{scope_id}/delivery{QUERY}").get_data(as_text=True)
    assert f"{WINDOW['from']} to {WINDOW['to']}" in page
    for service in EXPECTED["services"]:
        row = _row(page, service["service"])
        for metric in METRICS:
            assert _figure(row, metric) == _expected(service[metric]), (service["service"], metric)
        assert f"/scopes/{scope_id}/delivery/{service['service']}?" in row
    checkout = _row(page, "checkout")
    assert 'data-band="lead_time">Elite' in checkout  # 5.0 hours: up to 24 hours in the framework's guidance
    assert 'data-band="deployment_frequency">Medium' in checkout  # 0.7 a week
    search = _row(page, "search")
    assert "no incident restored in the window" in search  # time to restore is "—" with its reason


def test_the_service_page_prints_figures_charts_signals_and_releases(app, world):
    scope_id, _other = world
    alice = sign_in_as(app.test_client(), "alice")
    for service in EXPECTED["services"]:
        name = service["service"]
        page = alice.get(f"/scopes/{scope_id}/delivery/{name}{QUERY}").get_data(as_text=True)
        for metric in METRICS:
            assert _figure(page, metric) == _expected(service[metric]), (name, metric)
        for release in service["releases"]:
            assert f'href="/scopes/{scope_id}/delivery/{name}/releases/{release["deployment"]}"' in page
        assert f'href="/scopes/{scope_id}/delivery/{name}/gates?' in page
    page = alice.get(f"/scopes/{scope_id}/delivery/checkout{QUERY}").get_data(as_text=True)
    assert page.count('class="weekly-chart"') == 4 and page.count('class="control-chart"') == 2
    assert "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]
    # newest first: dep-4 (11-20) before dep-2 and dep-1 (11-03); dep-1 failed and was rolled back
    assert page.index('data-release="dep-4"') < page.index('data-release="dep-2"') < page.index('data-release="dep-1"')
    dep_1 = page[page.index('data-release="dep-1"') :]
    dep_1 = dep_1[: dep_1.index("</tr>")]
    assert "25.5 h" in dep_1 and dep_1.count("<td>yes</td>") == 2 and "INC-7" in dep_1
    assert 'class="table-scroll"' in page and 'viewBox="0 0 720' in page and 'width="100%"' in page


def _weekly_lead_times(service: str, as_of: dt.date, hours: list[float]) -> list[tuple[str, int, dict]]:
    """One change and its deployment a week, the last week ending on `as_of`, with these lead times."""
    items = []
    for week, lead in enumerate(hours):
        day = as_of - dt.timedelta(days=7 * (len(hours) - 1 - week) + 3)
        deployed = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)
        made = deployed - dt.timedelta(hours=lead)
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        items.append(("api.jsonl", 2 * week + 1, {"type": "change", "id": f"c{week}", "service": service,
                                                    "time": made.strftime(stamp)}))  # fmt: skip
        items.append(("api.jsonl", 2 * week + 2, {"type": "deployment", "id": f"d{week}", "service": service,
                                                    "time": deployed.strftime(stamp), "changes": [f"c{week}"]}))  # fmt: skip
    return items


def test_the_control_charts_signals_are_in_words(app, world):
    scope_id, _other = world
    as_of = dt.date(2026, 11, 30)
    hours = [2, 2.5, 2, 3, 2, 2.5, 2, 3, 2, 2.5, 2, 3, 100]
    with app.app_context():
        delivery.add_events(db.session.get(Scope, scope_id), _weekly_lead_times("api", as_of, hours),
                            source="api", actor="admin")  # fmt: skip
        db.session.commit()
    page = sign_in_as(app.test_client(), "alice").get(f"/scopes/{scope_id}/delivery/api?as_of=2026-11-30")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Week ending 11-30: above the upper limit (100.0 hours)." in text
    assert "12 weeks in a row below the centre line from 09-07 to 11-23 (a run of 8 or more)." in text
    assert "Centre line 9.9 hours; natural process limits 0.0 (floored at zero) to " in text  # mean 128.5 / 13
    assert "No limits: there is no value yet." in text  # no incident: no time to restore


def test_signals_in_words_name_each_week():
    labels = [f"w{i}" for i in range(10)]
    chart = xmr([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 9.0, None])
    assert delivery_rm.signals_in_words(chart, labels, "hours") == (
        "Week ending w8: above the upper limit (9.0 hours).",  # centre 17/9, limits 0 to 17/9 + 2.66
        "8 weeks in a row below the centre line from w0 to w7 (a run of 8 or more).",
    )
    assert delivery_rm.signals_in_words(xmr([None, 2.0]), labels[:2], "hours") == ()
    assert delivery_rm.limits_in_words(xmr([None, 2.0]), "hours").startswith("No limits: there is only one value")


@pytest.mark.parametrize("path", ["/delivery", "/delivery/checkout"])
def test_another_scopes_reader_sees_nothing(app, world, path):
    scope_id, _other = world
    response = sign_in_as(app.test_client(), "bob").get(f"/scopes/{scope_id}{path}{QUERY}")
    assert response.status_code in (403, 404)
    assert "checkout</a>" not in response.get_data(as_text=True)


@pytest.mark.parametrize("service", ["nope", "x" * 300, "checkout%2F..", "<script>"])
def test_an_unknown_service_is_not_found(app, world, service):
    scope_id, _other = world
    assert sign_in_as(app.test_client(), "alice").get(f"/scopes/{scope_id}/delivery/{service}").status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("as_of=2026-13-01", "is not a date (YYYY-MM-DD)"),
        ("as_of=yesterday", "is not a date (YYYY-MM-DD)"),
        ("as_of=1999-12-31", "is outside 2000 to 2100"),
        ("as_of=2101-01-01", "is outside 2000 to 2100"),
        ("as_of=2026-11-30&days=0", "is not a whole number of days"),
        ("as_of=2026-11-30&days=x", "is not a whole number of days"),
        ("as_of=2026-11-30&days=%C2%B2", "is not a whole number of days"),
        ("as_of=2026-11-30&days=3661", "is not a whole number of days from 1 to 3660"),
        ("as_of=20261130", "is not a date (YYYY-MM-DD)"),
        ("as_of=%3Cb%3E", "&#39;&lt;b&gt;&#39; is not a date"),
    ],
)
@pytest.mark.parametrize("path", ["/delivery", "/delivery/checkout"])
def test_a_bad_date_is_a_400_with_its_message_on_the_page(app, world, path, query, message):
    scope_id, _other = world
    response = sign_in_as(app.test_client(), "alice").get(f"/scopes/{scope_id}{path}?{query}")
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in text and 'name="as_of"' in text
    assert "<b>" not in text


def test_an_empty_scope_says_so(app, client):
    scope_id = make_scope(client, "Empty")
    page = client.get(f"/scopes/{scope_id}/delivery").get_data(as_text=True)
    assert "No delivery events yet" in page
    assert client.get(f"/scopes/{scope_id}/delivery/checkout").status_code == 404


def _without_csrf_token(page: str) -> str:
    """A page without its upload form's CSRF token, which carries the second it was signed in, so two
    renders of the same data a second apart differ there only."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)


def test_the_pages_are_built_once_per_change_of_the_data(app, world, monkeypatch):
    scope_id, _other = world
    reads = []
    original = delivery.scope_events

    def counting(scope: int):
        reads.append(scope)
        return original(scope)

    monkeypatch.setattr(delivery, "scope_events", counting)
    delivery_rm.clear_cache()
    alice = sign_in_as(app.test_client(), "alice")
    first = alice.get(f"/scopes/{scope_id}/delivery{QUERY}").get_data(as_text=True)
    again = alice.get(f"/scopes/{scope_id}/delivery{QUERY}").get_data(as_text=True)
    assert _without_csrf_token(again) == _without_csrf_token(first)
    assert alice.get(f"/scopes/{scope_id}/delivery/checkout{QUERY}").status_code == 200
    assert alice.get(f"/scopes/{scope_id}/delivery/checkout{QUERY}").status_code == 200
    assert reads == [scope_id]  # the overview and the service page read the events once
    assert _figure(_row(first, "search"), "deployment_frequency") == "0.2"

    with app.app_context():
        extra = {"type": "deployment", "id": "s-3", "service": "search", "time": "2026-11-25T10:00:00Z"}
        delivery.add_events(db.session.get(Scope, scope_id), [("more", 1, extra)], source="api", actor="admin")
        db.session.commit()
    second = alice.get(f"/scopes/{scope_id}/delivery{QUERY}").get_data(as_text=True)
    assert reads == [scope_id, scope_id]
    assert _figure(_row(second, "search"), "deployment_frequency") == "0.5"  # 2 deployments in 30 days
    assert 'data-release="s-3"' in alice.get(f"/scopes/{scope_id}/delivery/search{QUERY}").get_data(as_text=True)


def test_without_a_framework_with_metric_fed_answers_the_pages_name_no_band(app, world, monkeypatch):
    scope_id, _other = world
    monkeypatch.setattr(delivery_rm, "BANDS_FRAMEWORK", "not-in-the-library")
    monkeypatch.setattr(delivery_rm, "latest_versions", lambda: [])
    delivery_rm.clear_cache()
    alice = sign_in_as(app.test_client(), "alice")
    for path in ("/delivery", "/delivery/checkout"):
        page = alice.get(f"/scopes/{scope_id}{path}{QUERY}").get_data(as_text=True)
        assert 'data-figure="lead_time">5.0<' in page and "data-band=" not in page
        assert "band in the DevOps framework" not in page


def test_an_incident_resolved_later_changes_the_pages(app, world):
    """A resolution rewrites a stored incident instead of adding one: the scope's state moves all the same."""
    scope_id, _other = world
    alice = sign_in_as(app.test_client(), "alice")
    before = alice.get(f"/scopes/{scope_id}/delivery{QUERY}").get_data(as_text=True)
    assert _figure(_row(before, "checkout"), "time_to_restore") == "1.5"
    with app.app_context():
        state = delivery.scope_state(scope_id)
        resolved = {"type": "incident", "id": "INC-8", "service": "checkout", "started": "2026-11-28T22:00:00Z",
                    "resolved": "2026-11-29T00:00:00Z"}  # fmt: skip
        outcome = delivery.add_events(db.session.get(Scope, scope_id), [("hook", 1, resolved)], source="api",
                                      actor="admin")  # fmt: skip
        db.session.commit()
        assert outcome.resolved == 1 and delivery.scope_state(scope_id)[0] == state[0]
        assert delivery.scope_state(scope_id)[1] > state[1]  # rewritten into a new row, so the state moves
        row = db.session.scalars(select(DeliveryEvent).where(DeliveryEvent.event_id == "INC-8")).one()
        assert (row.source, row.added_by, row.kind) == ("upload", "admin", "incident") and '"resolved"' in row.body
    after = alice.get(f"/scopes/{scope_id}/delivery{QUERY}").get_data(as_text=True)
    assert _figure(_row(after, "checkout"), "time_to_restore") == "1.8"  # the median of 1.5 h and 2 h
    assert re.search(r'data-service="checkout">.*?</tr>', after, re.S).group(0).count('class="num">0<') >= 1
