"""Scripted failures: rate limits, outages and `ok: false` answers, per method or for all ("*").

One-shot failures (`fail_next`) are used up in the order they were added, before any standing
failure (`fail_all`) for the same method, so "down, then rate limited once" can be scripted.
"""

from __future__ import annotations

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
