"""Repository for questions asked of the knowledge base; it takes a session and never commits.

Feedback is a conditional UPDATE (the WHERE names the outcomes it may change), so two clicks or two
replicas can never both win: the caller reads the returned flag to know whether it did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import KbQuestion, QuestionOutcome


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
