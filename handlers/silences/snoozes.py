"""SnoozeService: hold an issue's notifications for a while, and bring the issue back when the time is up.

While an issue is snoozed, escalation chains take no step for it (EscalationRepository skips snoozed
issues) and alerts that join it are recorded without a line in its thread (alert ingestion asks
SilenceRepository.snoozed_among); its message still updates in place, which notifies nobody. A
person's own action (Escalate, Resolve) still works: a snooze holds what opsbot does by itself.

`bring_back_due` is the periodic job: each due snooze is ended with a conditional UPDATE, so with
several replicas exactly one posts the "snooze over" reply.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from delivery.outbox import OutboxWriter
from handlers.errors import Conflict, InvalidInput
from handlers.roles import RoleChecker
from handlers.silences.blocks import (
    ActiveSnooze,
    build_snooze_ended_line,
    build_snooze_over_line,
    build_snoozed_line,
    until,
)
from handlers.silences.ids import PRESET_DURATIONS
from handlers.silences.service import require_responder
from storage.models import IssueSnooze, utcnow
from storage.repositories.alert import AlertRepository
from storage.repositories.issue import IssueRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.silence import EXPIRED, SilenceRepository

log = logging.getLogger(__name__)



class SnoozeService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        writer: OutboxWriter,
        roles: RoleChecker,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._writer = writer
        self._roles = roles
        self._clock = clock

    async def snooze(self, issue_id: int, user_id: str, duration: timedelta) -> ActiveSnooze:
        if duration not in PRESET_DURATIONS.values():
            raise InvalidInput("Snooze for 1, 4 or 24 hours.")
        await require_responder(self._roles, self._sessionmaker, self._clock(), issue_id, user_id, "snooze issues")
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            issue = await IssueRepository(session).require(issue_id)
            if not issue.is_open:
                raise Conflict(f"Issue #{issue_id} is already {issue.status.lower()}: there is nothing to snooze.")
            snoozes = SilenceRepository(session)
            running = await snoozes.active_snooze(issue_id)
            if running is not None and running.until > now:
                raise Conflict(
                    f"Issue #{issue_id} is already snoozed until {until(running.snoozed_at, running.until)}: "
                    "end that snooze first to set another."
                )
            if running is not None:  # its time is up and the job has not got to it: this one follows on
                await snoozes.end_snooze(running.id, at=now, by=EXPIRED)
            snooze = ActiveSnooze(snoozed_at=now, until=now + duration, snoozed_by=user_id)
            await snoozes.add_snooze(
                IssueSnooze(issue_id=issue_id, snoozed_by=user_id, snoozed_at=now, until=snooze.until)
            )
            await IssueRepository(session).add_event(
                issue_id, actor=user_id, kind="snoozed", summary=f"Snoozed for {int(duration.total_seconds() // 3600)}h",
                detail={"until": snooze.until.isoformat()}, at=now,
            )
            outbox = OutboxRepository(session)
            await self._writer.thread_reply(outbox, issue_id, build_snoozed_line(snooze))
            await self._writer.render_issue(outbox, issue_id)
        self._writer.wake()
        return snooze

    async def end_snooze(self, issue_id: int, user_id: str) -> None:
        """End it early: notifications (and a waiting escalation step) come back at once."""
        await require_responder(self._roles, self._sessionmaker, self._clock(), issue_id, user_id, "end snoozes")
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            await IssueRepository(session).require(issue_id)
            if not await SilenceRepository(session).end_snoozes(issue_id, at=now, by=user_id):
                raise Conflict(f"Issue #{issue_id} is not snoozed (the snooze may just have ended).")
            await IssueRepository(session).add_event(
                issue_id, actor=user_id, kind="snooze_ended", summary="Snooze ended early", detail={}, at=now,
            )
            outbox = OutboxRepository(session)
            await self._writer.thread_reply(outbox, issue_id, build_snooze_ended_line(user_id))
            await self._writer.render_issue(outbox, issue_id)
        self._writer.wake()

    async def bring_back_due(self) -> int:
        """The periodic job: every snooze whose time is up ends; an open issue gets a reply in its thread."""
        now = self._clock()
        async with self._sessionmaker() as session:
            due = await SilenceRepository(session).list_due_snooze_ids(now)
        back = 0
        for snooze_id in due:
            if await self._bring_back(snooze_id, now):
                back += 1
        if back:
            self._writer.wake()
        return back

    async def _bring_back(self, snooze_id: int, now: datetime) -> bool:
        async with self._sessionmaker.begin() as session:
            snoozes = SilenceRepository(session)
            row = await snoozes.get_snooze(snooze_id)
            if row is None or not await snoozes.end_snooze(snooze_id, at=now, by=EXPIRED):
                return False  # ended early, or another replica brought it back
            issues = IssueRepository(session)
            issue = await issues.get(row.issue_id)
            if issue is None or not issue.is_open:
                return False  # resolved while snoozed: nothing to bring back
            _, firing = await AlertRepository(session).count_for_issue(issue.id)
            await issues.add_event(
                issue.id, actor="opsbot", kind="snooze_over", summary="Snooze over: the issue is back",
                detail={"snoozed_by": row.snoozed_by, "until": row.until.isoformat(), "firing": firing}, at=now,
            )
            snooze = ActiveSnooze(snoozed_at=row.snoozed_at, until=row.until, snoozed_by=row.snoozed_by)
            outbox = OutboxRepository(session)
            await self._writer.thread_reply(outbox, issue.id, build_snooze_over_line(snooze, firing))
            await self._writer.render_issue(outbox, issue.id)
        log.info("issue %s: snooze by %s is over", row.issue_id, row.snoozed_by)
        return True
