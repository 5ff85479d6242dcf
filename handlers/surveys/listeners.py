"""Slack listeners for surveys: a score button opens the form, the form's Send stores the answer.

Both ack first. A form submission has no response_url, so refusals ("already answered") are shown
as an ephemeral message in the DM the survey came in, whose channel travels in private_metadata.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from handlers.errors import InvalidInput
from handlers.slack.listeners import describe_error
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

_SURVEY_ID = re.compile(r"^\d{1,18}$")


@dataclass(frozen=True)
class RatingClick:
    survey_id: int
    score: int
    user_id: str
    trigger_id: str | None
    channel_id: str | None
    message_ts: str | None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> "RatingClick":
        action = (body.get("actions") or [{}])[0]
        value = str(action.get("value", ""))
        score = str(action.get("action_id", "")).rpartition(".")[2]
        if not _SURVEY_ID.match(value) or score not in {"1", "2", "3", "4", "5"}:
            raise InvalidInput("This button does not belong to a survey.")
        container = body.get("container") or {}
        return cls(
            survey_id=int(value),
            score=int(score),
            user_id=body["user"]["id"],
            trigger_id=body.get("trigger_id"),
            channel_id=(body.get("channel") or {}).get("id") or container.get("channel_id"),
            message_ts=(body.get("message") or {}).get("ts") or container.get("message_ts"),
        )


@dataclass(frozen=True)
class SurveySubmission:
    survey_id: int
    user_id: str
    scores: SurveyScores
    dm_channel: str | None
    dm_ts: str | None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> "SurveySubmission":
        view = body.get("view") or {}
        try:
            metadata = json.loads(view.get("private_metadata") or "{}")
            survey_id = int(metadata["survey"])
        except (ValueError, KeyError, TypeError):
            raise InvalidInput("This form does not belong to a survey.") from None
        values = (view.get("state") or {}).get("values") or {}
        answers: dict[str, int] = {}
        for block_id, name, _ in QUESTIONS:
            selected = ((values.get(block_id.value) or {}).get(SCORE_ELEMENT) or {}).get("selected_option") or {}
            raw = str(selected.get("value", ""))
            if raw not in {"1", "2", "3", "4", "5"}:
                raise InvalidInput("Each question needs a score from 1 to 5.")
            answers[name] = int(raw)
        comment = ((values.get(SurveyBlock.COMMENT.value) or {}).get(COMMENT_ELEMENT) or {}).get("value")
        return cls(
            survey_id=survey_id,
            user_id=body["user"]["id"],
            scores=SurveyScores(comment=(comment or "").strip() or None, **answers),
            dm_channel=metadata.get("channel"),
            dm_ts=metadata.get("ts"),
        )


class SurveyListeners:
    def __init__(self, surveys: SurveyService) -> None:
        self._surveys = surveys

    async def open_form(self, ack: Any, body: dict[str, Any], client: Any, respond: Any) -> None:
        """Click one: the form opens with every question preselected to the clicked score."""
        await ack()
        click = RatingClick.from_body(body)
        prompt = await self._surveys.open_form(click.survey_id, click.user_id)
        form = build_survey_form(
            SurveyFormView(
                survey_id=prompt.survey_id,
                issue_id=prompt.issue_id,
                issue_title=prompt.issue_title,
                preselected=click.score,
                dm_channel=click.channel_id,
                dm_ts=click.message_ts,
            )
        )
        await client.views_open(trigger_id=click.trigger_id, view=form)

    async def submit(self, ack: Any, body: dict[str, Any], client: Any) -> None:
        """Click two: store the answer, then thank in place of the DM's buttons."""
        await ack()
        user = (body.get("user") or {}).get("id")
        metadata_channel = _metadata_channel(body)
        try:
            submission = SurveySubmission.from_body(body)
            answered = await self._surveys.answer(submission.survey_id, submission.user_id, submission.scores)
        except Exception as error:  # noqa: BLE001 - a form has no response_url: tell the user in the DM
            await _tell_in_dm(client, metadata_channel, user, describe_error(error, user))
            return
        if submission.dm_channel and submission.dm_ts:
            text, blocks = build_survey_thanks(answered.issue_id, answered.issue_title, answered.scores)
            try:
                await client.chat_update(channel=submission.dm_channel, ts=submission.dm_ts, text=text, blocks=blocks)
            except SlackApiError as error:  # the answer is stored; a stale DM is cosmetic
                log.warning("could not update survey DM %s/%s: %s", submission.dm_channel, submission.dm_ts, error)


def _metadata_channel(body: dict[str, Any]) -> str | None:
    try:
        return json.loads((body.get("view") or {}).get("private_metadata") or "{}").get("channel")
    except (ValueError, AttributeError):
        return None


async def _tell_in_dm(client: Any, channel: str | None, user: str | None, message: str) -> None:
    if not channel or not user:
        return
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=message)
    except SlackApiError:
        log.warning("could not tell %s about a survey refusal", user, exc_info=True)

