"""Repository for Slack receipts; it takes a session and never commits.

`add` is an insert that cannot fail on a duplicate (ON CONFLICT DO NOTHING on both databases), so
two replicas given the same retry at the same moment agree on which one acts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.receipts import SlackReceipt


class SlackReceiptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: str, at: datetime) -> bool:
        """Record the receipt; False when it was already there (a retry or a replay)."""
        dialect = postgresql if self.session.bind.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(SlackReceipt).values(key=key, received_at=at).on_conflict_do_nothing()
        result = await self.session.execute(statement)
        return bool(result.rowcount)

    async def forget(self, key: str) -> None:
        """Drop a receipt whose handling failed, so Slack's retry is acted on."""
        await self.session.execute(delete(SlackReceipt).where(SlackReceipt.key == key))

    async def purge_older_than(self, cutoff: datetime) -> int:
        result = await self.session.execute(delete(SlackReceipt).where(SlackReceipt.received_at < cutoff))
        return int(result.rowcount or 0)
