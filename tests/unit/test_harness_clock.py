"""The test harness's clock honours its start and moves forward on request."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.harness import Clock


def test_clock_starts_where_it_is_told_and_keeps_running() -> None:
    start = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    clock = Clock(start)
    first = clock()
    assert start <= first < start + timedelta(minutes=1)
    assert clock() >= first


def test_clock_advances_by_the_given_amount() -> None:
    clock = Clock(datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc))
    before = clock()
    clock.advance(hours=2)
    assert timedelta(hours=2) <= clock() - before < timedelta(hours=2, minutes=1)


def test_clock_defaults_to_now() -> None:
    assert abs(Clock()() - datetime.now(timezone.utc)) < timedelta(minutes=1)
