"""Periodic background jobs (verification deadlines, escalation chains, reminders, daily reports).

Each job is an async callable run every `interval` seconds; a failure is logged and the job runs
again next time. Jobs must be idempotent and safe with several replicas (claim rows, don't assume).
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


class Scheduler:
    def __init__(self) -> None:
        self.jobs: list[PeriodicJob] = []
        self._tasks: list[asyncio.Task[None]] = []

    def every(self, seconds: float, name: str, run: Callable[[], Awaitable[object]]) -> None:
        self.jobs.append(PeriodicJob(name, seconds, run))

    async def run_all_once(self) -> None:
        """Run every job once, in order (tests use this after moving the clock)."""
        for job in self.jobs:
            await job.run()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(job), name=f"opsbot-{job.name}") for job in self.jobs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    @staticmethod
    async def _loop(job: PeriodicJob) -> None:
        while True:
            await asyncio.sleep(job.interval)
            try:
                await job.run()
            except Exception:  # noqa: BLE001 - one bad run must not stop the job
                log.exception("periodic job %s failed", job.name)
