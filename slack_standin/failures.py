"""Scripted failures: rate limits, outages and `ok: false` answers, per method or for all ("*"),
and slow answers (`DelayPlan`): the call takes effect but its answer comes late.

One-shot failures (`fail_next`) are used up in the order they were added, before any standing
failure (`fail_all`) for the same method, so "down, then rate limited once" can be scripted.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

ANY_METHOD = "*"


@dataclass(frozen=True, slots=True)
class Failure:
    """One scripted answer: an HTTP status, Slack's error code, and Retry-After for 429s."""

    status: int
    error: str
    retry_after: int | None

    @classmethod
    def build(cls, status: int, retry_after: int | None, error: str | None) -> Failure:
        if error is None:
            if status == 200:
                raise ValueError("a status=200 failure needs an error code, e.g. error='channel_not_found'")
            error = "ratelimited" if status == 429 else "internal_error"
        return cls(status, error, retry_after if status == 429 else None)

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class FailurePlan:
    """Which calls fail, and how; consulted once per incoming call."""

    def __init__(self) -> None:
        self._next: dict[str, deque[Failure]] = {}
        self._always: dict[str, Failure] = {}

    def add_next(self, method: str, failure: Failure, times: int) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        self._next.setdefault(method, deque()).extend([failure] * times)

    def add_always(self, method: str, failure: Failure) -> None:
        self._always[method] = failure

    def clear(self, method: str | None = None) -> None:
        if method is None:
            self._next.clear()
            self._always.clear()
        else:
            self._next.pop(method, None)
            self._always.pop(method, None)

    def take(self, method: str) -> Failure | None:
        """The failure this call should get, using up a one-shot failure if there is one."""
        for key in (method, ANY_METHOD):
            queue = self._next.get(key)
            if queue:
                return queue.popleft()
        return self._always.get(method) or self._always.get(ANY_METHOD)


class DelayPlan:
    """Slow answers: the call is handled (a message IS stored) and its answer is sent `seconds` later.

    A client whose timeout is shorter gives up on a call that in fact succeeded, as against a Slack
    that is slow to answer. stop() and reset() release the waiting answers at once.
    """

    def __init__(self) -> None:
        self._delays: dict[str, deque[float]] = {}
        self._standing: dict[str, float] = {}
        self._released = asyncio.Event()

    def add(self, method: str, seconds: float, times: int | None) -> None:
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        if times is None:
            self._standing[method] = seconds
            return
        if times < 1:
            raise ValueError("times must be at least 1, or None for every call")
        self._delays.setdefault(method, deque()).extend([seconds] * times)

    def clear(self, method: str | None = None) -> None:
        if method is None:
            self._delays.clear()
            self._standing.clear()
        else:
            self._delays.pop(method, None)
            self._standing.pop(method, None)

    def take(self, method: str) -> float | None:
        for key in (method, ANY_METHOD):
            queue = self._delays.get(key)
            if queue:
                return queue.popleft()
        return self._standing.get(method) or self._standing.get(ANY_METHOD)

    async def wait(self, seconds: float) -> None:
        """Sleep `seconds`, or less if the stand-in is stopping or reset."""
        released = self._released
        try:
            await asyncio.wait_for(released.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    def release_all(self) -> None:
        self.clear()
        self._released.set()
        self._released = asyncio.Event()
