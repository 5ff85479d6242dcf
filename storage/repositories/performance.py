"""Repositories for the performance report: the adjustments log, post-incident reviews, the period's issues.

Like every repository, they take the caller's AsyncSession and never commit. State changes are
conditional UPDATEs, so two replicas can never both remind an owner or both save a review.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Sequence

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Issue, IssueEvent
from storage.models.performance import Adjustment, IncidentReview

# Timeline events that are not an action someone took on the issue.
NOT_ACTIONS = ("opened", "denied", "alert_fired", "alert_resolved")


class AdjustmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, adjustment: Adjustment) -> Adjustment:
        self.session.add(adjustment)
        await self.session.flush()
        return adjustment

    async def get(self, adjustment_id: int) -> Adjustment | None:
        return await self.session.get(Adjustment, adjustment_id)

    async def list_for_report(self, start: datetime, end: datetime, first_day: date, *, limit: int) -> Sequence[Adjustment]:
        """Made in [start, end), or made earlier and still followed up (follow-up on or after `first_day`)."""
        query = (
            select(Adjustment)
            .where(
                Adjustment.made_at < end,
                or_(Adjustment.made_at >= start, Adjustment.follow_up_on >= first_day),
            )
            .order_by(Adjustment.made_at.desc(), Adjustment.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()

    async def list_made_since(self, since: datetime, *, limit: int) -> Sequence[Adjustment]:
        query = (
            select(Adjustment)
            .where(Adjustment.made_at >= since)
            .order_by(Adjustment.made_at, Adjustment.id)
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()

    async def list_due(self, today: date, *, limit: int = 50) -> Sequence[Adjustment]:
        """Follow-ups due on or before `today` whose owner has not been reminded yet."""
        query = (
            select(Adjustment)
            .where(Adjustment.follow_up_on <= today, Adjustment.reminded_at.is_(None))
            .order_by(Adjustment.follow_up_on, Adjustment.id)
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()

    async def mark_reminded(self, adjustment_id: int, *, at: datetime) -> bool:
        """False when another replica reminded the owner first."""
        result = await self.session.execute(
            update(Adjustment)
            .where(Adjustment.id == adjustment_id, Adjustment.reminded_at.is_(None))
            .values(reminded_at=at)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


class IncidentReviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, review_id: int) -> IncidentReview | None:
        return await self.session.get(IncidentReview, review_id, populate_existing=True)

    async def get_for_issue(self, issue_id: int) -> IncidentReview | None:
        query = select(IncidentReview).where(IncidentReview.issue_id == issue_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def add(self, review: IncidentReview) -> IncidentReview | None:
        """Insert in a savepoint: None when the issue already has a review (two clicks at once)."""
        try:
            async with self.session.begin_nested():
                self.session.add(review)
        except IntegrityError:
            return None
        return review

    async def mark_saved(self, review_id: int, *, path: str, at: datetime, by: str) -> None:
        await self.session.execute(
            update(IncidentReview)
            .where(IncidentReview.id == review_id)
            .values(saved_path=path, saved_at=at, saved_by=by)
            .execution_options(synchronize_session=False)
        )


class PeriodIssueRepository:
    """The issue log as the performance report lists it: what was found in a period and what was done."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_reported(self, start: datetime, end: datetime, *, limit: int) -> tuple[Sequence[Issue], int]:
        """Issues reported in [start, end), High first then oldest first, and how many there were in all."""
        rank = case((Issue.priority == "High", 0), (Issue.priority == "Medium", 1), else_=2)
        in_period = and_(Issue.reported_at >= start, Issue.reported_at < end)
        query = select(Issue).where(in_period).order_by(rank, Issue.reported_at, Issue.id).limit(limit)
        issues = (await self.session.execute(query)).scalars().all()
        total = (await self.session.execute(select(func.count()).select_from(Issue).where(in_period))).scalar_one()
        return issues, int(total)

    async def latest_actions(self, issue_ids: Sequence[int]) -> dict[int, IssueEvent]:
        """Each issue's most recent action (acknowledged, escalated, auto-fix, comment, resolved, ...)."""
        if not issue_ids:
            return {}
        newest = (
            select(func.max(IssueEvent.id))
            .where(IssueEvent.issue_id.in_(issue_ids), IssueEvent.kind.not_in(NOT_ACTIONS))
            .group_by(IssueEvent.issue_id)
        )
        query = select(IssueEvent).where(IssueEvent.id.in_(newest))
        return {event.issue_id: event for event in (await self.session.execute(query)).scalars()}

    async def list_events(self, issue_id: int) -> Sequence[IssueEvent]:
        query = select(IssueEvent).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.at, IssueEvent.id)
        return (await self.session.execute(query)).scalars().all()
