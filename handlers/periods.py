"""Reporting periods as people type them: `/issue export week`, `/summary month`, `2026-11-01..2026-11-15`.

Shared by the issue log export (handlers/issues) and the summaries/reports (handlers/summaries), so
"week" means the same thing everywhere. Use it as:

    from handlers.periods import parse_period, previous_period
    period = parse_period(text, now=clock(), tz=ZoneInfo("Europe/Berlin"))   # default: "month"
    rows = ... where reported_at >= period.start and reported_at < period.end
    before = previous_period(period)   # for trends: the same length just before

The team's time zone is configured once, as `issue_log.timezone` in the YAML (`config.issue_log.zone`
gives the ZoneInfo); use it so a report and an export of "week" cover the same days.

Periods are calendar periods in the team's time zone, half-open `[start, end)`, with `start`/`end`
returned as timezone-aware UTC so they compare directly with stored timestamps. Accepted words
(case-insensitive): today, yesterday, week / this week, last week, month / this month, last month,
one date `YYYY-MM-DD`, or a range `YYYY-MM-DD..YYYY-MM-DD` (both days included). Weeks start on
Monday (ISO). Anything else raises `InvalidInput` with the accepted forms, ready to show the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum

from core.calendar import next_month
from handlers.errors import InvalidInput

PERIOD_USAGE = "today, yesterday, week, last week, month, last month, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"
MAX_RANGE_DAYS = 3660  # ten years: beyond that a typo is likelier than a wish

_DATE = r"(\d{4}-\d{2}-\d{2})"
_RANGE = re.compile(rf"^{_DATE}\s*(?:\.\.|–|—|\s+to\s+)\s*{_DATE}$")
_ONE_DATE = re.compile(rf"^{_DATE}$")


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    RANGE = "range"


@dataclass(frozen=True)
class Period:
    """`[start, end)` in UTC; `label` for people ("November 2026"), `key` for files and claims ("2026-11")."""

    start: datetime
    end: datetime
    label: str
    kind: PeriodKind
    key: str
    first_day: date  # the local calendar days covered, both included
    last_day: date
    tz: tzinfo

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def _utc_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(timezone.utc)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _make(kind: PeriodKind, first: date, last: date, tz: tzinfo) -> Period:
    if kind is PeriodKind.DAY:
        label, key = first.strftime("%a %d %b %Y"), first.isoformat()
    elif kind is PeriodKind.WEEK:
        year, week, _ = first.isocalendar()
        label, key = f"week {week} of {year} ({first:%d %b} – {last:%d %b})", f"{year}-W{week:02d}"
    elif kind is PeriodKind.MONTH:
        label, key = first.strftime("%B %Y"), first.strftime("%Y-%m")
    else:
        label, key = f"{first.isoformat()} – {last.isoformat()}", f"{first.isoformat()}..{last.isoformat()}"
    return Period(
        start=_utc_midnight(first, tz),
        end=_utc_midnight(last + timedelta(days=1), tz),
        label=label,
        kind=kind,
        key=key,
        first_day=first,
        last_day=last,
        tz=tz,
    )


def day_period(day: date, tz: tzinfo) -> Period:
    return _make(PeriodKind.DAY, day, day, tz)


def week_period(day: date, tz: tzinfo) -> Period:
    monday = day - timedelta(days=day.weekday())
    return _make(PeriodKind.WEEK, monday, monday + timedelta(days=6), tz)


def month_period(day: date, tz: tzinfo) -> Period:
    first = _month_start(day)
    return _make(PeriodKind.MONTH, first, next_month(first) - timedelta(days=1), tz)


def range_period(first: date, last: date, tz: tzinfo) -> Period:
    if last < first:
        raise InvalidInput(f"The period {first.isoformat()}..{last.isoformat()} ends before it starts.")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(f"A period can cover at most {MAX_RANGE_DAYS} days.")
    return _make(PeriodKind.RANGE, first, last, tz)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text} is not a date (use YYYY-MM-DD).") from None


def parse_period(text: str | None, now: datetime, tz: tzinfo, *, default: str = "month") -> Period:
    """The period the words name, seen from `now` (aware) in the team's time zone `tz`."""
    words = " ".join((text or "").strip().lower().split()) or default
    today = now.astimezone(tz).date()
    match words:
        case "today" | "day":
            return day_period(today, tz)
        case "yesterday":
            return day_period(today - timedelta(days=1), tz)
        case "week" | "this week":
            return week_period(today, tz)
        case "last week" | "last-week" | "lastweek":
            return week_period(today - timedelta(days=7), tz)
        case "month" | "this month":
            return month_period(today, tz)
        case "last month" | "last-month" | "lastmonth":
            return month_period(_month_start(today) - timedelta(days=1), tz)
    if (one := _ONE_DATE.match(words)) is not None:
        return day_period(_parse_date(one.group(1)), tz)
    if (both := _RANGE.match(words)) is not None:
        return range_period(_parse_date(both.group(1)), _parse_date(both.group(2)), tz)
    raise InvalidInput(f"I don't know the period “{text}”. Use one of: {PERIOD_USAGE}.")


def previous_period(period: Period) -> Period:
    """The period just before, of the same kind: yesterday, last week, last month, or an equal-length range."""
    if period.kind is PeriodKind.DAY:
        return day_period(period.first_day - timedelta(days=1), period.tz)
    if period.kind is PeriodKind.WEEK:
        return week_period(period.first_day - timedelta(days=7), period.tz)
    if period.kind is PeriodKind.MONTH:
        return month_period(period.first_day - timedelta(days=1), period.tz)
    last = period.first_day - timedelta(days=1)
    return _make(PeriodKind.RANGE, last - timedelta(days=period.days - 1), last, period.tz)
