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
from handlers.issues.lifecycle import IssueHook, IssueLifecycle
from handlers.outbox import OutboxWriter
from handlers.roles import Role, RoleChecker, RoleSettings
from storage.models import OPEN_STATUSES, Issue, IssueStatus, utcnow
from storage.repositories import IssueRepository, OutboxRepository


@dataclass(frozen=True)
class IssueChange:
    issue_id: int
    title: str
    at: datetime


@dataclass(frozen=True)
class _Transition:
    """One kind of state change: who may, from which states, to what, and what to record."""

    to_do: str  # for the refusal: "You need the responder role to <to_do>."
    where: tuple[Any, ...]
    values: Callable[[Issue, datetime], dict[str, Any]]
    conflict: Callable[[Issue], str]
    event: str
    detail: dict[str, Any] | None = None
    hook: IssueHook | None = None


_CLEARED_ON_REOPEN = (
    "resolved_at", "resolved_by", "resolution", "root_cause", "root_cause_category", "resolution_seconds",
    "acknowledged_by", "acknowledged_at", "ack_seconds",
)


def _seconds_since(start: datetime, now: datetime) -> int:
    return max(0, int((now - start).total_seconds()))


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
        return await self._transition(
            issue_id,
            user_id,
            _Transition(
                to_do="acknowledge issues",
                where=(Issue.acknowledged_by.is_(None), Issue.status.in_(OPEN_STATUSES)),
                values=lambda issue, now: {
                    "acknowledged_by": user_id,
                    "acknowledged_at": now,
                    "assignee": user_id,
                    "status": IssueStatus.IN_PROGRESS,
                    "ack_seconds": _seconds_since(issue.reported_at, now),
                },
                conflict=lambda issue: (
                    f"<@{issue.acknowledged_by}> already acknowledged issue #{issue.id}."
                    if issue.is_open
                    else f"Issue #{issue.id} is already {issue.status.lower()}."
                ),
                event="acknowledged",
                hook=self._lifecycle.acknowledged,
            ),
        )

    async def unacknowledge(self, issue_id: int, user_id: str) -> IssueChange:
        return await self._transition(
            issue_id,
            user_id,
            _Transition(
                to_do="unacknowledge issues",
                where=(Issue.acknowledged_by.is_not(None), Issue.status.in_(OPEN_STATUSES)),
                values=lambda issue, now: {
                    "acknowledged_by": None,
                    "acknowledged_at": None,
                    "ack_seconds": None,
                    "assignee": None,
                    "status": IssueStatus.OPEN,
                },
                conflict=lambda issue: f"Issue #{issue.id} is not acknowledged.",
                event="unacknowledged",
            ),
        )

    async def resolve(
        self,
        issue_id: int,
        user_id: str,
        *,
        resolution: str | None = None,
        root_cause: str | None = None,
        root_cause_category: str | None = None,
    ) -> IssueChange:
        return await self._transition(
            issue_id,
            user_id,
            _Transition(
                to_do="resolve issues",
                where=(Issue.status.in_(OPEN_STATUSES),),
                values=lambda issue, now: {
                    "status": IssueStatus.RESOLVED,
                    "resolved_at": now,
                    "resolved_by": user_id,
                    "resolution": resolution or f"Resolved by <@{user_id}>",
                    "root_cause": root_cause,
                    "root_cause_category": root_cause_category,
                    "resolution_seconds": _seconds_since(issue.reported_at, now),
                },
                conflict=lambda issue: f"Issue #{issue.id} is already {issue.status.lower()}.",
                event="resolved",
                detail={"resolution": resolution, "root_cause": root_cause},
                hook=self._lifecycle.resolved,
            ),
        )

    async def reopen(self, issue_id: int, user_id: str) -> IssueChange:
        return await self._transition(
            issue_id,
            user_id,
            _Transition(
                to_do="reopen issues",
                where=(Issue.status.in_((IssueStatus.RESOLVED, IssueStatus.CLOSED)),),
                values=lambda issue, now: dict.fromkeys(_CLEARED_ON_REOPEN) | {"status": IssueStatus.OPEN},
                conflict=lambda issue: f"Issue #{issue.id} is still open.",
                event="reopened",
                hook=self._lifecycle.reopened,
            ),
        )

    async def _transition(self, issue_id: int, user_id: str, change: "_Transition") -> IssueChange:
        """Role check, one conditional UPDATE, the audit row, the lifecycle hook and a re-render."""
        now = self._clock()
        await self._require_role(issue_id, user_id, Role.RESPONDER, change.to_do)
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            issue = await self._require(issues, issue_id)
            changed = await self._conditional_update(
                session, issue_id, where=change.where, values=change.values(issue, now)
            )
            await session.refresh(issue)
            if not changed:
                raise Conflict(change.conflict(issue))
            await issues.add_event(
                issue_id, actor=user_id, kind=change.event, summary=change.event.capitalize(),
                detail=change.detail or {}, at=now,
            )
            if change.hook is not None:
                await change.hook(session, issue, user_id)
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
