"""IssueService: the one service of the issue log, which the composition root builds once.

By concern: the state changes are here (acknowledge, unacknowledge, resolve, reopen), race-safe
because each is the repository's conditional transition, so the first click wins; writing to the
log from Slack (report, assign, comment, thread replies) is log.py's IssueLogMixin, the reads
(lists, timelines, App Home, export pages) queries.py's IssueQueriesMixin. The role check, with the
refusal kept in the audit trail, is here once for all of them.

Every change writes an issue_events row (the audit trail) and enqueues a re-render of the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.vocabulary import Category
from handlers.errors import Conflict
from handlers.issues.lifecycle import IssueHook, IssueLifecycle
from handlers.issues.log import IssueChange, IssueLogMixin
from handlers.issues.queries import IssueQueriesMixin
from delivery.outbox import OutboxWriter
from handlers.roles import Role, RoleChecker, RoleSettings
from storage.models import OPEN_STATUSES, Issue, IssueStatus, utcnow
from storage.repositories.outbox import OutboxRepository
from storage.repositories.issue import CATEGORY_CHANGED_KIND, IssueRepository


@dataclass(frozen=True)
class _Transition:
    """One kind of state change: who may, from which states, to what, and what to record."""

    to_do: str | None  # for the refusal: "You need the responder role to <to_do>."; None: no role applies
    from_statuses: tuple[str, ...]
    values: Callable[[Issue, datetime], dict[str, Any]]
    conflict: Callable[[Issue], str]
    event: str
    detail: dict[str, Any] | None = None
    hook: IssueHook | None = None
    acknowledged: bool | None = None  # also required: acknowledged (True) or not (False)
    # More timeline lines the change causes, (kind, summary, detail), read from the issue before it changes.
    also: Callable[[Issue], list[tuple[str, str, dict[str, Any]]]] | None = None


_CLEARED_ON_REOPEN = (
    "resolved_at", "resolved_by", "resolution", "root_cause", "root_cause_category", "resolution_seconds",
    "acknowledged_by", "acknowledged_at", "ack_seconds",
)


def _recategorised(issue: Issue, category: str | None) -> list[tuple[str, str, dict[str, Any]]]:
    if category is None or category == issue.category:
        return []
    summary = f"Category {issue.category} → {category} (the root cause given at resolution)"
    return [(CATEGORY_CHANGED_KIND, summary, {"from": issue.category, "to": category, "why": "root_cause"})]


def _seconds_since(start: datetime, now: datetime) -> int:
    return max(0, int((now - start).total_seconds()))


class IssueService(IssueLogMixin, IssueQueriesMixin):
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        outbox_writer: OutboxWriter,
        *,
        reader: async_sessionmaker[AsyncSession] | None = None,
        helpdesk_channel: str = "",
        roles: RoleChecker | None = None,
        lifecycle: IssueLifecycle | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`reader`: sessions for lists, the App Home and exports (default: `sessionmaker`);
        `helpdesk_channel`: where issues people report are posted."""
        self._sessionmaker = sessionmaker
        self._reader = reader or sessionmaker
        self._writer = outbox_writer
        self._helpdesk_channel = helpdesk_channel
        self._roles = roles or RoleChecker(RoleSettings())
        self._lifecycle = lifecycle or IssueLifecycle()
        self._clock = clock

    async def acknowledge(self, issue_id: int, user_id: str) -> IssueChange:
        """The clicker takes the issue: assignee, In progress, acknowledged_at/by (MTTA)."""
        return await self._transition(issue_id, user_id, self._acknowledgement(user_id, "acknowledge issues"))

    async def acknowledge_for_monitoring(self, issue_id: int, source: str) -> IssueChange:
        """A monitoring system took the issue (New Relic's ACKNOWLEDGED), the source as the actor.

        The same transition as the button's, without a Slack role: the webhook's bearer token is
        the sender's authority."""
        return await self._transition(issue_id, source, self._acknowledgement(source, None))

    def _acknowledgement(self, user_id: str, to_do: str | None) -> _Transition:
        return _Transition(
            to_do=to_do,
            from_statuses=OPEN_STATUSES,
            acknowledged=False,
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
        )

    async def unacknowledge(self, issue_id: int, user_id: str) -> IssueChange:
        return await self._transition(
            issue_id,
            user_id,
            _Transition(
                to_do="unacknowledge issues",
                from_statuses=OPEN_STATUSES,
                acknowledged=True,
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
        """A root-cause category from the vocabulary becomes the issue's category (where it really
        broke, for reports and teams); the timeline keeps the category it had."""
        category = root_cause_category if root_cause_category in Category._value2member_map_ else None
        return await self._transition(
            issue_id,
            user_id,
            _Transition(
                to_do="resolve issues",
                from_statuses=OPEN_STATUSES,
                values=lambda issue, now: {
                    "status": IssueStatus.RESOLVED,
                    "resolved_at": now,
                    "resolved_by": user_id,
                    "resolution": resolution or f"Resolved by <@{user_id}>",
                    "root_cause": root_cause,
                    "root_cause_category": root_cause_category,
                    "resolution_seconds": _seconds_since(issue.reported_at, now),
                    **({"category": category} if category else {}),
                },
                conflict=lambda issue: f"Issue #{issue.id} is already {issue.status.lower()}.",
                event="resolved",
                detail={"resolution": resolution, "root_cause": root_cause},
                hook=self._lifecycle.resolved,
                also=lambda issue: _recategorised(issue, category),
            ),
        )

    async def reopen(self, issue_id: int, user_id: str) -> IssueChange:
        return await self._transition(
            issue_id,
            user_id,
            _Transition(
                to_do="reopen issues",
                from_statuses=(IssueStatus.RESOLVED, IssueStatus.CLOSED),
                values=lambda issue, now: dict.fromkeys(_CLEARED_ON_REOPEN) | {"status": IssueStatus.OPEN},
                conflict=lambda issue: f"Issue #{issue.id} is still open.",
                event="reopened",
                hook=self._lifecycle.reopened,
            ),
        )

    async def _transition(self, issue_id: int, user_id: str, change: "_Transition") -> IssueChange:
        """Role check, the repository's conditional transition, the audit row, the lifecycle hook and a re-render."""
        now = self._clock()
        if change.to_do is not None:
            await self._require_role(issue_id, user_id, Role.RESPONDER, change.to_do)
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            issue = await issues.require(issue_id)
            also = change.also(issue) if change.also is not None else []
            changed = await issues.transition(
                {issue_id: change.values(issue, now)},
                from_statuses=change.from_statuses,
                acknowledged=change.acknowledged,
            )
            if not changed:
                raise Conflict(change.conflict(issue))
            await issues.add_event(
                issue_id, actor=user_id, kind=change.event, summary=change.event.capitalize(),
                detail=change.detail or {}, at=now,
            )
            for kind, summary, detail in also:
                await issues.add_event(issue_id, actor=user_id, kind=kind, summary=summary, detail=detail, at=now)
            if change.hook is not None:
                await change.hook(session, issue, user_id)
            await self._writer.render_issue(OutboxRepository(session), issue_id)
        self._writer.wake()
        return IssueChange(issue_id, issue.title, now)

    async def get(self, issue_id: int) -> Issue:
        """One issue, for listeners that show it in a modal before changing it."""
        async with self._sessionmaker() as session:
            return await IssueRepository(session).require(issue_id)

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
                    issue_id, actor=user_id, kind="denied", summary=f"Refused: {to_do}", detail={"role": role.value},
                    at=self._clock(),
                )
        await self._roles.require(user_id, role, to_do)
