"""Queries behind the issue log in Slack: filtered lists, timelines, counts, and paged export reads.

Like every repository, it takes the caller's AsyncSession and never commits. Filters are plain values
(statuses, user id, priorities, categories) so storage knows nothing of how people typed them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OPEN_STATUSES, Issue, IssueEvent, IssueStatus

COMMENT_KIND = "comment"


@dataclass(frozen=True)
class IssueCriteria:
    """Which issues: any of `statuses` (empty: all), touching `owner`, any of `priorities`/`categories`."""

    statuses: tuple[str, ...] = ()
    owner: str | None = None  # assigned to, or reported by, this Slack user
    priorities: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


def _where(query: Select[Any], criteria: IssueCriteria) -> Select[Any]:
    if criteria.statuses:
        query = query.where(Issue.status.in_(criteria.statuses))
    if criteria.owner:
        query = query.where(or_(Issue.assignee == criteria.owner, Issue.reported_by == criteria.owner))
    if criteria.priorities:
        query = query.where(Issue.priority.in_(criteria.priorities))
    if criteria.categories:
        query = query.where(Issue.category.in_(criteria.categories))
    return query


class IssueLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_newest(self, criteria: IssueCriteria, *, offset: int, limit: int) -> Sequence[Issue]:
        query = _where(select(Issue), criteria).order_by(Issue.reported_at.desc(), Issue.id.desc())
        return (await self.session.execute(query.offset(offset).limit(limit))).scalars().all()

    async def count(self, criteria: IssueCriteria) -> int:
        query = _where(select(func.count()).select_from(Issue), criteria)
        return int((await self.session.execute(query)).scalar_one())

    async def count_open_by_priority(self) -> dict[str, int]:
        query = (
            select(Issue.priority, func.count())
            .where(Issue.status.in_(OPEN_STATUSES))
            .group_by(Issue.priority)
        )
        return {priority: int(count) for priority, count in (await self.session.execute(query)).all()}

    async def count_reported_between(self, start: datetime, end: datetime) -> int:
        query = select(func.count()).where(Issue.reported_at >= start, Issue.reported_at < end)
        return int((await self.session.execute(query)).scalar_one())

    async def count_resolved_between(self, start: datetime, end: datetime) -> int:
        query = select(func.count()).where(
            Issue.resolved_at >= start,
            Issue.resolved_at < end,
            Issue.status.in_((IssueStatus.RESOLVED, IssueStatus.CLOSED)),
        )
        return int((await self.session.execute(query)).scalar_one())

    async def newest_events(self, issue_id: int, *, limit: int) -> tuple[list[IssueEvent], int]:
        """The newest `limit` events of an issue in time order, and how many older ones were left out."""
        query = select(IssueEvent).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.id.desc()).limit(limit)
        newest = list((await self.session.execute(query)).scalars())
        total = (
            await self.session.execute(select(func.count()).where(IssueEvent.issue_id == issue_id))
        ).scalar_one()
        return newest[::-1], max(0, int(total) - len(newest))

    async def comments_for(self, issue_ids: Sequence[int]) -> dict[int, list[IssueEvent]]:
        if not issue_ids:
            return {}
        query = (
            select(IssueEvent)
            .where(IssueEvent.issue_id.in_(list(issue_ids)), IssueEvent.kind == COMMENT_KIND)
            .order_by(IssueEvent.issue_id, IssueEvent.id)
        )
        grouped: dict[int, list[IssueEvent]] = {}
        for event in (await self.session.execute(query)).scalars():
            grouped.setdefault(event.issue_id, []).append(event)
        return grouped

    async def has_comment_from_message(self, issue_id: int, ts: str) -> bool:
        """Whether a thread reply (by its Slack ts) is already recorded; Slack may deliver an event twice."""
        query = select(IssueEvent.detail).where(IssueEvent.issue_id == issue_id, IssueEvent.kind == COMMENT_KIND)
        return any((detail or {}).get("ts") == ts for detail in (await self.session.execute(query)).scalars())

    async def reported_page(self, start: datetime, end: datetime, *, after_id: int, limit: int) -> Sequence[Issue]:
        """One page of issues reported in [start, end), in id order after `after_id` (keyset paging)."""
        query = (
            select(Issue)
            .where(Issue.reported_at >= start, Issue.reported_at < end, Issue.id > after_id)
            .order_by(Issue.id)
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()
