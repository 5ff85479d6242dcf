"""Validated types for the settings models each feature declares (OpsConfig composes them).

One strict base, one way to write a duration, one time-zone check: a team writes "4h" or
"Europe/Berlin" the same way in every section of the config file.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict


class StrictModel(BaseModel):
    """A config section: unknown keys are errors (a typo must not be silently ignored), values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_DURATION_PART = re.compile(
    r"(\d+(?:\.\d+)?)\s*(weeks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|min|m|seconds?|secs?|sec|s)", re.I
)
_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


def duration_from_text(text: str) -> timedelta | None:
    """What people write: "4h", "90m", "10 min", "1d 12h", "2 days", "1 week"; None for anything else,
    and for a length past what a timedelta holds. The config, Slack forms and commands all read it so."""
    text = text.strip()
    parts = _DURATION_PART.findall(text)
    if not parts or _DURATION_PART.sub("", text).strip():
        return None
    try:
        return timedelta(seconds=sum(float(number) * _UNIT_SECONDS[unit[0].lower()] for number, unit in parts))
    except OverflowError:
        return None


def parse_duration(value: object) -> object:
    """Durations in the config: text as `duration_from_text` reads it; plain numbers are seconds; anything
    else (an ISO 8601 "PT10M", a timedelta) is left to pydantic."""
    if isinstance(value, str):
        parsed = duration_from_text(value)
        if parsed is not None:
            return parsed
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _known_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_known_time_zone)]
