"""Satisfaction surveys: asked when an issue is resolved, answered once, reminded once, cancelled on reopen.

The survey goes out from the resolving transaction (a lifecycle hook writes the row and the DM's
outbox item together), so a resolution is never recorded without its survey or the other way round.
Who is asked: the people who were helped (audience.py): the reporter or asker of a staff issue and
whoever escalated an issue by hand; alert issues nobody asked about only with `surveys.alert_issues`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.surveys.audience import SurveyRole, audience, is_slack_user, role_of
from handlers.surveys.settings import SurveySettings
from handlers.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from delivery.outbox import OutboxWriter
from handlers.surveys.blocks import (
    LowScoreView,
    SurveyRequestView,
    SurveyScores,
    build_low_score_alert,
    build_survey_request,
)
from handlers.surveys.ids import SCORES
from storage.models import Issue, SurveyResponse, SurveyStatus, utcnow
from storage.repositories.escalation import EscalationRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.issue import IssueRepository
from storage.repositories.feedback import CLOSED_STATUSES, SurveyRepository

BOT_ACTOR = "opsbot"
REMINDER_BATCH = 200


@dataclass(frozen=True)
class SurveyPrompt:
    """What the form needs to show: the survey is open and belongs to the person asking."""

    survey_id: int
    issue_id: int
    issue_title: str


@dataclass(frozen=True)
class AnsweredSurvey:
    survey_id: int
    issue_id: int
    issue_title: str
    scores: SurveyScores
    low: bool


class SurveyService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: SurveySettings,
        outbox_writer: OutboxWriter,
        *,
        managers_channel: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._writer = outbox_writer
        self._managers_channel = managers_channel
        self._clock = clock

    def audience(self, issue: Issue, escalated_by: list[str] | None = None) -> list[tuple[str, SurveyRole]]:
        """(Slack user, role) to ask about this issue, each person once, in a stable order."""
        return audience(issue, escalated_by or [], self._settings.alert_issues)

    @staticmethod
    async def _escalated_by(session: AsyncSession, issue_id: int) -> list[str]:
        """People who escalated the issue by hand, first first (automatic escalations name no person)."""
        people = [e.requested_by for e in await EscalationRepository(session).list_for_issue(issue_id)]
        return [person for n, person in enumerate(people) if is_slack_user(person) and person not in people[:n]]

    # lifecycle hooks (inside the issue's transaction) ----------------------------------------

    async def on_resolved(self, session: AsyncSession, issue: Issue, actor: str) -> None:
        """Ask the audience; a cancelled survey (the issue had been reopened) is asked afresh."""
        if not self._settings.enabled:
            return
        people = self.audience(issue, await self._escalated_by(session, issue.id))
        if not people:
            return
        now = self._clock()
        surveys = SurveyRepository(session)
        existing = {survey.user_id: survey for survey in await surveys.list_for_issue(issue.id)}
        for user, role in people:
            survey = existing.get(user)
            if survey is None:
                survey = await surveys.add(
                    SurveyResponse(issue_id=issue.id, user_id=user, status=SurveyStatus.PENDING, sent_at=now)
                )
                if survey is None:
                    continue  # a concurrent resolution asked this person already
            elif survey.status == SurveyStatus.CANCELLED:
                survey.status, survey.sent_at, survey.reminder_sent_at = SurveyStatus.PENDING, now, None
            else:
                continue  # one survey per person per issue: already answered or still waiting
            await self._send(session, survey, issue, role, reminder=False)
            await IssueRepository(session).add_event(
                issue.id,
                actor=BOT_ACTOR,
                kind="survey_sent",
                summary=f"Satisfaction survey sent to <@{user}> ({role.value})",
                detail={"survey_id": survey.id, "user": user, "role": role.value},
                at=now,
            )

    async def on_reopened(self, session: AsyncSession, issue: Issue, actor: str) -> None:
        """A reopened issue is not done: its unanswered surveys are cancelled (no answers, no reminders)."""
        cancelled = await SurveyRepository(session).cancel_pending(issue.id)
        if cancelled:
            await IssueRepository(session).add_event(
                issue.id,
                actor=actor,
                kind="survey_cancelled",
                summary=f"Survey cancelled for {', '.join(f'<@{user}>' for user in cancelled)}: the issue was reopened",
                detail={"users": cancelled},
                at=self._clock(),
            )

    async def _send(
        self, session: AsyncSession, survey: SurveyResponse, issue: Issue, role: SurveyRole, *, reminder: bool
    ) -> None:
        text, blocks = build_survey_request(
            SurveyRequestView(
                survey_id=survey.id,
                issue_id=issue.id,
                issue_title=issue.title,
                role=role,
                resolved_by=issue.resolved_by,
                reminder=reminder,
            )
        )
        await self._writer.direct_message(
            OutboxRepository(session), user=survey.user_id, text=text, blocks=blocks, issue_id=issue.id
        )

    # answering -------------------------------------------------------------------------------

    async def open_form(self, survey_id: int, user_id: str) -> SurveyPrompt:
        """Check before showing the form, so nobody fills it in for nothing."""
        async with self._sessionmaker() as session:
            survey, issue = await self._require_open(session, survey_id, user_id)
        return SurveyPrompt(survey.id, issue.id, issue.title)

    async def answer(self, survey_id: int, user_id: str, scores: SurveyScores) -> AnsweredSurvey:
        """Store the answer once; a low score goes to the managers' channel in the same transaction."""
        _check_scores(scores)
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            survey, issue = await self._require_open(session, survey_id, user_id)
            stored = await SurveyRepository(session).record_answer(
                survey_id,
                at=now,
                helpful=scores.helpful,
                speed=scores.speed,
                professional=scores.professional,
                comment=scores.comment,
            )
            if not stored:  # lost a race with another submit or a reopen: say which
                await self._require_open(session, survey_id, user_id)
                raise Conflict(f"You already answered the survey about issue #{issue.id}. Thank you!")
            low = scores.lowest <= self._settings.low_score_threshold
            await IssueRepository(session).add_event(
                issue.id,
                actor=user_id,
                kind="survey_answered",
                summary=(
                    f"Survey answered: helpful {scores.helpful}/5, speed {scores.speed}/5, "
                    f"professional {scores.professional}/5"
                ),
                detail={
                    "survey_id": survey_id,
                    "helpful": scores.helpful,
                    "speed": scores.speed,
                    "professional": scores.professional,
                    "comment": scores.comment,
                    "low_score": low,
                },
                at=now,
            )
            if low:
                text, blocks = build_low_score_alert(
                    LowScoreView(
                        issue_id=issue.id,
                        issue_title=issue.title,
                        priority=issue.priority,
                        user_id=user_id,
                        role=role_of(issue, user_id, await self._escalated_by(session, issue.id)),
                        scores=scores,
                        answered_at=now,
                        threshold=self._settings.low_score_threshold,
                    )
                )
                await self._writer.post_message(
                    OutboxRepository(session),
                    channel=self._managers_channel,
                    text=text,
                    blocks=blocks,
                    issue_id=issue.id,
                )
        self._writer.wake()
        return AnsweredSurvey(survey_id, issue.id, issue.title, scores, low)

    async def _require_open(self, session: AsyncSession, survey_id: int, user_id: str) -> tuple[SurveyResponse, Issue]:
        survey = await SurveyRepository(session).get(survey_id)
        if survey is None:
            raise NotFound("This survey no longer exists.")
        if survey.user_id != user_id:
            raise PermissionDenied("This survey was sent to someone else.")
        issue = await IssueRepository(session).get(survey.issue_id)
        if issue is None:
            raise NotFound(f"Issue #{survey.issue_id} no longer exists.")
        if survey.status == SurveyStatus.ANSWERED:
            raise Conflict(f"You already answered the survey about issue #{issue.id}. Thank you!")
        if survey.status == SurveyStatus.CANCELLED or issue.status not in CLOSED_STATUSES:
            raise Conflict(
                f"Issue #{issue.id} was reopened, so this survey is closed. You'll be asked again when it is resolved."
            )
        return survey, issue

    # reminders (periodic job) ----------------------------------------------------------------

    async def send_due_reminders(self) -> int:
        """One reminder per unanswered survey, `reminder_after` after it was sent; safe on several replicas."""
        if not self._settings.enabled:
            return 0
        now = self._clock()
        sent = 0
        async with self._sessionmaker.begin() as session:
            surveys = SurveyRepository(session)
            due = await surveys.due_for_reminder(now - self._settings.reminder_after, limit=REMINDER_BATCH)
            for survey, issue in due:
                if not await surveys.claim_reminder(survey.id, now):
                    continue  # another replica reminded first
                role = role_of(issue, survey.user_id, await self._escalated_by(session, issue.id))
                await self._send(session, survey, issue, role, reminder=True)
                await IssueRepository(session).add_event(
                    issue.id,
                    actor=BOT_ACTOR,
                    kind="survey_reminded",
                    summary=f"Survey reminder sent to <@{survey.user_id}>",
                    detail={"survey_id": survey.id, "user": survey.user_id},
                    at=now,
                )
                sent += 1
        if sent:
            self._writer.wake()
        return sent


def _check_scores(scores: SurveyScores) -> None:
    for value in (scores.helpful, scores.speed, scores.professional):
        if value not in SCORES:
            raise InvalidInput("Each answer must be a score from 1 to 5.")
