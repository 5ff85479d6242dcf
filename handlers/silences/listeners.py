"""Slack listeners for silences and snoozes: the two selects and two buttons on an issue's message, and
the custom-silence modal. Each acks first, then calls a service; refusals and Alertmanager's failures
come back as an ephemeral sentence (handlers/slack/listeners.py), never as a crash.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Mapping

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.settings_types import duration_from_text
from handlers.errors import InvalidInput
from handlers.silences.blocks import COMMENT_MAX_LENGTH, CustomSilenceForm, build_custom_silence_modal
from handlers.silences.ids import CUSTOM, PRESET_DURATIONS, SilenceModal
from handlers.silences.service import SilenceRequest, SilenceService
from handlers.silences.snoozes import SnoozeService
from handlers.slack.blockkit import humanize_duration
from handlers.slack.listeners import describe_error
from handlers.slack.metadata import encode_metadata
from handlers.slack.payloads import Click, Submission, parse_click, parse_submission
from handlers.slack.submissions import ack_submission, tell_submitter

log = logging.getLogger(__name__)

NOT_AN_ISSUE = "This menu does not point at an issue."
SHORTEST_SILENCE = timedelta(minutes=1)


def read_choice(click: Click, choices: Mapping[str, Any]) -> tuple[int, str]:
    """(issue id, choice) from a select's option value `42:4h`; InvalidInput for anything else."""
    issue, _, choice = click.value.partition(":")
    if not issue.isascii() or not issue.isdigit() or len(issue) > 18 or choice not in choices:
        raise InvalidInput(NOT_AN_ISSUE)
    return int(issue), choice


def user_name(body: Mapping[str, Any]) -> str | None:
    """The clicker's Slack username, which interactivity payloads carry beside the id."""
    user = body.get("user")
    if not isinstance(user, Mapping):
        return None
    name = user.get("username") or user.get("name")
    return str(name)[:80] if name else None


async def message_link(client: AsyncWebClient, channel: str | None, ts: str | None) -> str | None:
    """The issue message's permalink for the silence's comment; the silence goes ahead without one."""
    if not channel or not ts:
        return None
    try:
        answer = await client.chat_getPermalink(channel=channel, message_ts=ts)
    except (SlackApiError, OSError, TimeoutError) as error:
        log.info("no permalink for %s/%s: %s", channel, ts, error)
        return None
    link = answer.get("permalink")
    return link if isinstance(link, str) else None


@dataclass(frozen=True)
class CustomSilence:
    """The custom-silence modal's answers."""

    issue_id: int | None
    duration_text: str
    comment: str

    @classmethod
    def read(cls, submission: Submission) -> CustomSilence:
        values = submission.values
        return cls(
            issue_id=submission.metadata.integer("issue"),
            duration_text=values.text(SilenceModal.DURATION),
            comment=values.text(SilenceModal.COMMENT),
        )

    @property
    def duration(self) -> timedelta | None:
        return duration_from_text(self.duration_text or "")

    def problems(self, longest: timedelta) -> dict[str, str]:
        """What to show beside the inputs; empty when the silence can be set with these answers."""
        errors: dict[str, str] = {}
        duration = self.duration
        if not self.duration_text:
            errors[SilenceModal.DURATION] = "Say for how long, e.g. 90m, 2h or 3d."
        elif duration is None:
            errors[SilenceModal.DURATION] = "That is not a duration: write e.g. 90m, 2h, 3d or 1d 12h."
        elif duration < SHORTEST_SILENCE:
            errors[SilenceModal.DURATION] = "A silence lasts at least a minute."
        elif duration > longest:
            errors[SilenceModal.DURATION] = f"At most {humanize_duration(longest.total_seconds())} (the config's limit)."
        if len(self.comment) > COMMENT_MAX_LENGTH:
            errors[SilenceModal.COMMENT] = f"Keep it under {COMMENT_MAX_LENGTH} characters."
        if self.issue_id is None:
            errors.setdefault(SilenceModal.DURATION, "This form does not point at an issue any more: open it again.")
        return errors


class HoldListeners:
    def __init__(self, silences: SilenceService, snoozes: SnoozeService) -> None:
        self._silences = silences
        self._snoozes = snoozes

    async def choose_silence(self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        """A preset silences at once; "Silence for…" opens the modal (within the trigger's 3 seconds)."""
        await ack()
        click = parse_click(body)
        issue_id, choice = read_choice(click, {**PRESET_DURATIONS, CUSTOM: None})
        if choice == CUSTOM:
            trigger_id = click.require_trigger("Slack sent no form trigger with this choice: please choose again.")
            plan = await self._silences.plan(issue_id, click.user_id)
            metadata = encode_metadata(issue=issue_id, channel=click.channel_id, ts=click.message_ts)
            form = CustomSilenceForm(issue_id, plan.title, plan.matchers, plan.alertmanager_url, metadata)
            await client.views_open(trigger_id=trigger_id, view=build_custom_silence_modal(form))
            return
        permalink = await message_link(client, click.channel_id, click.message_ts)
        await self._silences.silence(
            SilenceRequest(issue_id, click.user_id, PRESET_DURATIONS[choice], user_name=user_name(body), permalink=permalink)
        )

    async def submit_custom(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Bad input goes back into the modal beside the field; Alertmanager's answer comes after the ack."""
        submission = parse_submission(body)
        answers = CustomSilence.read(submission)
        if not await ack_submission(ack, answers.problems(self._silences.max_silence)) or answers.issue_id is None:
            return
        metadata = submission.metadata
        try:
            permalink = await message_link(client, metadata.channel_id, metadata.message_ts)
            request = SilenceRequest(
                answers.issue_id, submission.user_id, answers.duration or SHORTEST_SILENCE, user_name=user_name(body),
                note=answers.comment, permalink=permalink,
            )
            await self._silences.silence(request)
        except Exception as error:  # noqa: BLE001 - the modal is closed: tell the person another way
            await tell_submitter(client, submission.user_id, describe_error(error, submission.user_id), metadata.channel_id)

    async def lift(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = parse_click(body)
        await self._silences.lift(click.number(NOT_AN_ISSUE), click.user_id)

    async def choose_snooze(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = parse_click(body)
        issue_id, choice = read_choice(click, PRESET_DURATIONS)
        await self._snoozes.snooze(issue_id, click.user_id, PRESET_DURATIONS[choice])

    async def end_snooze(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = parse_click(body)
        await self._snoozes.end_snooze(click.number(NOT_AN_ISSUE), click.user_id)
