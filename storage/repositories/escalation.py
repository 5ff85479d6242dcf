"""Escalations and what was already tried on an issue (runbook runs), for the escalation feature.

Like every repository: takes the caller's AsyncSession and never commits. State changes are
conditional UPDATEs so two replicas (or two clicks) never both move the same escalation.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Escalation, EscalationStatus, RunbookRun
from storage.repositories.silence import snoozed_issue_ids


class MovedEscalation(NamedTuple):
    id: int
    team: str
    level: int
    pagerduty_dedup_key: str | None


class EscalationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, escalation: Escalation) -> Escalation:
        self.session.add(escalation)
        await self.session.flush()
        return escalation

    async def get(self, escalation_id: int) -> Escalation | None:
        query = select(Escalation).where(Escalation.id == escalation_id)
        return (await self.session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()

    async def list_for_issue(self, issue_id: int, *, statuses: Sequence[str] | None = None) -> list[Escalation]:
        query = select(Escalation).where(Escalation.issue_id == issue_id).order_by(Escalation.id)
        if statuses is not None:
            query = query.where(Escalation.status.in_(list(statuses)))
        return list((await self.session.execute(query)).scalars())

    async def active_for_team(self, issue_id: int, team: str) -> Escalation | None:
        query = (
            select(Escalation)
            .where(Escalation.issue_id == issue_id, Escalation.team == team)
            .where(Escalation.status == EscalationStatus.ACTIVE)
            .order_by(Escalation.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def list_due_ids(self, now: datetime, *, limit: int = 100) -> list[int]:
        """Active escalations whose next level is due (nobody acknowledged in time), unless their issue
        is snoozed: then the step waits, and is taken once the snooze is over."""
        query = (
            select(Escalation.id)
            .where(Escalation.status == EscalationStatus.ACTIVE, Escalation.next_level_at <= now)
            .where(Escalation.issue_id.not_in(snoozed_issue_ids(now)))  # a snooze holds the chain's steps
            .order_by(Escalation.next_level_at)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def claim_due(self, escalation_id: int, now: datetime) -> bool:
        """Move a due escalation on (superseded by the next level); only one caller ever wins."""
        result = await self.session.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, Escalation.status == EscalationStatus.ACTIVE)
            .where(Escalation.next_level_at <= now, Escalation.issue_id.not_in(snoozed_issue_ids(now)))
            .values(status=EscalationStatus.SUPERSEDED)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def set_status(
        self,
        escalation_ids: Sequence[int],
        status: EscalationStatus,
        *,
        only_from: Sequence[str],
        acknowledged_by: str | None = None,
        at: datetime | None = None,
    ) -> list[MovedEscalation]:
        """Move the given escalations still in one of `only_from`; returns the ones this call moved."""
        if not escalation_ids:
            return []
        values: dict[str, object] = {"status": status, "next_level_at": None}
        if acknowledged_by is not None:
            values.update(acknowledged_by=acknowledged_by, acknowledged_at=at)
        result = await self.session.execute(
            update(Escalation)
            .where(Escalation.id.in_(list(escalation_ids)), Escalation.status.in_(list(only_from)))
            .values(**values)
            .returning(Escalation.id, Escalation.team, Escalation.level, Escalation.pagerduty_dedup_key)
            .execution_options(synchronize_session=False)
        )
        return [MovedEscalation(*row) for row in result.all()]

    async def list_runbook_runs(self, issue_id: int, *, limit: int = 5) -> list[RunbookRun]:
        """The latest runbook runs on the issue, oldest first, for the escalation's timeline."""
        query = (
            select(RunbookRun)
            .where(RunbookRun.issue_id == issue_id)
            .order_by(RunbookRun.started_at.desc(), RunbookRun.id.desc())
            .limit(limit)
        )
        return list(reversed(list((await self.session.execute(query)).scalars())))
