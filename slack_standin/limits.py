"""Slack's rate limits, switchable: per-method tiers, and about one message a second per channel.

Slack counts per method per workspace per app in tiers (Tier 1: 1+ a minute, Tier 2: 20+, Tier 3:
50+, Tier 4: 100+), and chat.postMessage separately per channel: one a second, with short bursts
allowed. Past a limit it answers HTTP 429 `{"ok": false, "error": "ratelimited"}` with Retry-After
in whole seconds. Modelled as token buckets: a bucket holds a tier's minute (or a channel's burst)
and refills evenly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
MESSAGE_BURST = 4  # posts a channel may take at once before the one-a-second pace applies
MESSAGES_PER_SECOND = 1.0

METHOD_TIERS = {
    "auth.test": 4,
    "chat.update": 3,
    "chat.delete": 3,
    "chat.postEphemeral": 4,
    "chat.getPermalink": 4,
    "conversations.open": 3,
    "conversations.info": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "conversations.join": 3,
    "conversations.members": 4,
    "conversations.list": 2,
    "users.info": 4,
    "users.list": 2,
    "users.lookupByEmail": 3,
    "usergroups.users.list": 2,
    "views.open": 4,
    "views.push": 4,
    "views.update": 4,
    "views.publish": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}
PER_CHANNEL = {"chat.postMessage"}


@dataclass
class _Bucket:
    capacity: float
    per_second: float
    tokens: float
    at: float

    def take(self, now: float) -> float:
        """0 when a call may go now (and counts it), else the seconds until one may."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second


class RateLimits:
    """Off until enabled; `check()` answers the Retry-After seconds of a call to refuse, or None."""

    def __init__(self, enabled: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def reset(self) -> None:
        self._buckets.clear()

    def check(self, method: str, channel: str | None = None) -> int | None:
        if not self.enabled:
            return None
        now = self._clock()
        if method in PER_CHANNEL:
            key, capacity, rate = (method, channel or ""), MESSAGE_BURST, MESSAGES_PER_SECOND
        elif method in METHOD_TIERS:
            per_minute = TIER_PER_MINUTE[METHOD_TIERS[method]]
            key, capacity, rate = (method, ""), per_minute, per_minute / 60
        else:
            return None
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(capacity, rate, capacity, now)
        wait = bucket.take(now)
        return max(1, math.ceil(wait)) if wait else None
