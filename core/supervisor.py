"""The one owner of the process's background work: the delivery worker, the scheduler's jobs, the
knowledge-base watcher, auto-fix runs.

Each task is started here with a name and stopped here, in the reverse order of starting: it is
asked to stop (its `stop` event), given a grace period to finish what it holds, then cancelled and
awaited, so nothing outlives shutdown and nothing is dropped silently. A task that crashes is logged
with its name and started again after a pause, so one bad moment never stops delivery for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable

log = logging.getLogger(__name__)

Job = Callable[[asyncio.Event], Awaitable[None]]
RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # after the last, every 30 s


@dataclass
class _Supervised:
    name: str
    job: Job
    restart: bool
    grace: float
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    crashes: int = 0


class Supervisor:
    def __init__(self) -> None:
        self._supervised: list[_Supervised] = []

    @property
    def names(self) -> list[str]:
        return [entry.name for entry in self._supervised]

    def crashes(self, name: str) -> int:
        return next(entry.crashes for entry in self._supervised if entry.name == name)

    def task(self, name: str) -> asyncio.Task[None]:
        entry = next(entry for entry in self._supervised if entry.name == name)
        assert entry.task is not None
        return entry.task

    async def kill(self, name: str) -> None:
        """Cancel the task wherever it is, as a crash of the process would stop it (no restart, no
        grace): what tests use to prove that nothing depends on a clean shutdown."""
        task = self.task(name)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def start(self, name: str, job: Job, *, restart: bool = True, grace: float = 10.0) -> None:
        """Run `job(stop)` until it returns after `stop` is set; restarted after a crash if `restart`."""
        if name in self.names:
            raise ValueError(f"a task named {name!r} is already supervised")
        entry = _Supervised(name, job, restart, grace)
        entry.task = asyncio.create_task(self._run(entry), name=f"opsbot-{name}")
        self._supervised.append(entry)

    async def _run(self, entry: _Supervised) -> None:
        while True:
            try:
                await entry.job(entry.stop)
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - report, then restart: the process keeps serving
                entry.crashes += 1
                log.exception("background task %s crashed (%d time(s))", entry.name, entry.crashes)
                if not entry.restart or entry.stop.is_set():
                    return
                delay = RESTART_DELAYS[min(entry.crashes, len(RESTART_DELAYS)) - 1]
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(entry.stop.wait(), timeout=delay)
                if entry.stop.is_set():
                    return

    async def stop(self) -> None:
        """Stop every task, newest first; each gets its grace period, then is cancelled."""
        for entry in reversed(self._supervised):
            entry.stop.set()
            assert entry.task is not None
            if entry.task.done():  # ended by itself, or cancelled from outside (tests simulate crashes so)
                continue
            try:
                await asyncio.wait_for(asyncio.shield(entry.task), timeout=entry.grace)
            except asyncio.CancelledError:
                if not entry.task.cancelled():
                    raise  # it is stop() itself that is being cancelled
            except asyncio.TimeoutError:
                log.warning("background task %s did not stop within %.0f s; cancelling it", entry.name, entry.grace)
                entry.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await entry.task
            except Exception:  # noqa: BLE001 - already logged by _run
                pass
        self._supervised.clear()
