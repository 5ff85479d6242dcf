"""The outbox and the claims on its ordering keys: what the delivery workers of every replica share.

Upserts use each dialect's INSERT ... ON CONFLICT (PostgreSQL and SQLite >= 3.35 both support it,
with RETURNING), so two workers taking the same key at the same moment cannot both win.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

from sqlalchemy import Integer, and_, any_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bulk import insert_rows
from storage.database import dialect_insert
from storage.models import (
    DeliveryClaim,
    OutboxItem,
    OutboxStatus,
    utcnow,
)


class DeliveryClaimRepository:
    """Per ordering key (one issue) leases: the only thing that lets a worker touch that key's Slack messages."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def live_keys(now: datetime) -> Any:
        """A subquery of the keys some worker (this one included) holds now."""
        return select(DeliveryClaim.ordering_key).where(DeliveryClaim.claimed_until >= now)

    async def take(self, keys: Sequence[str], worker_id: str, *, now: datetime, until: datetime) -> set[str]:
        """Claim these keys where nobody holds them (or the holder's claim expired); returns those won.

        Keys are inserted in sorted order, so two workers racing for overlapping keys on PostgreSQL
        wait for each other in the same order and never deadlock.
        """
        if not keys:
            return set()
        rows = [
            {"ordering_key": key, "worker_id": worker_id, "claimed_at": now, "claimed_until": until}
            for key in sorted(set(keys))
        ]
        statement = dialect_insert(self.session, DeliveryClaim).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=[DeliveryClaim.ordering_key],
            set_={
                "worker_id": statement.excluded.worker_id,
                "claimed_at": statement.excluded.claimed_at,
                "claimed_until": statement.excluded.claimed_until,
            },
            where=DeliveryClaim.claimed_until < now,
        ).returning(DeliveryClaim.ordering_key)
        return set((await self.session.execute(statement)).scalars())

    async def renew(self, keys: Sequence[str], worker_id: str, *, until: datetime) -> set[str]:
        """Extend this worker's claims; returns the keys it still holds (a missing one was taken over)."""
        if not keys:
            return set()
        statement = (
            update(DeliveryClaim)
            .where(DeliveryClaim.ordering_key.in_(list(keys)), DeliveryClaim.worker_id == worker_id)
            .values(claimed_until=until)
            .returning(DeliveryClaim.ordering_key)
            .execution_options(synchronize_session=False)
        )
        return set((await self.session.execute(statement)).scalars())

    async def release(self, keys: Sequence[str], worker_id: str) -> None:
        if keys:
            await self.session.execute(
                delete(DeliveryClaim)
                .where(DeliveryClaim.ordering_key.in_(list(keys)), DeliveryClaim.worker_id == worker_id)
                .execution_options(synchronize_session=False)
            )

    async def purge_expired(self, before: datetime) -> None:
        await self.session.execute(delete(DeliveryClaim).where(DeliveryClaim.claimed_until < before))



