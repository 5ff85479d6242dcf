"""State changes on issues, race-safe: each is one conditional UPDATE, so the first click wins.

Every change writes an issue_events row (the audit trail) and enqueues a re-render of the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.errors import Conflict, NotFound
from handlers.issues.lifecycle import IssueLifecycle
from handlers.outbox import OutboxWriter
from handlers.roles import Role, RoleChecker, RoleSettings
from storage.models import OPEN_STATUSES, Issue, IssueStatus, utcnow
from storage.repositories import IssueRepository, OutboxRepository


@dataclass(frozen=True)
class IssueChange:
    issue_id: int
    title: str
    at: datetime


class IssueService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        outbox_writer: OutboxWriter,
        *,
        roles: RoleChecker | None = None,
        lifecycle: IssueLifecycle | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._writer = outbox_writer
        self._roles = roles or RoleChecker(RoleSettings())
        self._lifecycle = lifecycle or IssueLifecycle()
        self._clock = clock

    async def acknowledge(self, issue_id: int, user_id: str) -> IssueChange:
        """The clicker takes the issue: assignee, In progress, acknowledged_at/by (MTTA)."""
        now = self._clock()
        await self._require_role(issue_id, user_id, Role.RESPONDER, "acknowledge issues")
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            issue = await self._require(issues, issue_id)
            changed = await self._conditional_update(
                session,
                issue_id,
                where=(Issue.acknowledged_by.is_(None), Issue.status.in_(OPEN_STATUSES)),
                values={
                    "acknowledged_by": user_id,
                    "acknowledged_at": now,
                    "assignee": user_id,
                    "status": IssueStatus.IN_PROGRESS,
                    "ack_seconds": max(0, int((now - issue.reported_at).total_seconds())),
                },
            )
            if not changed:
                await session.refresh(issue)
                if not issue.is_open:
                    raise Conflict(f"Issue #{issue_id} is already {issue.status.lower()}.")
                raise Conflict(f"<@{issue.acknowledged_by}> already acknowledged issue #{issue_id}.")
            await issues.add_event(issue_id, actor=user_id, kind="acknowledged", summary="Acknowledged", at=now)
            await session.refresh(issue)
            await self._lifecycle.acknowledged(session, issue, user_id)
            await self._writer.render_issue(OutboxRepository(session), issue_id)
        self._writer.wake()
        return IssueChange(issue_id, issue.title, now)

    async def unacknowledge(self, issue_id: int, user_id: str) -> IssueChange:
        now = self._clock()
        await self._require_role(issue_id, user_id, Role.RESPONDER, "unacknowledge issues")
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            issue = await self._require(issues, issue_id)
            changed = await self._conditional_update(
                session,
                issue_id,
                where=(Issue.acknowledged_by.is_not(None), Issue.status.in_(OPEN_STATUSES)),
                values={
                    "acknowledged_by": None,
                    "acknowledged_at": None,
                    "ack_seconds": None,
                    "assignee": None,
                    "status": IssueStatus.OPEN,
                },
            )
            if not changed:
                raise Conflict(f"Issue #{issue_id} is not acknowledged.")
            await issues.add_event(issue_id, actor=user_id, kind="unacknowledged", summary="Unacknowledged", at=now)
            await self._writer.render_issue(OutboxRepository(session), issue_id)
        self._writer.wake()
        return IssueChange(issue_id, issue.title, now)

    async def resolve(
        self,
        issue_id: int,
        user_id: str,
        *,
        resolution: str | None = None,
        root_cause: str | None = None,
        root_cause_category: str | None = None,
    ) -> IssueChange:
        now = self._clock()
        await self._require_role(issue_id, user_id, Role.RESPONDER, "resolve issues")
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            issue = await self._require(issues, issue_id)
            changed = await self._conditional_update(
                session,
                issue_id,
                where=(Issue.status.in_(OPEN_STATUSES),),
                values={
                    "status": IssueStatus.RESOLVED,
                    "resolved_at": now,
                    "resolved_by": user_id,
                    "resolution": resolution or f"Resolved by <@{user_id}>",
                    "root_cause": root_cause,
                    "root_cause_category": root_cause_category,
                    "resolution_seconds": max(0, int((now - issue.reported_at).total_seconds())),
                },
            )
            if not changed:
                await session.refresh(issue)
                raise Conflict(f"Issue #{issue_id} is already {issue.status.lower()}.")
            detail: dict[str, Any] = {"resolution": resolution, "root_cause": root_cause}
            await issues.add_event(issue_id, actor=user_id, kind="resolved", summary="Resolved", detail=detail, at=now)
            await session.refresh(issue)
            await self._lifecycle.resolved(session, issue, user_id)
            await self._writer.render_issue(OutboxRepository(session), issue_id)
        self._writer.wake()
        return IssueChange(issue_id, issue.title, now)

    async def reopen(self, issue_id: int, user_id: str) -> IssueChange:
        now = self._clock()
        await self._require_role(issue_id, user_id, Role.RESPONDER, "reopen issues")
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            issue = await self._require(issues, issue_id)
            changed = await self._conditional_update(
                session,
                issue_id,
                where=(Issue.status.in_((IssueStatus.RESOLVED, IssueStatus.CLOSED)),),
                values={
                    "status": IssueStatus.OPEN,
                    "resolved_at": None,
                    "resolved_by": None,
                    "resolution": None,
                    "root_cause": None,
                    "root_cause_category": None,
                    "resolution_seconds": None,
                    "acknowledged_by": None,
                    "acknowledged_at": None,
                    "ack_seconds": None,
                },
            )
            if not changed:
                raise Conflict(f"Issue #{issue_id} is still open.")
            await issues.add_event(issue_id, actor=user_id, kind="reopened", summary="Reopened", at=now)
            await session.refresh(issue)
            await self._lifecycle.reopened(session, issue, user_id)
            await self._writer.render_issue(OutboxRepository(session), issue_id)
        self._writer.wake()
        return IssueChange(issue_id, issue.title, now)

    async def get(self, issue_id: int) -> Issue:
        """One issue, for listeners that show it in a modal before changing it."""
        async with self._sessionmaker() as session:
            return await self._require(IssueRepository(session), issue_id)

    async def require_role(self, issue_id: int, user_id: str, role: Role, to_do: str) -> None:
        """Refuse (and audit) at the click, before a modal asks for anything the user may not submit."""
        await self._require_role(issue_id, user_id, role, to_do)

    async def _require_role(self, issue_id: int, user_id: str, role: Role, to_do: str) -> None:
        """Refuse without the role, and keep the refusal in the issue's audit trail."""
        if await self._roles.has(user_id, role):
            return
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            if await issues.get(issue_id) is not None:
                await issues.add_event(
                    issue_id, actor=user_id, kind="denied", summary=f"Refused: {to_do}", detail={"role": role.value}
                )
        await self._roles.require(user_id, role, to_do)

    @staticmethod
    async def _require(issues: IssueRepository, issue_id: int) -> Issue:
        issue = await issues.get(issue_id)
        if issue is None:
            raise NotFound(f"Issue #{issue_id} does not exist.")
        return issue

    @staticmethod
    async def _conditional_update(
        session: AsyncSession, issue_id: int, *, where: tuple[Any, ...], values: dict[str, Any]
    ) -> bool:
        result = await session.execute(
            update(Issue)
            .where(Issue.id == issue_id, *where)
            .values(**values, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1
