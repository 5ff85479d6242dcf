"""Runbook runs: what auto-fix tried on an issue. Takes the caller's session and never commits.

State changes are conditional UPDATEs on the current status, so two replicas (or a deadline job
racing a resolution) never both act on the same run: whoever changes the row owns the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RunbookRun, RunbookRunStatus


class RunbookRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, run: RunbookRun) -> RunbookRun:
        self.session.add(run)
        await self.session.flush()
        return run

    async def get(self, run_id: int) -> RunbookRun | None:
        return await self.session.get(RunbookRun, run_id, populate_existing=True)

    async def running_for_issue(self, issue_id: int) -> RunbookRun | None:
        query = (
            select(RunbookRun)
            .where(RunbookRun.issue_id == issue_id, RunbookRun.status == RunbookRunStatus.RUNNING)
            .order_by(RunbookRun.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def latest_for(self, issue_id: int, runbook_id: str) -> RunbookRun | None:
        query = (
            select(RunbookRun)
            .where(RunbookRun.issue_id == issue_id, RunbookRun.runbook_id == runbook_id)
            .order_by(RunbookRun.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def count_for(self, issue_id: int, runbook_id: str) -> int:
        query = select(func.count()).where(RunbookRun.issue_id == issue_id, RunbookRun.runbook_id == runbook_id)
        return int((await self.session.execute(query)).scalar_one())

    async def awaiting_verification(self, issue_id: int) -> list[RunbookRun]:
        query = (
            select(RunbookRun)
            .where(RunbookRun.issue_id == issue_id, RunbookRun.status == RunbookRunStatus.SUCCEEDED)
            .order_by(RunbookRun.id.desc())
        )
        return list((await self.session.execute(query)).scalars())

    async def ids_past_deadline(self, now: datetime, *, limit: int = 100) -> list[int]:
        query = (
            select(RunbookRun.id)
            .where(RunbookRun.status == RunbookRunStatus.SUCCEEDED, RunbookRun.verify_deadline < now)
            .order_by(RunbookRun.verify_deadline)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def list_running(self, *, limit: int = 500) -> list[RunbookRun]:
        query = select(RunbookRun).where(RunbookRun.status == RunbookRunStatus.RUNNING).order_by(RunbookRun.id)
        return list((await self.session.execute(query.limit(limit))).scalars())

    async def list_for_issue(self, issue_id: int) -> Sequence[RunbookRun]:
        query = select(RunbookRun).where(RunbookRun.issue_id == issue_id).order_by(RunbookRun.id)
        return (await self.session.execute(query)).scalars().all()

    async def transition(self, run_id: int, *, from_status: str, **values: Any) -> bool:
        """Set `values` only if the run is still in `from_status`; True when this call made the change."""
        result = await self.session.execute(
            update(RunbookRun)
            .where(RunbookRun.id == run_id, RunbookRun.status == from_status)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1