def _due_heads_statement(postgresql: bool) -> Any:
    """OutboxRepository.due_heads' SELECT, built once per dialect (a claim runs after every group commit,
    and building the statement cost more than running it); `now` and `limit` are bound per call."""
    now = bindparam("now", type_=OutboxItem.__table__.c.next_attempt_at.type)
    due_and_free = (
        OutboxItem.status == OutboxStatus.PENDING,
        OutboxItem.next_attempt_at <= now,
        or_(OutboxItem.locked_until.is_(None), OutboxItem.locked_until < now),
        OutboxItem.ordering_key.not_in(DeliveryClaimRepository.live_keys(now)),
    )
    if postgresql:
        heads = (
            select(func.min(OutboxItem.id))
            .where(OutboxItem.status == OutboxStatus.PENDING)
            .group_by(OutboxItem.ordering_key)
        )
        # `= ANY(ARRAY(...))` makes the heads an InitPlan, computed once: as `IN (subquery)` a fresh
        # table (no statistics yet, as after a deploy or in a storm) may get a nested loop that
        # groups the whole outbox again per row: 90 s instead of 40 ms for 20,000 items.
        query = select(OutboxItem).where(OutboxItem.id == any_(func.array(heads.scalar_subquery())), *due_and_free)
        query = query.order_by(OutboxItem.id)
    else:
        # SQLite walks the due rows in the (status, next_attempt_at, ordering_key) index, earliest first
        # (rows of keys a worker holds skipped on the index alone), and asks
        # the (status, ordering_key, id) index whether each is its key's head, stopping at `limit`:
        # grouping every pending row instead held the one writer connection 30-60 ms per claim once
        # 20,000 renders were queued, and webhooks waited behind it (issue 13: p99 over 60 ms).
        earlier = aliased(OutboxItem)
        is_head = ~exists().where(
            earlier.status == OutboxStatus.PENDING,
            earlier.ordering_key == OutboxItem.ordering_key,
            earlier.id < OutboxItem.id,
        )
        query = select(OutboxItem).where(*due_and_free, is_head)
        query = query.order_by(OutboxItem.next_attempt_at, OutboxItem.id)
    return (
        query.limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


_DUE_HEADS = {postgresql: _due_heads_statement(postgresql) for postgresql in (False, True)}


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(
        self, operation: str, payload: dict[str, Any], *, ordering_key: str, issue_id: int | None = None
    ) -> None:
        """Insert at once (not at the next flush), so ids, and so delivery order, follow call order."""
        await self.enqueue_many(
            [{"operation": operation, "payload": payload, "ordering_key": ordering_key, "issue_id": issue_id}]
        )

    async def has_unclaimed_tail(self, ordering_key: str, operation: str) -> bool:
        """True when the newest pending item for the key is this operation and nobody holds it yet.

        Used to coalesce re-renders: one pending "render" already shows the latest state. The row
        is locked (PostgreSQL): a worker claiming it at this moment either waits for this
        transaction, so its render sees our change, or has claimed it first, and then the re-check
        of `locked_until` says "claimed" and the caller enqueues a new render.
        """
        newest = (
            select(OutboxItem.operation, OutboxItem.locked_until)
            .where(OutboxItem.ordering_key == ordering_key, OutboxItem.status == OutboxStatus.PENDING)
            .order_by(OutboxItem.id.desc())
            .limit(1)
            .with_for_update()
        )
        row = (await self.session.execute(newest)).one_or_none()
        return row is not None and row.operation == operation and row.locked_until is None

    async def enqueue_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """One executemany for many items (storage/bulk.py); each row has operation, payload, ordering_key, issue_id."""
        if rows:
            now = utcnow()
            await insert_rows(
                self.session,
                OutboxItem.__table__,
                [{"created_at": now, "next_attempt_at": now, "status": OutboxStatus.PENDING, **row} for row in rows],
            )

    async def keys_with_unclaimed_tail(self, ordering_keys: Sequence[str], operation: str) -> set[str]:
        """Of these keys, those whose newest pending item is `operation` and not yet claimed.

        Locks those rows like `has_unclaimed_tail`, in id order so two writers never deadlock; the
        status is checked on the row itself too, so a render a worker superseded meanwhile no longer
        counts as pending when PostgreSQL re-checks the locked row.
        """
        if not ordering_keys:
            return set()
        newest = (
            select(func.max(OutboxItem.id))
            .where(OutboxItem.status == OutboxStatus.PENDING, OutboxItem.ordering_key.in_(list(ordering_keys)))
            .group_by(OutboxItem.ordering_key)
        )
        query = (
            select(OutboxItem.ordering_key)
            .where(OutboxItem.id.in_(newest), OutboxItem.operation == operation, OutboxItem.locked_until.is_(None))
            .where(OutboxItem.status == OutboxStatus.PENDING)
            .order_by(OutboxItem.id)
            .with_for_update()
        )
        return set((await self.session.execute(query)).scalars())

    async def due_heads(self, *, now: datetime, limit: int) -> list[OutboxItem]:
        """The head item (lowest id still pending) of up to `limit` ordering keys that are due and free.

        Free: the row is not leased and no worker holds a claim on its key (see DeliveryClaim). Rows
        are locked with SKIP LOCKED on PostgreSQL, so concurrent claimers never wait on each other.
        The LIMIT is that of this plain SELECT: an `UPDATE ... WHERE id IN (SELECT ... LIMIT n FOR
        UPDATE SKIP LOCKED)` may run its subquery again while re-checking rows, and lease far more
        than n rows (issue 13 item 12: a worker that asked for 1 item leased 54).
        """
        query = _DUE_HEADS[self.session.bind.dialect.name == "postgresql"]
        parameters = {"now": now, "limit": limit}
        return list((await self.session.execute(query, parameters)).scalars())

    async def lease(self, item_ids: Sequence[int], worker_id: str, *, until: datetime) -> None:
        if item_ids:
            await self.session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(list(item_ids)))
                .values(locked_until=until, locked_by=worker_id)
                .execution_options(synchronize_session=False)
            )

    async def renew_leases(self, item_ids: Sequence[int], worker_id: str, *, until: datetime) -> None:
        if item_ids:
            await self.session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(list(item_ids)), OutboxItem.locked_by == worker_id)
                .values(locked_until=until)
                .execution_options(synchronize_session=False)
            )

    async def defer(self, item_ids: Sequence[int], *, until: datetime) -> None:
        """Not before `until` (a Slack rate limit): neither an attempt nor a failure."""
        if item_ids:
            await self.session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(list(item_ids)))
                .values(next_attempt_at=until)
                .execution_options(synchronize_session=False)
            )

    async def supersede(self, ordering_keys: Sequence[str], operation: str, *, keep: Sequence[int]) -> int:
        """Mark done the pending `operation` items of these keys, other than `keep` (their heads).

        For renders: the head's render, whose view is read after this in the same transaction,
        shows everything they would have. Rows another transaction holds (a writer deciding whether
        to coalesce into one) are skipped; they are simply rendered later.
        """
        if not ordering_keys:
            return 0
        locked = (
            select(OutboxItem.id)
            .where(OutboxItem.ordering_key.in_(list(ordering_keys)), OutboxItem.operation == operation)
            .where(OutboxItem.status == OutboxStatus.PENDING, OutboxItem.id.not_in(list(keep)))
            .order_by(OutboxItem.id)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self.session.execute(locked)).scalars())
        if ids:
            await self.session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(ids))
                .values(status=OutboxStatus.DONE, done_at=utcnow(), last_error="superseded by a later render")
                .execution_options(synchronize_session=False)
            )
        return len(ids)

    async def mark_done_many(self, item_ids: Sequence[int]) -> None:
        if item_ids:
            await self.session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(list(item_ids)))
                .values(status=OutboxStatus.DONE, done_at=utcnow(), locked_until=None, locked_by=None, last_error=None)
                .execution_options(synchronize_session=False)
            )

    async def mark_done(self, item_id: int) -> None:
        await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(status=OutboxStatus.DONE, done_at=utcnow(), locked_until=None, locked_by=None, last_error=None)
        )

    async def reschedule(
        self, item_id: int, *, at: datetime, error: str, count_attempt: bool = True, failed_at: datetime | None = None
    ) -> None:
        """Try again at `at`; a counted attempt also starts the clock of how long it has been failing."""
        values: dict[str, Any] = {"next_attempt_at": at, "locked_until": None, "locked_by": None, "last_error": error}
        if count_attempt:
            values["attempts"] = OutboxItem.attempts + 1
            values["first_failed_at"] = func.coalesce(OutboxItem.first_failed_at, failed_at or utcnow())
        await self.session.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(**values))

    async def parked(self, limit: int) -> list[OutboxItem]:
        """The oldest items the worker gave up on, for a person to see why before re-queueing them."""
        query = select(OutboxItem).where(OutboxItem.status == OutboxStatus.PARKED).order_by(OutboxItem.id).limit(limit)
        return list((await self.session.execute(query)).scalars())

    async def requeue_parked(self, ids: Sequence[int] | None, *, now: datetime) -> int:
        """Parked items (all, or those of `ids`) due again at once with fresh attempts; how many."""
        query = update(OutboxItem).where(OutboxItem.status == OutboxStatus.PARKED)
        if ids is not None:
            query = query.where(OutboxItem.id.in_(list(ids)))
        result = await self.session.execute(
            query.values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, first_failed_at=None,
                         locked_until=None, locked_by=None, done_at=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)

    async def mark_failed(self, item_id: int, *, error: str, status: str = OutboxStatus.FAILED) -> None:
        """FAILED (Slack refused it) or PARKED (we gave up on it): either way never retried by itself."""
        await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(
                status=status,
                last_error=error,
                attempts=OutboxItem.attempts + 1,
                locked_until=None,
                locked_by=None,
                done_at=utcnow(),
            )
        )

    async def pending_stats(self) -> tuple[int, datetime | None]:
        """(pending items, created_at of the oldest) for the depth and lag metrics."""
        query = select(func.count(), func.min(OutboxItem.created_at)).where(
            OutboxItem.status == OutboxStatus.PENDING
        )
        count, oldest = (await self.session.execute(query)).one()
        if isinstance(oldest, str):  # SQLite returns min() of a DateTime as text
            oldest = datetime.fromisoformat(oldest)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=timezone.utc)
        return int(count), oldest

    async def purge_done(self, older_than: datetime) -> int:
        result = await self.session.execute(
            delete(OutboxItem).where(
                and_(OutboxItem.status == OutboxStatus.DONE, OutboxItem.done_at < older_than)
            )
        )
        return int(result.rowcount or 0)


