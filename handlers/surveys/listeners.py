"""Slack listeners for surveys: a score button opens the form, the form's Send stores the answer.

Both ack first. A form submission has no response_url, so refusals ("already answered") are shown
as an ephemeral message in the DM the survey came in, whose channel travels in private_metadata.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from handlers.errors import InvalidInput
from handlers.slack.listeners import describe_error
from handlers.slack.payloads import Click, Submission, parse_click, parse_submission
from handlers.slack.submissions import tell_submitter
from handlers.surveys.blocks import (
    QUESTIONS,
    SurveyFormView,
    SurveyScores,
    build_survey_form,
    build_survey_thanks,
)
from handlers.surveys.ids import COMMENT_ELEMENT, SCORE_ELEMENT, SurveyBlock
from handlers.surveys.service import SurveyService

log = logging.getLogger(__name__)

NOT_A_SURVEY = "This button does not belong to a survey."
_SCORE = re.compile(r"[1-5]")


def clicked_rating(click: Click) -> tuple[int, int]:
    """(survey id, score): the survey is the button's value, the score ends its action id (`survey.rate.4`)."""
    score = click.action_id.rpartition(".")[2]
    survey_id = click.number(NOT_A_SURVEY)
    if not _SCORE.fullmatch(score):
        raise InvalidInput(NOT_A_SURVEY)
    return survey_id, int(score)


@dataclass(frozen=True)
class SurveyAnswer:
    """The survey form's answers; the DM it came from travels in its metadata, to thank in place of its buttons."""

    survey_id: int
    scores: SurveyScores
    dm_channel: str | None
    dm_ts: str | None

    @classmethod
    def read(cls, submission: Submission) -> SurveyAnswer:
        survey_id = submission.metadata.integer("survey")
        if survey_id is None:
            raise InvalidInput("This form does not belong to a survey.")
        values = submission.values
        answers: dict[str, int] = {}
        for block_id, name, _ in QUESTIONS:
            raw = values.selected(block_id, SCORE_ELEMENT)
            if not _SCORE.fullmatch(raw):
                raise InvalidInput("Each question needs a score from 1 to 5.")
            answers[name] = int(raw)
        comment = values.text(SurveyBlock.COMMENT, COMMENT_ELEMENT)
        return cls(
            survey_id=survey_id,
            scores=SurveyScores(comment=comment or None, **answers),
            dm_channel=submission.metadata.channel_id,
            dm_ts=submission.metadata.message_ts,
        )


class SurveyListeners:
    def __init__(self, surveys: SurveyService) -> None:
        self._surveys = surveys

    async def open_form(self, ack: Any, body: dict[str, Any], client: Any, respond: Any) -> None:
        """Click one: the form opens with every question preselected to the clicked score."""
        await ack()
        click = parse_click(body)
        survey_id, score = clicked_rating(click)
        prompt = await self._surveys.open_form(survey_id, click.user_id)
        form = build_survey_form(
            SurveyFormView(
                survey_id=prompt.survey_id,
                issue_id=prompt.issue_id,
                issue_title=prompt.issue_title,
                preselected=score,
                dm_channel=click.channel_id,
                dm_ts=click.message_ts,
            )
        )
        await client.views_open(trigger_id=click.trigger_id, view=form)

    async def submit(self, ack: Any, body: dict[str, Any], client: Any) -> None:
        """Click two: store the answer, then thank in place of the DM's buttons."""
        await ack()
        submission = parse_submission(body)
        user = submission.user_id
        try:
            answer = SurveyAnswer.read(submission)
            answered = await self._surveys.answer(answer.survey_id, user, answer.scores)
        except Exception as error:  # noqa: BLE001 - a form has no response_url: tell the user in the DM
            message = describe_error(error, user)
            await tell_submitter(client, user, message, submission.metadata.channel_id, by_dm=False)
            return
        if answer.dm_channel and answer.dm_ts:
            text, blocks = build_survey_thanks(answered.issue_id, answered.issue_title, answered.scores)
            try:
                await client.chat_update(channel=answer.dm_channel, ts=answer.dm_ts, text=text, blocks=blocks)
            except SlackApiError as error:  # the answer is stored; a stale DM is cosmetic
                log.warning("could not update survey DM %s/%s: %s", answer.dm_channel, answer.dm_ts, error)
