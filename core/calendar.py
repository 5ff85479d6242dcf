"""Calendar arithmetic the reports share."""

from __future__ import annotations

from datetime import date


def next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)
