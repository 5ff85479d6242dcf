"""Escalation chains: when nobody acknowledges in time, the next level hears; acknowledging stops it.

`advance` runs on the scheduler. Each due escalation is claimed with a conditional UPDATE before
anything is sent, so replicas sharing one PostgreSQL never escalate the same level twice. The
lifecycle hooks run inside the transaction that acknowledges or resolves the issue.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.escalations.blocks import EscalationNotice, mention_user
from handlers.escalations.context import ViewLoader, load_context
from handlers.escalations.ids import EscalationReason
from handlers.escalations.pagerduty import PagerDutyEvents
from handlers.escalations.service import announce
from handlers.escalations.teams import TeamDirectory
from delivery.outbox import OutboxWriter
from storage.models import Escalation, EscalationStatus, Issue, utcnow
from storage.repositories.outbox import OutboxRepository
from storage.repositories.issue import IssueRepository
from storage.repositories.escalation import EscalationRepository

log = logging.getLogger(__name__)

CHAIN_INTERVAL_SECONDS = 30.0


class EscalationChains:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        writer: OutboxWriter,
        teams: TeamDirectory,
        *,
        pagerduty: PagerDutyEvents,
        load_view: ViewLoader,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._writer = writer
        self._teams = teams
        self._pagerduty = pagerduty
        self._load_view = load_view
        self._clock = clock

    async def advance(self) -> int:
        """The periodic job: move every due escalation to its next level; returns how many moved."""
        now = self._clock()
        async with self._sessionmaker() as session:
            due = await EscalationRepository(session).list_due_ids(now)
        moved = 0
        for escalation_id in due:
            if await self._advance_one(escalation_id, now):
                moved += 1
        if moved:
            self._writer.wake()
        return moved

    async def _advance_one(self, escalation_id: int, now: datetime) -> bool:
        async with self._sessionmaker.begin() as session:
            repo = EscalationRepository(session)
            if not await repo.claim_due(escalation_id, now):
                return False  # another replica (or an acknowledgement) got there first
            current = await repo.get(escalation_id)
            assert current is not None
            issue = await IssueRepository(session).get(current.issue_id)
            team = self._teams.get(current.team)
            level_number = current.level + 1
            level = team.level(level_number) if team else None
            if issue is None or not issue.is_open or team is None or level is None:
                await repo.set_status([current.id], EscalationStatus.CLOSED, only_from=[EscalationStatus.SUPERSEDED])
                return False
            people = tuple(level.people(now))
            notice = EscalationNotice(
                context=await load_context(session, issue, self._load_view),
                team_name=team.name,
                requested_by=current.requested_by,
                urgency=current.urgency,
                reason=EscalationReason.CHAIN,
                note=current.note,
                level=level_number,
                level_name=level.name,
                usergroup=level.usergroup,
                people=people,
                waited_minutes=level.after_minutes,
            )
            following = await repo.add(
                Escalation(
                    issue_id=issue.id, team=team.key, level=level_number, urgency=current.urgency, note=current.note,
                    reason=EscalationReason.CHAIN.value, requested_by=current.requested_by, created_at=now,
                    status=EscalationStatus.ACTIVE, on_call=people[0] if people else None,
                    next_level_at=team.next_level_at(level_number, now),
                    pagerduty_dedup_key=current.pagerduty_dedup_key,
                )
            )
            label = f"level {level_number}" + (f" ({level.name})" if level.name else "")
            await IssueRepository(session).add_event(
                issue.id, actor="opsbot", kind="escalation_level",
                summary=f"Nobody acknowledged within {level.after_minutes} min: {label} of {team.name}",
                detail={
                    "escalation_id": following.id, "previous": current.id, "team": team.key,
                    "level": level_number, "people": list(people), "channel": level.channel,
                },
                at=now,
            )
            outbox = OutboxRepository(session)
            await announce(self._writer, outbox, notice, channel=level.channel)
        log.info("issue %s: escalation to %s moved to level %s", issue.id, team.key, level_number)
        return True

    async def on_acknowledged(self, session: AsyncSession, issue: Issue, actor: str) -> None:
        """Someone took the issue: waiting escalations stop (and PagerDuty hears it)."""
        repo = EscalationRepository(session)
        waiting = await repo.list_for_issue(issue.id, statuses=[EscalationStatus.ACTIVE])
        now = self._clock()
        moved = await repo.set_status(
            [e.id for e in waiting], EscalationStatus.ACKNOWLEDGED,
            only_from=[EscalationStatus.ACTIVE], acknowledged_by=actor, at=now,
        )
        if not moved:
            return
        names = ", ".join(sorted({self._team_name(item.team) for item in moved}))
        await IssueRepository(session).add_event(
            issue.id, actor=actor, kind="escalation_stopped", summary=f"Escalation to {names} stopped: acknowledged",
            detail={"escalations": [item.id for item in moved]}, at=now,
        )
        await self._writer.thread_reply(
            OutboxRepository(session), issue.id,
            f"✋ {mention_user(actor)} acknowledged the issue: the escalation to {names} stops here.",
        )
        for item in moved:
            if item.pagerduty_dedup_key:
                await self._pagerduty.follow_up(session, issue.id, item.team, item.pagerduty_dedup_key, "acknowledge")

    async def on_resolved(self, session: AsyncSession, issue: Issue, actor: str) -> None:
        """The issue is resolved: its escalations close and their PagerDuty incidents resolve."""
        repo = EscalationRepository(session)
        still_open = await repo.list_for_issue(
            issue.id, statuses=[EscalationStatus.ACTIVE, EscalationStatus.ACKNOWLEDGED]
        )
        moved = await repo.set_status(
            [e.id for e in still_open], EscalationStatus.CLOSED,
            only_from=[EscalationStatus.ACTIVE, EscalationStatus.ACKNOWLEDGED],
        )
        if not moved:
            return
        await IssueRepository(session).add_event(
            issue.id, actor=actor, kind="escalations_closed",
            summary=f"Escalations closed: {', '.join(sorted({self._team_name(item.team) for item in moved}))}",
            detail={"escalations": [item.id for item in moved]}, at=self._clock(),
        )
        incidents = {(item.team, item.pagerduty_dedup_key) for item in moved if item.pagerduty_dedup_key}
        for team_key, dedup_key in sorted(incidents):
            await self._pagerduty.follow_up(session, issue.id, team_key, dedup_key, "resolve")

    def _team_name(self, key: str) -> str:
        team = self._teams.get(key)
        return team.name if team else key
