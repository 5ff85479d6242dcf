"""Received alert webhooks: stored in bulk before the 202, taken in id order by the one processor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import Row, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.bulk import insert_rows_on
from storage.models import ReceivedWebhook, ReceivedWebhookStatus

# Any constant both replicas agree on: the key of the PostgreSQL advisory lock the processor holds
# for a transaction, so one replica at a time turns webhooks into issues, in the order they came.
_PROCESSOR_LOCK_KEY = 0x6F70_7362_0001  # "opsb" 1
_WAITING = (ReceivedWebhookStatus.RECEIVED, ReceivedWebhookStatus.ACKNOWLEDGING)


@dataclass(frozen=True)
class ParkedWebhook:
    id: int
    source: str
    received_at: datetime
    attempts: int
    last_error: str | None
    body_bytes: int


_TAKE = (
    select(
        ReceivedWebhook.id, ReceivedWebhook.source, ReceivedWebhook.body, ReceivedWebhook.received_at,
        ReceivedWebhook.status,
    )
    .where(ReceivedWebhook.status.in_(_WAITING))
    .order_by(ReceivedWebhook.id)
)
_INSERT = insert(ReceivedWebhook).returning(ReceivedWebhook.id, sort_by_parameter_order=True)


async def store_received(
    connection: AsyncConnection, rows: Sequence[tuple[str, bytes]], received_at: datetime, *, with_ids: bool
) -> list[int] | None:
    """Store (source, body) pairs in one statement, in the connection's transaction; `with_ids`: their
    ids, in the same order. Without ids it is one executemany (storage/bulk.py), the cheapest way to
    store a storm; with them, SQLAlchemy's INSERT ... RETURNING, row order kept. On a bare connection
    because it is all a webhook waits for, and a session's bookkeeping costs more than the INSERT."""
    parameters = [
        {"source": source, "body": body, "received_at": received_at, "status": ReceivedWebhookStatus.RECEIVED,
         "attempts": 0}
        for source, body in rows
    ]
    if not with_ids:
        await insert_rows_on(connection, ReceivedWebhook.__table__, parameters)
        return None
    return list((await connection.execute(_INSERT, parameters)).scalars())


class ReceivedWebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_for_processing(self) -> bool:
        """Whether this transaction may process: on PostgreSQL the advisory lock no other replica holds;
        on SQLite the transaction already holds the one write lock (BEGIN IMMEDIATE)."""
        if self.session.get_bind().dialect.name != "postgresql":
            return True
        taken = await self.session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _PROCESSOR_LOCK_KEY})
        return bool(taken.scalar())

    async def oldest(self, limit: int, *, only: int | None = None) -> Sequence[Row[Any]]:
        """The next webhooks to process (or to finish acknowledging), oldest first: rows of
        (id, source, body, received_at, status); `only`: that one webhook, if it is still waiting."""
        query = _TAKE if only is None else _TAKE.where(ReceivedWebhook.id == only)
        return (await self.session.execute(query.limit(limit))).all()

    async def still_waiting(self, ids: Sequence[int]) -> set[int]:
        query = select(ReceivedWebhook.id).where(ReceivedWebhook.id.in_(list(ids)), ReceivedWebhook.status.in_(_WAITING))
        return set((await self.session.execute(query)).scalars())

    async def oldest_ids(self, limit: int) -> list[int]:
        query = select(ReceivedWebhook.id).where(ReceivedWebhook.status.in_(_WAITING)).order_by(ReceivedWebhook.id)
        return list((await self.session.execute(query.limit(limit))).scalars())

    async def attempts(self, webhook_id: int) -> int:
        query = select(ReceivedWebhook.attempts).where(ReceivedWebhook.id == webhook_id)
        return int((await self.session.execute(query)).scalar() or 0)

    async def delete(self, ids: Sequence[int]) -> None:
        if ids:
            await self.session.execute(delete(ReceivedWebhook).where(ReceivedWebhook.id.in_(list(ids))))

    async def set_status(self, ids: Sequence[int], status: ReceivedWebhookStatus) -> None:
        if ids:
            await self.session.execute(
                update(ReceivedWebhook).where(ReceivedWebhook.id.in_(list(ids))).values(status=status)
            )

    async def record_failure(self, webhook_id: int, error: str, *, park: bool) -> None:
        values = {"attempts": ReceivedWebhook.attempts + 1, "last_error": error[:2000]}
        if park:
            values["status"] = ReceivedWebhookStatus.PARKED
        await self.session.execute(update(ReceivedWebhook).where(ReceivedWebhook.id == webhook_id).values(**values))

    async def requeue_parked(self, ids: Sequence[int] | None = None) -> int:
        """Put parked webhooks (all, or those of `ids`) back in line after the cause was fixed; how many."""
        query = update(ReceivedWebhook).where(ReceivedWebhook.status == ReceivedWebhookStatus.PARKED)
        if ids is not None:
            query = query.where(ReceivedWebhook.id.in_(list(ids)))
        result = await self.session.execute(query.values(status=ReceivedWebhookStatus.RECEIVED, attempts=0))
        return int(result.rowcount or 0)

    async def parked(self, limit: int) -> list[ParkedWebhook]:
        """The oldest parked webhooks, for a person to see why before re-queueing them."""
        query = (
            select(
                ReceivedWebhook.id, ReceivedWebhook.source, ReceivedWebhook.received_at, ReceivedWebhook.attempts,
                ReceivedWebhook.last_error, func.length(ReceivedWebhook.body),
            )
            .where(ReceivedWebhook.status == ReceivedWebhookStatus.PARKED)
            .order_by(ReceivedWebhook.id)
            .limit(limit)
        )
        return [ParkedWebhook(*row) for row in (await self.session.execute(query)).all()]

    async def backlog(self) -> tuple[int, datetime | None, int]:
        """(webhooks waiting to be processed, when the oldest of them arrived, webhooks parked)."""
        waiting = ReceivedWebhook.status != ReceivedWebhookStatus.PARKED
        query = select(
            func.count().filter(waiting),
            func.min(ReceivedWebhook.received_at).filter(waiting),
            func.count().filter(ReceivedWebhook.status == ReceivedWebhookStatus.PARKED),
        )
        count, oldest, parked = (await self.session.execute(query)).one()
        return int(count), oldest, int(parked)
