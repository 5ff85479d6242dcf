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


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|min|m|sec|s)", re.I)
_DURATION_UNITS = {"d": 86400, "h": 3600, "min": 60, "m": 60, "sec": 1, "s": 1}


def parse_duration(value: object) -> object:
    """People write "4h", "90m", "10 min", "1d 12h"; plain numbers are seconds; anything else
    (an ISO 8601 "PT10M", a timedelta) is left to pydantic."""
    if isinstance(value, str):
        text = value.strip().lower()
        parts = _DURATION_PART.findall(text)
        if parts and _DURATION_PART.sub("", text).strip() == "":
            return timedelta(seconds=sum(float(n) * _DURATION_UNITS[unit] for n, unit in parts))
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _known_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_known_time_zone)]
