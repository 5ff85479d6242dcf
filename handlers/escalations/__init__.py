"""Escalate: the issue's button opens a modal (team, urgency, note); submitting escalates.

Also "I'm on it" on the escalation's own message and DMs, which stops the chain.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from handlers.issues.buttons import ButtonClick
from handlers.issues.ids import IssueAction
from handlers.issues.modals import ModalOrigin, selected_value, state_values, tell_submitter, text_value
from handlers.errors import InvalidInput
from handlers.escalations.blocks import NOTE_MAX_LENGTH, build_escalation_modal
from handlers.escalations.ids import EscalationId, Urgency
from handlers.escalations.service import EscalationRequest, EscalationService
from handlers.slack.listeners import describe_error, reporting_errors


class EscalationListeners:
    """Each listener acks first; the modal opens within Slack's 3 seconds of the click."""

    def __init__(self, service: EscalationService) -> None:
        self._service = service

    async def open_modal(self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        await ack()
        click = ButtonClick.from_body(body)
        if not click.trigger_id:
            raise InvalidInput("Slack sent no form trigger with this click: please click Escalate again.")
        origin = ModalOrigin(click.issue_id, click.channel_id, click.message_ts)
        form = await self._service.form(click.issue_id, click.user_id, private_metadata=origin.encode())
        await client.views_open(trigger_id=click.trigger_id, view=build_escalation_modal(form))

    async def submit(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Bad input goes back into the modal beside the field; anything later is told ephemerally."""
        view = body.get("view") or {}
        user_id = body["user"]["id"]
        values = state_values(view)
        team = selected_value(values, EscalationId.TEAM)
        urgency = selected_value(values, EscalationId.URGENCY)
        note = text_value(values, EscalationId.NOTE)
        errors: dict[str, str] = {}
        if not self._service.knows_team(team):
            errors[EscalationId.TEAM] = "Choose one of the teams."
        if urgency not in Urgency._value2member_map_:
            errors[EscalationId.URGENCY] = "Choose high or low."
        if len(note) > NOTE_MAX_LENGTH:
            errors[EscalationId.NOTE] = f"Keep the note under {NOTE_MAX_LENGTH} characters."
        try:
            origin = ModalOrigin.decode(view.get("private_metadata", ""))
        except InvalidInput as error:
            errors.setdefault(EscalationId.TEAM, str(error))
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        try:
            await self._service.escalate(EscalationRequest(origin.issue_id, user_id, team, urgency, note))
        except Exception as error:  # noqa: BLE001 - the modal is closed: tell the person another way
            await tell_submitter(client, origin, user_id, describe_error(error, user_id))

    async def take(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = ButtonClick.from_body(body)
        names = await self._service.acknowledge(click.issue_id, click.user_id)
        await respond(
            text=f"Thanks: you are on it for {', '.join(names)}; the escalation of issue #{click.issue_id} stops here.",
            response_type="ephemeral",
            replace_original=False,
        )


def register(slack_app: AsyncApp, service: EscalationService) -> None:
    listeners = EscalationListeners(service)
    slack_app.action(IssueAction.ESCALATE.value)(reporting_errors(listeners.open_modal))
    slack_app.view(EscalationId.MODAL.value)(reporting_errors(listeners.submit))
    slack_app.action(EscalationId.ACKNOWLEDGE.value)(reporting_errors(listeners.take))
