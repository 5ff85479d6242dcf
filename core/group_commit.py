"""Run many small requests as one: callers submit items, one leader runs them together.

Used where each item would otherwise cost its own transaction (a thread hop per statement on
SQLite): whatever arrives while a run is in progress is taken by the next run.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupRunner(Generic[T, R]):
    def __init__(self, run_many: Callable[[list[T]], Awaitable[list[R]]], *, max_group: int = 256) -> None:
        self._run_many = run_many
        self._max_group = max_group
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._leader: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._leader is None or self._leader.done():
            self._leader = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            group = self._queue[: self._max_group]
            del self._queue[: len(group)]
            try:
                results = await self._run_many([item for item, _ in group])
            except Exception as error:  # noqa: BLE001 - every waiting caller gets the error
                for _, future in group:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(group, results):
                if not future.done():
                    future.set_result(result)
