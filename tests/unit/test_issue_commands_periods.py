"""handlers/periods.py: the words people type for a period, in the team's time zone, half-open in UTC."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from handlers.errors import InvalidInput
from handlers.periods import PeriodKind, parse_period, previous_period

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 22, 14, 2, tzinfo=UTC)  # a Sunday


def test_default_is_this_month() -> None:
    period = parse_period("", NOW, UTC)
    assert period.kind is PeriodKind.MONTH
    assert (period.start, period.end) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert period.label == "November 2026" and period.key == "2026-11"


def test_today_and_yesterday_follow_the_team_time_zone() -> None:
    late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # already the 23rd in Berlin
    today = parse_period("Today", late, BERLIN)
    assert today.first_day == date(2026, 11, 23)
    assert today.start == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert today.contains(late) and not today.contains(today.end)
    assert parse_period("yesterday", late, BERLIN).first_day == date(2026, 11, 22)


def test_weeks_start_on_monday() -> None:
    week = parse_period("week", NOW, UTC)
    assert (week.first_day, week.last_day) == (date(2026, 11, 16), date(2026, 11, 22))
    assert week.key == "2026-W47"
    assert parse_period("last  WEEK", NOW, UTC).first_day == date(2026, 11, 9)


def test_month_boundaries_across_the_year_and_dst() -> None:
    january = datetime(2027, 1, 5, tzinfo=UTC)
    last = parse_period("last month", january, UTC)
    assert (last.first_day, last.last_day) == (date(2026, 12, 1), date(2026, 12, 31))
    march = parse_period("2026-03-01..2026-03-31", NOW, BERLIN)
    assert march.start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # CET
    assert march.end == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # CEST after the switch


def test_ranges_and_single_dates_include_both_days() -> None:
    period = parse_period("2026-11-01..2026-11-15", NOW, UTC)
    assert period.kind is PeriodKind.RANGE and period.days == 15
    assert period.end == datetime(2026, 11, 16, tzinfo=UTC)
    assert parse_period("2026-11-01 to 2026-11-02", NOW, UTC).days == 2
    assert parse_period("2026-02-03", NOW, UTC).kind is PeriodKind.DAY


def test_previous_period_has_the_same_shape() -> None:
    assert previous_period(parse_period("today", NOW, UTC)).first_day == date(2026, 11, 21)
    assert previous_period(parse_period("week", NOW, UTC)).first_day == date(2026, 11, 9)
    before = previous_period(parse_period("month", datetime(2026, 3, 31, tzinfo=UTC), UTC))
    assert (before.first_day, before.last_day) == (date(2026, 2, 1), date(2026, 2, 28))
    span = previous_period(parse_period("2026-11-11..2026-11-20", NOW, UTC))
    assert (span.first_day, span.last_day) == (date(2026, 11, 1), date(2026, 11, 10))


@pytest.mark.parametrize("text", ["fortnight", "2026-13-01", "2026-11-10..2026-11-01", "1900-01-01..2026-01-01"])
def test_bad_periods_say_what_is_accepted(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_period(text, NOW, UTC)
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        parse_period("fortnight", NOW, UTC)
