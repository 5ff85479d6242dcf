"""Escalate: the issue's button opens a modal (team, urgency, note); submitting escalates.

Also "I'm on it" on the escalation's own message and DMs, which stops the chain.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from handlers.escalations.blocks import NOTE_MAX_LENGTH, build_escalation_modal
from handlers.escalations.ids import EscalationId, Urgency
from handlers.escalations.service import EscalationRequest, EscalationService
from handlers.issues.buttons import FORM_LOST_ITS_ISSUE, clicked_issue, issue_modal_metadata, modal_issue
from handlers.issues.ids import IssueAction
from handlers.slack.listeners import describe_error, reporting_errors
from handlers.slack.payloads import parse_click, parse_submission
from handlers.slack.submissions import ack_submission, tell_submitter


class EscalationListeners:
    """Each listener acks first; the modal opens within Slack's 3 seconds of the click."""

    def __init__(self, service: EscalationService) -> None:
        self._service = service

    async def open_modal(self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        await ack()
        click = parse_click(body)
        issue_id = clicked_issue(click)
        trigger_id = click.require_trigger("Slack sent no form trigger with this click: please click Escalate again.")
        form = await self._service.form(issue_id, click.user_id, private_metadata=issue_modal_metadata(issue_id, click))
        await client.views_open(trigger_id=trigger_id, view=build_escalation_modal(form))

    async def submit(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Bad input goes back into the modal beside the field; anything later is told ephemerally."""
        submission = parse_submission(body)
        values = submission.values
        team = values.selected(EscalationId.TEAM)
        urgency = values.selected(EscalationId.URGENCY)
        note = values.text(EscalationId.NOTE)
        issue_id = modal_issue(submission.metadata)
        errors: dict[str, str] = {}
        if not self._service.knows_team(team):
            errors[EscalationId.TEAM] = "Choose one of the teams."
        if urgency not in Urgency._value2member_map_:
            errors[EscalationId.URGENCY] = "Choose high or low."
        if len(note) > NOTE_MAX_LENGTH:
            errors[EscalationId.NOTE] = f"Keep the note under {NOTE_MAX_LENGTH} characters."
        if issue_id is None:
            errors.setdefault(EscalationId.TEAM, FORM_LOST_ITS_ISSUE)
        if not await ack_submission(ack, errors) or issue_id is None:
            return
        user_id = submission.user_id
        try:
            await self._service.escalate(EscalationRequest(issue_id, user_id, team, urgency, note))
        except Exception as error:  # noqa: BLE001 - the modal is closed: tell the person another way
            await tell_submitter(client, user_id, describe_error(error, user_id), submission.metadata.channel_id)

    async def take(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = parse_click(body)
        issue_id = clicked_issue(click)
        names = await self._service.acknowledge(issue_id, click.user_id)
        await respond(
            text=f"Thanks: you are on it for {', '.join(names)}; the escalation of issue #{issue_id} stops here.",
            response_type="ephemeral",
            replace_original=False,
        )


def register(slack_app: AsyncApp, service: EscalationService) -> None:
    listeners = EscalationListeners(service)
    slack_app.action(IssueAction.ESCALATE.value)(reporting_errors(listeners.open_modal))
    slack_app.view(EscalationId.MODAL.value)(reporting_errors(listeners.submit))
    slack_app.action(EscalationId.ACKNOWLEDGE.value)(reporting_errors(listeners.take))
