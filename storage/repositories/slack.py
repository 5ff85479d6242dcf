"""Slack's side: where each issue's message lives, posts that may have landed, methods a 429 paused,
and the Slack requests already taken (receipts)."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.database import dialect_insert
from storage.models import (
    Issue,
    SlackMessage,
    SlackPostAttempt,
    SlackRateLimit,
    SlackReceipt,
)


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
        statement = dialect_insert(self.session, SlackPostAttempt).values(
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
        statement = dialect_insert(self.session, SlackRateLimit).values(method=method, channel=channel, until=until)
        statement = statement.on_conflict_do_update(
            index_elements=[SlackRateLimit.method, SlackRateLimit.channel],
            set_={"until": statement.excluded.until},
            where=SlackRateLimit.until < statement.excluded.until,
        )
        await self.session.execute(statement)

    async def purge(self, older_than: datetime) -> None:
        await self.session.execute(delete(SlackRateLimit).where(SlackRateLimit.until < older_than))


class SlackMessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_for_issue(self, issue_id: int) -> SlackMessage | None:
        query = select(SlackMessage).where(SlackMessage.issue_id == issue_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get_for_issues(self, issue_ids: Sequence[int]) -> dict[int, SlackMessage]:
        if not issue_ids:
            return {}
        query = select(SlackMessage).where(SlackMessage.issue_id.in_(list(issue_ids)))
        return {message.issue_id: message for message in (await self.session.execute(query)).scalars()}

    async def get_by_ts(self, channel: str, ts: str) -> SlackMessage | None:
        query = select(SlackMessage).where(SlackMessage.channel == channel, SlackMessage.ts == ts)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def save(self, issue_id: int, channel: str, ts: str) -> SlackMessage:
        message = await self.get_for_issue(issue_id)
        if message is None:
            message = SlackMessage(issue_id=issue_id, channel=channel, ts=ts)
            self.session.add(message)
        else:
            message.channel, message.ts = channel, ts
        await self.session.flush()
        return message

    async def forget(self, issue_id: int) -> None:
        await self.session.execute(delete(SlackMessage).where(SlackMessage.issue_id == issue_id))

    async def channel_id_for(self, name: str) -> str | None:
        """The id Slack gave a channel configured by name ("#alerts"), from an issue message posted there.

        chat.postMessage takes a name, but conversations.history wants the id.
        """
        query = (
            select(SlackMessage.channel)
            .join(Issue, Issue.id == SlackMessage.issue_id)
            .where(Issue.channel == name)
            .order_by(SlackMessage.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()


class SlackReceiptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: str, at: datetime) -> bool:
        """Record the receipt; False when it was already there (a retry or a replay)."""
        statement = dialect_insert(self.session, SlackReceipt).values(key=key, received_at=at).on_conflict_do_nothing()
        result = await self.session.execute(statement)
        return bool(result.rowcount)

    async def forget(self, key: str) -> None:
        """Drop a receipt whose handling failed, so Slack's retry is acted on."""
        await self.session.execute(delete(SlackReceipt).where(SlackReceipt.key == key))

    async def purge_older_than(self, cutoff: datetime) -> int:
        result = await self.session.execute(delete(SlackReceipt).where(SlackReceipt.received_at < cutoff))
        return int(result.rowcount or 0)
