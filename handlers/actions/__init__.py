"""Buttons on issue messages: Acknowledge, Auto-fix, Escalate, Resolve, Reopen."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp

from handlers.actions.ids import IssueAction
from handlers.errors import InvalidInput
from handlers.issues.service import IssueService
from handlers.listeners import reporting_errors


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

    async def resolve(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = ButtonClick.from_body(body)
        await self._issues.resolve(click.issue_id, click.user_id)

    async def reopen(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = ButtonClick.from_body(body)
        await self._issues.reopen(click.issue_id, click.user_id)

    async def not_configured(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        action_id = (body.get("actions") or [{}])[0].get("action_id")
        what = "Auto-fix" if action_id == IssueAction.AUTOFIX else "Escalation"
        await respond(
            text=f"{what} is not configured yet for this workspace: ask an admin to add it to the opsbot config.",
            response_type="ephemeral",
            replace_original=False,
        )


def register(slack_app: AsyncApp, issues: IssueService) -> None:
    buttons = IssueButtons(issues)
    slack_app.action(IssueAction.ACKNOWLEDGE.value)(reporting_errors(buttons.acknowledge))
    slack_app.action(IssueAction.UNACKNOWLEDGE.value)(reporting_errors(buttons.unacknowledge))
    slack_app.action(IssueAction.RESOLVE.value)(reporting_errors(buttons.resolve))
    slack_app.action(IssueAction.REOPEN.value)(reporting_errors(buttons.reopen))
    slack_app.action(IssueAction.AUTOFIX.value)(reporting_errors(buttons.not_configured))
    slack_app.action(IssueAction.ESCALATE.value)(reporting_errors(buttons.not_configured))
