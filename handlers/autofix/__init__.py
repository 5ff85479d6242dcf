"""Auto-fix in Slack: the issue message's Auto-fix button and the confirmation modal.

Listeners ack first, then call AutofixService; the run itself happens in the background and
reports in the issue's thread. A modal submission has no response_url, so its problems are told
to the submitter with chat.postEphemeral in the issue's channel.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp

from handlers.issues.buttons import ButtonClick
from handlers.issues.ids import IssueAction
from handlers.autofix.blocks import AutofixCallback, build_confirm_modal, build_refused_reply, build_started_reply
from handlers.autofix.runbooks import RUNBOOK_ID_PATTERN
from handlers.autofix.service import AutofixService, ConfirmationNeeded, RunRefused, StartResult
from handlers.errors import InvalidInput
from handlers.slack.listeners import describe_error, reporting_errors


@dataclass(frozen=True)
class ConfirmContext:
    """What the modal carries from the click to the submission (its private_metadata)."""

    issue_id: int
    runbook_id: str
    channel_id: str | None

    def dumps(self) -> str:
        return json.dumps({"issue": self.issue_id, "runbook": self.runbook_id, "channel": self.channel_id})

    @classmethod
    def loads(cls, text: str) -> "ConfirmContext":
        try:
            data = json.loads(text)
            issue_id, runbook_id, channel_id = data["issue"], data["runbook"], data.get("channel")
        except (ValueError, TypeError, KeyError):
            raise InvalidInput("This confirmation does not point at an issue.") from None
        if not isinstance(issue_id, int) or not isinstance(runbook_id, str):
            raise InvalidInput("This confirmation does not point at an issue.")
        if not re.fullmatch(RUNBOOK_ID_PATTERN, runbook_id):
            raise InvalidInput("This confirmation does not name a runbook.")
        if channel_id is not None and not (isinstance(channel_id, str) and re.fullmatch(r"[A-Z0-9]{1,32}", channel_id)):
            channel_id = None
        return cls(issue_id, runbook_id, channel_id)


def _reply_for(result: StartResult) -> str:
    if isinstance(result, RunRefused):
        return build_refused_reply(result.runbook.title, result.reason)
    return build_started_reply(result.runbook.title, result.issue_id)


class AutofixListeners:
    def __init__(self, service: AutofixService) -> None:
        self._service = service

    async def run_clicked(self, ack: Any, body: dict[str, Any], respond: Any, client: Any) -> None:
        await ack()
        click = ButtonClick.from_body(body)
        result = await self._service.request(click.issue_id, click.user_id)
        if isinstance(result, ConfirmationNeeded):
            if not click.trigger_id:
                raise InvalidInput("Slack did not send what opsbot needs to open the confirmation; click again.")
            context = ConfirmContext(click.issue_id, result.plan.runbook.id, click.channel_id)
            view = build_confirm_modal(result.plan, result.issue_id, result.issue_title, context.dumps())
            await client.views_open(trigger_id=click.trigger_id, view=view)
            return
        await respond(text=_reply_for(result), response_type="ephemeral", replace_original=False)

    async def confirm_submitted(self, ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        await ack()
        user_id = body["user"]["id"]
        context: ConfirmContext | None = None
        try:
            context = ConfirmContext.loads(view.get("private_metadata") or "")
            message = _reply_for(await self._service.confirm(context.issue_id, context.runbook_id, user_id))
        except Exception as error:  # noqa: BLE001 - told to the submitter below, and logged if unexpected
            message = describe_error(error, user_id)
        if context is not None and context.channel_id:
            await client.chat_postEphemeral(channel=context.channel_id, user=user_id, text=message)


def register(slack_app: AsyncApp, service: AutofixService) -> None:
    listeners = AutofixListeners(service)
    slack_app.action(IssueAction.AUTOFIX.value)(reporting_errors(listeners.run_clicked))
    slack_app.view(AutofixCallback.CONFIRM.value)(reporting_errors(listeners.confirm_submitted))
