"""The supervisor starts background work, restarts what crashes, and stops everything in reverse order."""

from __future__ import annotations

import asyncio

import pytest

from core import supervisor as supervisor_module
from core.supervisor import Supervisor


async def test_tasks_stop_newest_first_and_finish_what_they_hold() -> None:
    stopped: list[str] = []
    supervisor = Supervisor()

    def job(name: str):  # type: ignore[no-untyped-def]
        async def run(stop: asyncio.Event) -> None:
            await stop.wait()
            await asyncio.sleep(0)  # the work it still holds
            stopped.append(name)

        return run

    for name in ("delivery", "scheduler", "watcher"):
        supervisor.start(name, job(name))
    assert supervisor.names == ["delivery", "scheduler", "watcher"]
    await asyncio.wait_for(supervisor.stop(), timeout=30)
    assert stopped == ["watcher", "scheduler", "delivery"]
    assert supervisor.names == []


async def test_a_crashing_task_is_restarted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor_module, "RESTART_DELAYS", (0.0,))
    runs: list[int] = []
    third_run = asyncio.Event()

    async def flaky(stop: asyncio.Event) -> None:
        runs.append(len(runs) + 1)
        if len(runs) < 3:
            raise RuntimeError("database went away")
        third_run.set()
        await stop.wait()

    supervisor = Supervisor()
    supervisor.start("delivery", flaky)
    await asyncio.wait_for(third_run.wait(), timeout=30)
    assert supervisor.crashes("delivery") == 2
    await asyncio.wait_for(supervisor.stop(), timeout=30)
    assert runs == [1, 2, 3]


async def test_a_task_that_ignores_stop_is_cancelled_after_its_grace() -> None:
    cancelled = asyncio.Event()

    async def stubborn(stop: asyncio.Event) -> None:
        try:
            await asyncio.Event().wait()  # never looks at `stop`
        except asyncio.CancelledError:
            cancelled.set()
            raise

    supervisor = Supervisor()
    supervisor.start("stubborn", stubborn, grace=0.05)
    await asyncio.wait_for(supervisor.stop(), timeout=30)
    assert cancelled.is_set()


async def test_names_are_unique() -> None:
    supervisor = Supervisor()

    async def idle(stop: asyncio.Event) -> None:
        await stop.wait()

    supervisor.start("delivery", idle)
    with pytest.raises(ValueError, match="already supervised"):
        supervisor.start("delivery", idle)
    await supervisor.stop()
