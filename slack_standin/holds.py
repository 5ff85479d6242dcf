"""Held calls: a test keeps a method's calls waiting at the door until it lets them through.

Slack wants its ack within 3 seconds, and the work after the ack may take longer. Timing the ack
proves nothing on a busy machine; holding the Web API call that the work makes proves the order:

    async with standin.hold("views.open") as gate:
        status, _ = await bot.post_slack(click)   # Slack has its 200 ...
        await gate.wait_for_waiting(1)            # ... while the modal is still held at the door
    await standin.wait_for("views.open")          # let through: the work completes

A held call is recorded (in `calls`) when it is answered, after its release. Method names are the
ones `calls` records: Web API methods, "response_url" and "file_upload".
"""

from __future__ import annotations

import asyncio

POLL_SECONDS = 0.02


class Hold:
    """One held method: calls to it wait until `release()`; `waiting` counts those at the door now."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.waiting = 0
        self.arrived = 0  # every call that met this hold, let through or not
        self._open = asyncio.Event()

    @property
    def released(self) -> bool:
        return self._open.is_set()

    def release(self) -> None:
        """Let the waiting calls through, and every later one; releasing twice is harmless."""
        self._open.set()

    async def pass_through(self) -> None:
        """Called by the stand-in for each incoming call: returns once the hold is released."""
        if self.released:
            return
        self.arrived += 1
        self.waiting += 1
        try:
            await self._open.wait()
        finally:
            self.waiting -= 1

    async def wait_for_waiting(self, count: int = 1, timeout: float = 5.0) -> None:
        """Poll until at least `count` calls wait at the door; the bot makes them in the background."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.waiting < count:
            if self.released:
                raise AssertionError(f"the hold on {self.method} was released before {count} call(s) waited")
            if loop.time() >= deadline:
                raise AssertionError(
                    f"expected {count} call(s) to {self.method} held within {timeout}s, "
                    f"{self.waiting} waiting ({self.arrived} arrived while held)"
                )
            await asyncio.sleep(POLL_SECONDS)

    async def __aenter__(self) -> Hold:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released" if self.released else f"holding, {self.waiting} waiting"
        return f"<Hold {self.method}: {state}>"


class Holds:
    """The holds in force, by method; consulted once per incoming call."""

    def __init__(self) -> None:
        self._by_method: dict[str, Hold] = {}

    def add(self, method: str) -> Hold:
        current = self._by_method.get(method)
        if current is not None and not current.released:
            raise ValueError(f"{method} is already held; release that hold first")
        hold = Hold(method)
        self._by_method[method] = hold
        return hold

    async def pass_through(self, method: str) -> None:
        hold = self._by_method.get(method)
        if hold is not None:
            await hold.pass_through()

    def release_all(self) -> None:
        """Nothing may stay held when the stand-in stops: a held request would stall its shutdown."""
        for hold in self._by_method.values():
            hold.release()
        self._by_method.clear()
