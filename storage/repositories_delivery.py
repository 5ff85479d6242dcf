"""What the delivery workers of every replica share: key claims, post attempts and Slack rate limits.

Upserts use each dialect's INSERT ... ON CONFLICT (PostgreSQL and SQLite >= 3.35 both support it,
with RETURNING), so two workers taking the same key at the same moment cannot both win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DeliveryClaim, SlackPostAttempt, SlackRateLimit


def _upsert(session: AsyncSession, model: type) -> Any:
    dialect = session.bind.dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


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
        statement = _upsert(self.session, DeliveryClaim).values(rows)
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


class SlackPostAttemptRepository:
    """Posts made (or about to be) whose outcome nobody recorded: look before posting again."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_many(self, keys: Sequence[str]) -> dict[str, SlackPostAttempt]:
        if not keys:
            return {}
        query = select(SlackPostAttempt).where(SlackPostAttempt.key.in_(list(keys)))
        return {attempt.key: attempt for attempt in (await self.session.execute(query)).scalars()}

    async def record(self, key: str, *, channel: str, thread_ts: str | None, at: datetime) -> None:
        """Before the call: a first attempt opens the window a later search starts from; later ones count."""
        statement = _upsert(self.session, SlackPostAttempt).values(
            key=key, channel=channel, thread_ts=thread_ts, attempted_at=at, last_attempt_at=at, attempts=1
        )
        statement = statement.on_conflict_do_update(
            index_elements=[SlackPostAttempt.key],
            set_={
                "channel": statement.excluded.channel,
                "thread_ts": statement.excluded.thread_ts,
                "last_attempt_at": statement.excluded.last_attempt_at,
                "attempts": SlackPostAttempt.attempts + 1,
            },
        )
        await self.session.execute(statement)

    async def forget(self, keys: Sequence[str]) -> None:
        if keys:
            await self.session.execute(
                delete(SlackPostAttempt)
                .where(SlackPostAttempt.key.in_(list(keys)))
                .execution_options(synchronize_session=False)
            )

    async def purge(self, older_than: datetime) -> None:
        await self.session.execute(delete(SlackPostAttempt).where(SlackPostAttempt.last_attempt_at < older_than))


class SlackRateLimitRepository:
    """429 pauses by (method, channel); channel "" pauses the method everywhere."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self, now: datetime) -> dict[tuple[str, str], datetime]:
        query = select(SlackRateLimit).where(SlackRateLimit.until > now)
        return {(row.method, row.channel): row.until for row in (await self.session.execute(query)).scalars()}

    async def pause(self, method: str, channel: str, until: datetime) -> None:
        """Pause until `until`, or keep a longer pause another worker already recorded."""
        statement = _upsert(self.session, SlackRateLimit).values(method=method, channel=channel, until=until)
        statement = statement.on_conflict_do_update(
            index_elements=[SlackRateLimit.method, SlackRateLimit.channel],
            set_={"until": statement.excluded.until},
            where=SlackRateLimit.until < statement.excluded.until,
        )
        await self.session.execute(statement)

    async def purge(self, older_than: datetime) -> None:
        await self.session.execute(delete(SlackRateLimit).where(SlackRateLimit.until < older_than))
