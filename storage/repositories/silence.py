"""Silences opsbot created in Alertmanager and snoozes of issues. Takes the caller's session, never commits.

Ending either is a conditional UPDATE on `ended_at IS NULL`, so of a person's click and the periodic
job (or two replicas) exactly one ends it, and only that one tells Slack.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AlertSilence, IssueSnooze

EXPIRED = "expired"  # `ended_by` when the time ran out rather than a person ending it


def snoozed_issue_ids(now: datetime) -> Select[tuple[int]]:
    """The issues whose notifications are held at `now`, as a subquery (escalation chains skip them)."""
    return select(IssueSnooze.issue_id).where(IssueSnooze.ended_at.is_(None), IssueSnooze.until > now)


class SilenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- Alertmanager silences -------------------------------------------------------------

    async def add_silence(self, silence: AlertSilence) -> AlertSilence:
        self.session.add(silence)
        await self.session.flush()
        return silence

    async def active_silence(self, issue_id: int) -> AlertSilence | None:
        """The issue's silence opsbot has not seen end (the latest, should there be several)."""
        query = (
            select(AlertSilence)
            .where(AlertSilence.issue_id == issue_id, AlertSilence.ended_at.is_(None))
            .order_by(AlertSilence.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def list_run_out_silences(self, now: datetime, *, limit: int = 100) -> list[AlertSilence]:
        query = (
            select(AlertSilence)
            .where(AlertSilence.ended_at.is_(None), AlertSilence.ends_at <= now)
            .order_by(AlertSilence.ends_at)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def end_silence(self, silence_id: int, *, at: datetime, by: str) -> bool:
        """Mark it ended; False when someone (or the job) already did."""
        result = await self.session.execute(
            update(AlertSilence)
            .where(AlertSilence.id == silence_id, AlertSilence.ended_at.is_(None))
            .values(ended_at=at, ended_by=by)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    # -- snoozes ---------------------------------------------------------------------------

    async def add_snooze(self, snooze: IssueSnooze) -> IssueSnooze:
        self.session.add(snooze)
        await self.session.flush()
        return snooze

    async def active_snooze(self, issue_id: int) -> IssueSnooze | None:
        """The issue's snooze not yet ended (its time may have just passed: the job ends it)."""
        query = (
            select(IssueSnooze)
            .where(IssueSnooze.issue_id == issue_id, IssueSnooze.ended_at.is_(None))
            .order_by(IssueSnooze.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def snoozed_among(self, issue_ids: Sequence[int], now: datetime) -> set[int]:
        """Which of these issues are snoozed at `now` (one query, for alert ingestion)."""
        if not issue_ids:
            return set()
        query = snoozed_issue_ids(now).where(IssueSnooze.issue_id.in_(list(issue_ids)))
        return set((await self.session.execute(query)).scalars())

    async def list_due_snooze_ids(self, now: datetime, *, limit: int = 100) -> list[int]:
        query = (
            select(IssueSnooze.id)
            .where(IssueSnooze.ended_at.is_(None), IssueSnooze.until <= now)
            .order_by(IssueSnooze.until)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def end_snoozes(self, issue_id: int, *, at: datetime, by: str) -> list[IssueSnooze]:
        """End the issue's snoozes still running; returns the ones this call ended."""
        query = select(IssueSnooze).where(IssueSnooze.issue_id == issue_id, IssueSnooze.ended_at.is_(None))
        ended = []
        for snooze in (await self.session.execute(query.order_by(IssueSnooze.id))).scalars():
            if await self.end_snooze(snooze.id, at=at, by=by):
                ended.append(snooze)
        return ended

    async def get_snooze(self, snooze_id: int) -> IssueSnooze | None:
        return await self.session.get(IssueSnooze, snooze_id, populate_existing=True)

    async def end_snooze(self, snooze_id: int, *, at: datetime, by: str) -> bool:
        """Mark it ended; False when someone (or the job) already did."""
        result = await self.session.execute(
            update(IssueSnooze)
            .where(IssueSnooze.id == snooze_id, IssueSnooze.ended_at.is_(None))
            .values(ended_at=at, ended_by=by)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1
