"""KPI evaluation: status against target and warning band, trends, per-day budgets, how figures read."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from handlers.performance.evaluation import (
    Status,
    TrendKind,
    evaluate,
    format_change,
    format_target,
    format_value,
    status_of,
    trend_of,
)
from handlers.performance.kpis import Window, render_query
from handlers.performance.settings import Kpi, PerformanceSettings

KPIS = {kpi.key: kpi for kpi in PerformanceSettings().definitions()}


def kpi(key: str) -> Kpi:
    return KPIS[key]


@pytest.mark.parametrize(
    ("key", "value", "status"),
    [
        ("api_p95", 499.4, Status.GREEN),  # shown as 499 ms
        ("api_p95", 500, Status.YELLOW),  # "< 500" is not met by 500
        ("api_p95", 749, Status.YELLOW),
        ("api_p95", 750, Status.RED),
        ("uptime", 99.9, Status.GREEN),  # ">= 99.9"
        ("uptime", 99.899, Status.GREEN),  # judged as shown: 99.90 %
        ("uptime", 99.8, Status.YELLOW),
        ("uptime", 99.49, Status.RED),
        ("errors_5xx", 0.1, Status.YELLOW),
        ("errors_5xx", None, Status.NO_DATA),
    ],
)
def test_status_against_target_and_warning_band(key: str, value: float | None, status: Status) -> None:
    assert status_of(kpi(key), value) is status


def test_per_day_budgets_grow_with_the_period() -> None:
    downtime = kpi("downtime")
    assert status_of(downtime, 47, days=1) is Status.YELLOW
    assert status_of(downtime, 47, days=7) is Status.GREEN  # a week's budget is 210 minutes
    assert format_target(downtime, 7) == "< 210 min"
    assert status_of(kpi("api_p95"), 600, days=7) is Status.YELLOW  # a latency target does not scale


@pytest.mark.parametrize(
    ("key", "value", "previous", "trend"),
    [
        ("api_p95", 405, 470, TrendKind.IMPROVED),  # lower is better
        ("api_p95", 470, 405, TrendKind.WORSE),
        ("api_p95", 470, 465, TrendKind.STEADY),  # within 10 ms
        ("uptime", 99.95, 99.5, TrendKind.IMPROVED),  # higher is better
        ("uptime", 99.5, 99.95, TrendKind.WORSE),
        ("errors_4xx", 0.5954, 0.5959, TrendKind.STEADY),
        ("cpu", None, 50, TrendKind.UNKNOWN),
    ],
)
def test_trend_reads_the_target(key: str, value: float | None, previous: float | None, trend: TrendKind) -> None:
    assert trend_of(kpi(key), value, previous) is trend


def test_figures_read_as_people_write_them() -> None:
    assert format_value(kpi("uptime"), 96.7361) == "96.74%"
    assert format_value(kpi("downtime"), 46.9995) == "47 min"
    assert format_value(kpi("page_load"), 1.3456) == "1.35 s"
    assert format_value(kpi("errors_total"), 10991.5) == "10,992"
    assert format_value(kpi("cpu"), None) == "no data"
    assert format_change(kpi("api_p95"), -120.2) == "−120 ms"
    assert format_change(kpi("uptime"), -3.19) == "−3.19 pts"
    assert format_change(kpi("errors_4xx"), 0.0001) == "±0 pts"
    assert format_target(kpi("uptime")) == "≥ 99.9%"
    assert format_target(kpi("errors_5xx")) == "< 0.1%"
    row = evaluate(kpi("api_p95"), 470.2, 405.5)
    assert (row.shown, row.was, row.change, row.marker, row.arrow) == ("470 ms", "406 ms", "+65 ms", "🟢", "↘")


def test_a_window_that_ended_is_read_just_before_its_end_and_a_running_one_at_the_clock() -> None:
    midnight = datetime(2026, 11, 24, tzinfo=timezone.utc)
    day = Window.of(midnight, midnight + timedelta(days=1), now=midnight + timedelta(days=3))
    assert not day.running and day.evaluated_at == midnight + timedelta(days=1) - timedelta(milliseconds=1)
    assert day.seconds == 86400
    today = Window.of(midnight, midnight + timedelta(days=1), now=midnight + timedelta(hours=10))
    assert today.running and today.evaluated_at == midnight + timedelta(hours=10) and today.seconds == 36000
    future = Window.of(midnight, midnight + timedelta(days=1), now=midnight - timedelta(hours=1))
    assert future.empty


def test_queries_get_the_window_as_a_promql_duration_and_in_seconds() -> None:
    rendered = render_query("(1 - avg(avg_over_time(up[$__range]))) * $__range_s / 60", 86399.5)
    assert rendered == "(1 - avg(avg_over_time(up[86399500ms]))) * 86399.5 / 60"
