"""Periodic background jobs (verification deadlines, escalation chains, reminders, daily reports).

Features register jobs with `every()`; the supervisor runs each one (`PeriodicJob.loop`) as a task it
owns. A failed run is logged and the job runs again next time. Jobs must be idempotent and safe with
several replicas (claim rows, don't assume).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval: float
    run: Callable[[], Awaitable[object]]

    async def loop(self, stop: asyncio.Event) -> None:
        """Every `interval` seconds until `stop` is set; a run in progress finishes first."""
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
            if stop.is_set():
                return
            try:
                await self.run()
            except Exception:  # noqa: BLE001 - one bad run must not stop the job
                log.exception("periodic job %s failed", self.name)


class Scheduler:
    def __init__(self) -> None:
        self.jobs: list[PeriodicJob] = []

    def every(self, seconds: float, name: str, run: Callable[[], Awaitable[object]]) -> None:
        self.jobs.append(PeriodicJob(name, seconds, run))

    async def run_all_once(self) -> None:
        """Run every job once, in order (tests use this after moving the clock)."""
        for job in self.jobs:
            await job.run()
