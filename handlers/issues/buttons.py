"""Buttons on issue messages: Acknowledge, Resolve (a modal asking for the resolution and root cause), Reopen,
and the alert's links (URL buttons: the browser opens the link, the click is only acked).

Escalate is registered by handlers/escalations, Auto-fix by its own feature; both parse the click
with ButtonClick.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from handlers.errors import Conflict, InvalidInput
from handlers.issues.ids import ResolveModal
from handlers.issues.modals import ModalOrigin, selected_value, state_values, tell_submitter, text_value
from handlers.issues.resolve_modal import ROOT_CAUSE_CATEGORIES, TEXT_MAX_LENGTH, ResolveForm, build_resolve_modal
from handlers.issues.service import IssueService
from handlers.slack.listeners import describe_error
from handlers.roles import Role


@dataclass(frozen=True)
class ButtonClick:
    issue_id: int
    user_id: str
    channel_id: str | None
    message_ts: str | None
    trigger_id: str | None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> "ButtonClick":
        action = (body.get("actions") or [{}])[0]
        value = str(action.get("value", ""))
        if not re.fullmatch(r"\d{1,18}", value):
            raise InvalidInput("This button does not point at an issue.")
        return cls(
            issue_id=int(value),
            user_id=body["user"]["id"],
            channel_id=(body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id"),
            message_ts=(body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts"),
            trigger_id=body.get("trigger_id"),
        )


class IssueButtons:
    """Listeners bound to the issue service; each acks first, then acts."""

    def __init__(self, issues: IssueService) -> None:
        self._issues = issues

    async def acknowledge(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = ButtonClick.from_body(body)
        await self._issues.acknowledge(click.issue_id, click.user_id)

    async def unacknowledge(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = ButtonClick.from_body(body)
        await self._issues.unacknowledge(click.issue_id, click.user_id)

    async def resolve(self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        """Open the Resolve modal; refuse at the click when the user may not resolve, or it is too late."""
        await ack()
        click = ButtonClick.from_body(body)
        await self._issues.require_role(click.issue_id, click.user_id, Role.RESPONDER, "resolve issues")
        issue = await self._issues.get(click.issue_id)
        if not issue.is_open:
            raise Conflict(f"Issue #{issue.id} is already {issue.status.lower()}.")
        if not click.trigger_id:
            raise InvalidInput("Slack sent no form trigger with this click: please click Resolve again.")
        origin = ModalOrigin(issue.id, click.channel_id, click.message_ts)
        form = ResolveForm(issue.id, issue.title, issue.category, private_metadata=origin.encode())
        await client.views_open(trigger_id=click.trigger_id, view=build_resolve_modal(form))

    async def submit_resolution(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Validate in the modal (errors shown beside the inputs), then resolve after the ack."""
        view = body.get("view") or {}
        user_id = body["user"]["id"]
        values = state_values(view)
        resolution = text_value(values, ResolveModal.RESOLUTION)
        category = selected_value(values, ResolveModal.ROOT_CAUSE_CATEGORY)
        root_cause = text_value(values, ResolveModal.ROOT_CAUSE)
        errors: dict[str, str] = {}
        if not resolution:
            errors[ResolveModal.RESOLUTION] = "Say what fixed it, even in a few words."
        elif len(resolution) > TEXT_MAX_LENGTH:
            errors[ResolveModal.RESOLUTION] = f"Keep it under {TEXT_MAX_LENGTH} characters."
        if category not in {value for value, _ in ROOT_CAUSE_CATEGORIES}:
            errors[ResolveModal.ROOT_CAUSE_CATEGORY] = "Choose one of the categories."
        if len(root_cause) > TEXT_MAX_LENGTH:
            errors[ResolveModal.ROOT_CAUSE] = f"Keep it under {TEXT_MAX_LENGTH} characters."
        try:
            origin = ModalOrigin.decode(view.get("private_metadata", ""))
        except InvalidInput as error:
            errors.setdefault(ResolveModal.RESOLUTION, str(error))
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        try:
            await self._issues.resolve(
                origin.issue_id, user_id, resolution=resolution, root_cause=root_cause or None,
                root_cause_category=category,
            )
        except Exception as error:  # noqa: BLE001 - the modal is closed: tell the person another way
            await tell_submitter(client, origin, user_id, describe_error(error, user_id))

    async def reopen(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = ButtonClick.from_body(body)
        await self._issues.reopen(click.issue_id, click.user_id)


async def acknowledge_link_click(ack: Any) -> None:
    """Slack sends a URL button's click too; unanswered, the button shows an error."""
    await ack()
