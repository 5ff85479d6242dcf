"""When an on-call override ends, from what people type: `until friday`, `until 18:00`,
`until 2026-12-04 09:00`, `for 4h`.

A small parser of its own rather than python-dateutil: dateutil's `parse("friday")` picks a Friday
relative to a default date (today's, even when today is Friday and that hour has passed), and its
fuzzy mode silently drops words it doesn't know. Here each form has one meaning, times are read in
the team's time zone, and anything else is refused with the forms that work.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from core.settings_types import duration_from_text
from core.text import escape
from handlers.errors import InvalidInput
from handlers.slack.blockkit import truncate

LONGEST_OVERRIDE = timedelta(days=31)  # longer than that is a rota change: the config's job
FORMS = "`until friday`, `until friday 18:00`, `until tomorrow`, `until 18:00`, `until 2026-12-04 09:00` or `for 4h`"

_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        [("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "wednesday"), ("thu", "thur", "thurs", "thursday"),
         ("fri", "friday"), ("sat", "saturday"), ("sun", "sunday")]
    )
    for name in names
}
_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{1,2}:\d{2}$")


def parse_clock(text: str) -> time | None:
    """`18:00`, `9:30`, `6pm`, `6:30pm`; None when `text` is not a time of day."""
    match = _CLOCK.match(text.strip().lower())
    if match is None:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if match.group(2) is None and half is None:
        return None  # a bare number is not a time: "until 18" might be a day
    if half is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone).astimezone(timezone.utc)


def _until(words: list[str], now: datetime, zone: ZoneInfo, day_starts: time) -> datetime | None:
    """The moment `until <words>` names, or None when the words are no form we know."""
    today = now.astimezone(zone).date()
    if not words or len(words) > 2:
        return None
    first, rest = words[0].lower(), words[1:]
    clock = parse_clock(rest[0]) if rest else day_starts
    if clock is None:
        return None
    if first in _WEEKDAYS:  # the named day after today: "until friday" said on a Friday means next week's
        ahead = (_WEEKDAYS[first] - today.weekday()) % 7 or 7
        return _local(today + timedelta(days=ahead), clock, zone)
    if first == "tomorrow":
        return _local(today + timedelta(days=1), clock, zone)
    if first == "today" and rest:
        return _local(today, clock, zone)
    if (found := _DATE.match(first)) is not None:
        try:
            day = date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
        except ValueError:
            return None
        return _local(day, clock, zone)
    if not rest and (alone := parse_clock(first)) is not None:  # the next time the clock shows it
        moment = _local(today, alone, zone)
        return moment if moment > now else _local(today + timedelta(days=1), alone, zone)
    return None


def parse_end(text: str, *, now: datetime, zone: ZoneInfo, day_starts: time = time(9, 0)) -> datetime:
    """When an override given as `until …` or `for …` ends, in UTC.

    Times are the team's (`zone`); a day without a time means `day_starts` (the rota's hand-over
    time), so "until friday" hands back when a shift would. InvalidInput names the forms that work.
    """
    words = text.split()
    if not words:
        raise InvalidInput(f"Until when? Say {FORMS}.")
    keyword, rest = words[0].lower(), words[1:]
    said = escape(truncate(" ".join(words), 80))
    if keyword == "for":
        length = duration_from_text(" ".join(rest))
        end = now + length if length is not None else None
    elif keyword in ("until", "till"):
        if rest and _ISO_MOMENT.match(rest[0]):  # 2026-12-04T09:00
            rest = [*rest[0].split("T", 1), *rest[1:]]
        end = _until(rest, now, zone, day_starts)
    else:
        end = None
    if end is None:
        raise InvalidInput(f"I can't tell when “{said}” ends. Say {FORMS}.")
    if end <= now:
        raise InvalidInput(f"“{said}” is not in the future. Say {FORMS}.")
    if end - now > LONGEST_OVERRIDE:
        raise InvalidInput(
            f"An override lasts at most {LONGEST_OVERRIDE.days} days: for longer, change the rota in the opsbot config."
        )
    return end
