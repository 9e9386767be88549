"""The weekly series: weeks end on the as-of date, each week's value is the spec's metric over it."""

import datetime as dt

import pytest

from assessment.domain.delivery import DeliveryIndex, Window, read_events
from assessment.domain.delivery.series import weekly_series, weeks_ending


def _index(lines: list[str]) -> DeliveryIndex:
    return DeliveryIndex(read_events([("e.jsonl", "\n".join(lines))]))


def test_weeks_end_on_the_as_of_date_oldest_first():
    weeks = weeks_ending(dt.date(2026, 12, 1), 3)
    assert [(w.first.isoformat(), w.last.isoformat()) for w in weeks] == [
        ("2026-11-11", "2026-11-17"),
        ("2026-11-18", "2026-11-24"),
        ("2026-11-25", "2026-12-01"),
    ]
    with pytest.raises(ValueError):
        weeks_ending(dt.date(2026, 12, 1), 0)


def test_each_week_holds_its_own_metrics_and_gaps_are_none():
    lines = [
        '{"type":"change","id":"c1","service":"api","time":"2026-11-20T00:00:00Z"}',
        '{"type":"deployment","id":"d1","service":"api","time":"2026-11-20T10:00:00Z","changes":["c1"]}',
        '{"type":"change","id":"c2","service":"api","time":"2026-11-30T00:00:00Z"}',
        '{"type":"deployment","id":"d2","service":"api","time":"2026-11-30T04:00:00Z","changes":["c2"]}',
        '{"type":"deployment","id":"d3","service":"api","time":"2026-12-01T04:00:00Z"}',
    ]
    series = weekly_series(_index(lines), "api", dt.date(2026, 12, 1), 3)
    assert series.labels == ("11-17", "11-24", "12-01")
    assert series.deployments == (0, 1, 2)
    assert series.values["lead_time"] == (None, 10.0, 4.0)
    assert series.values["deployment_frequency"] == (0.0, 1.0, 2.0)
    assert series.values["time_to_restore"] == (None, None, None)
    index = _index(lines)
    for week, value in zip(series.weeks, series.values["lead_time"], strict=True):
        assert index.metrics("api", week, details=False).lead_time == value
    charts = series.control_charts()
    assert set(charts) == {"lead_time", "time_to_restore"}
    assert charts["lead_time"].has_limits and not charts["time_to_restore"].has_limits
    assert Window.ending(dt.date(2026, 12, 1), 7) == series.weeks[-1]