class OutboxBuffer(OutboxRepository):
    """An OutboxRepository whose enqueues are held and written, in call order, by one executemany at
    `flush()`: a transaction that enqueues for many issues (an alert group commit) writes them in one
    statement instead of one per item. Flush before the transaction ends, and before anything else
    enqueues through another repository, so ids still follow call order.

    The tail questions (is a render already last in line?) are answered from the held items for the
    keys they cover: the newest item of such a key is the last one held, and nobody can have claimed it.
    """

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self._held: list[dict[str, Any]] = []
        self._last_held: dict[str, str] = {}  # ordering key -> operation of its newest held item

    async def enqueue_many(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            self._held.append(row)
            self._last_held[row["ordering_key"]] = row["operation"]

    async def has_unclaimed_tail(self, ordering_key: str, operation: str) -> bool:
        if ordering_key in self._last_held:
            return self._last_held[ordering_key] == operation
        return await super().has_unclaimed_tail(ordering_key, operation)

    async def keys_with_unclaimed_tail(self, ordering_keys: Sequence[str], operation: str) -> set[str]:
        held = {key for key in ordering_keys if key in self._last_held}
        found = await super().keys_with_unclaimed_tail([key for key in ordering_keys if key not in held], operation)
        return found | {key for key in held if self._last_held[key] == operation}

    async def flush(self) -> None:
        rows, self._held = self._held, []
        self._last_held.clear()
        await super().enqueue_many(rows)
