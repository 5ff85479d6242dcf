"""What people tell us: questions asked of the knowledge base, satisfaction surveys, report claims.

State changes are conditional UPDATEs (the WHERE names the state we expect), so two replicas or two
clicks can never both win: the caller reads the returned flag or `rowcount` to know whether it did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Issue,
    IssueStatus,
    KbQuestion,
    QuestionOutcome,
    ReportRun,
    SurveyResponse,
    SurveyStatus,
)


class KbQuestionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, question: KbQuestion) -> KbQuestion:
        self.session.add(question)
        await self.session.flush()
        return question

    async def get(self, question_id: int) -> KbQuestion | None:
        return await self.session.get(KbQuestion, question_id, populate_existing=True)

    async def set_outcome(
        self,
        question_id: int,
        outcome: QuestionOutcome,
        *,
        expected: Sequence[QuestionOutcome],
        at: datetime | None,
        issue_id: int | None = None,
    ) -> bool:
        """Move the question to `outcome` if it is still in one of the `expected` outcomes."""
        values: dict[str, object] = {"outcome": outcome.value, "feedback_at": at}
        if issue_id is not None:
            values["issue_id"] = issue_id
        result = await self.session.execute(
            update(KbQuestion)
            .where(KbQuestion.id == question_id, KbQuestion.outcome.in_([value.value for value in expected]))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def list_by_outcome(
        self, start: datetime, end: datetime, outcomes: Sequence[QuestionOutcome], *, limit: int
    ) -> Sequence[KbQuestion]:
        """Questions asked in `[start, end)` with one of `outcomes`, newest first."""
        query = (
            select(KbQuestion)
            .where(
                KbQuestion.asked_at >= start,
                KbQuestion.asked_at < end,
                KbQuestion.outcome.in_([value.value for value in outcomes]),
            )
            .order_by(KbQuestion.asked_at.desc(), KbQuestion.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()


CLOSED_STATUSES = (IssueStatus.RESOLVED, IssueStatus.CLOSED)


class SurveyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, survey_id: int) -> SurveyResponse | None:
        return await self.session.get(SurveyResponse, survey_id, populate_existing=True)

    async def list_for_issue(self, issue_id: int) -> Sequence[SurveyResponse]:
        query = select(SurveyResponse).where(SurveyResponse.issue_id == issue_id).order_by(SurveyResponse.id)
        return (await self.session.execute(query)).scalars().all()

    async def add(self, survey: SurveyResponse) -> SurveyResponse | None:
        """Insert in a savepoint: None when the person already has a survey for the issue (a racing resolve)."""
        try:
            async with self.session.begin_nested():
                self.session.add(survey)
        except IntegrityError:
            return None
        return survey

    async def record_answer(
        self,
        survey_id: int,
        *,
        at: datetime,
        helpful: int,
        speed: int,
        professional: int,
        comment: str | None,
    ) -> bool:
        """Store the answer if the survey is still pending: False when someone (or a reopen) got there first."""
        result = await self.session.execute(
            update(SurveyResponse)
            .where(SurveyResponse.id == survey_id, SurveyResponse.status == SurveyStatus.PENDING)
            .values(
                status=SurveyStatus.ANSWERED,
                answered_at=at,
                helpful=helpful,
                speed=speed,
                professional=professional,
                comment=comment,
            )
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def cancel_pending(self, issue_id: int) -> list[str]:
        """Cancel the issue's unanswered surveys; returns whose were cancelled."""
        pending = select(SurveyResponse.user_id).where(
            SurveyResponse.issue_id == issue_id, SurveyResponse.status == SurveyStatus.PENDING
        )
        users = list((await self.session.execute(pending)).scalars())
        if users:
            await self.session.execute(
                update(SurveyResponse)
                .where(SurveyResponse.issue_id == issue_id, SurveyResponse.status == SurveyStatus.PENDING)
                .values(status=SurveyStatus.CANCELLED)
                .execution_options(synchronize_session=False)
            )
        return users

    async def due_for_reminder(self, sent_before: datetime, *, limit: int) -> list[tuple[SurveyResponse, Issue]]:
        """Pending, never reminded, sent before the cut-off, and the issue is still resolved."""
        query = (
            select(SurveyResponse, Issue)
            .join(Issue, Issue.id == SurveyResponse.issue_id)
            .where(
                SurveyResponse.status == SurveyStatus.PENDING,
                SurveyResponse.sent_at <= sent_before,
                SurveyResponse.reminder_sent_at.is_(None),
                Issue.status.in_(CLOSED_STATUSES),
            )
            .order_by(SurveyResponse.sent_at)
            .limit(limit)
        )
        return [(row[0], row[1]) for row in await self.session.execute(query)]

    async def claim_reminder(self, survey_id: int, at: datetime) -> bool:
        """Mark the reminder as sent; only one replica's UPDATE matches, so only one reminder goes out."""
        result = await self.session.execute(
            update(SurveyResponse)
            .where(
                SurveyResponse.id == survey_id,
                SurveyResponse.status == SurveyStatus.PENDING,
                SurveyResponse.reminder_sent_at.is_(None),
            )
            .values(reminder_sent_at=at)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


class ReportRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, kind: str, period: str) -> bool:
        query = select(ReportRun.id).where(ReportRun.kind == kind, ReportRun.period == period)
        return (await self.session.execute(query)).first() is not None

    async def claim(self, kind: str, period: str, *, by: str, at: datetime) -> bool:
        """Insert the (kind, period) row inside a savepoint: True if this caller won the unique key.

        The savepoint keeps the caller's transaction usable when another replica already inserted it.
        """
        try:
            async with self.session.begin_nested():
                self.session.add(ReportRun(kind=kind, period=period, claimed_by=by, claimed_at=at))
        except IntegrityError:
            return False
        return True
