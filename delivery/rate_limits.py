"""Slack's rate limits as the delivery worker keeps them: a pace per channel, and pauses after a 429.

Slack allows about one message per second per channel with short bursts, and answers 429 with
Retry-After when a method (in a channel, or workspace-wide) is over its limit. The pacer spaces
this process's calls; the pauses are shared with every replica through `slack_rate_limits`,
loaded at each claim, so after one 429 nobody calls that method there until Retry-After has passed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable, Mapping
from datetime import datetime

from slack_sdk.errors import SlackApiError

DEFAULT_RETRY_AFTER_SECONDS = 1.0


class RateLimitPaused(Exception):
    """The call was not made: Slack asked us to wait until `until` (a 429 seen here or by another replica)."""

    def __init__(self, method: str, channel: str, until: datetime) -> None:
        super().__init__(f"{method} paused until {until.isoformat()} (channel {channel or 'any'})")
        self.method, self.channel, self.until = method, channel, until


class RateLimited(RateLimitPaused):
    """Slack answered 429 to this call: the pause starts now and is to be shared with the other replicas.

    `settles` names a post attempt this answer proves did not land (a 429 stores nothing).
    """

    settles: str | None = None


def retry_after_seconds(error: SlackApiError) -> float:
    headers = error.response.headers or {}
    value = headers.get("Retry-After", headers.get("retry-after"))
    try:
        return max(0.0, float(value)) if value is not None else DEFAULT_RETRY_AFTER_SECONDS
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS


class ChannelPacer:
    """Spaces calls per key (method, channel) near `per_second` instead of bursting into 429s."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next_slot: dict[Hashable, float] = {}

    async def wait(self, key: Hashable) -> None:
        now = time.monotonic()
        slot = max(now, self._next_slot.get(key, 0.0))
        self._next_slot[key] = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


class RateLimits:
    """The pauses in force, by (method, channel); channel "" pauses the method in every channel."""

    def __init__(self) -> None:
        self._until: dict[tuple[str, str], datetime] = {}

    def load(self, pauses: Mapping[tuple[str, str], datetime], now: datetime) -> None:
        """Take what the database says (every replica's 429s), keeping our own not yet written."""
        merged = {key: until for key, until in self._until.items() if until > now}
        for key, until in pauses.items():
            if key not in merged or until > merged[key]:
                merged[key] = until
        self._until = merged

    def pause(self, method: str, channel: str, until: datetime) -> None:
        key = (method, channel)
        if key not in self._until or until > self._until[key]:
            self._until[key] = until

    def paused_until(self, method: str, channel: str, now: datetime) -> datetime | None:
        found = [until for key in ((method, channel), (method, "")) if (until := self._until.get(key)) and until > now]
        return max(found) if found else None

    def check(self, method: str, channel: str, now: datetime) -> None:
        until = self.paused_until(method, channel, now)
        if until is not None:
            raise RateLimitPaused(method, channel, until)
