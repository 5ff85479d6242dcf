"""Slack work the delivery worker gave up on (it could not be rendered, or retries ran out), for a
person to see and, once the cause is fixed, put back in line without a restart.

A re-queued item keeps its id, so it goes out in its place among its key's items; a post looks for
the message an earlier attempt may have left before posting (delivery.posts), so none is doubled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import OutboxItem, utcnow
from storage.repositories.outbox import OutboxRepository


class ParkedDeliveries:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        wake_worker: Callable[[], None],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._wake_worker = wake_worker
        self._clock = clock

    async def oldest(self, limit: int) -> list[OutboxItem]:
        async with self._sessionmaker() as session:
            return await OutboxRepository(session).parked(limit)

    async def requeue(self, ids: Sequence[int] | None = None) -> int:
        """Parked items (all, or those of `ids`) due at once with fresh attempts; how many."""
        async with self._sessionmaker.begin() as session:
            requeued = await OutboxRepository(session).requeue_parked(ids, now=self._clock())
        if requeued:
            self._wake_worker()
        return requeued
