"""Auto-fix in Slack: the issue message's Auto-fix button, the confirmation modal, and the
Done / Skip / Stuck buttons of a walkthrough's steps in the issue's thread.

Listeners ack first, then call AutofixService; the run itself happens in the background and
reports in the issue's thread. A modal submission has no response_url, so its problems are told
to the submitter with chat.postEphemeral in the issue's channel.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from handlers.autofix.blocks import (
    STEP_VERDICTS,
    AutofixCallback,
    build_confirm_modal,
    build_refused_reply,
    build_started_reply,
    build_step_checked,
)
from handlers.autofix.runbooks import RUNBOOK_ID_PATTERN
from handlers.autofix.service import AutofixService, ConfirmationNeeded, RunRefused, StartResult
from handlers.autofix.walkthrough import parse_step_value
from handlers.errors import InvalidInput
from handlers.issues.buttons import clicked_issue, modal_issue
from handlers.issues.ids import IssueAction
from handlers.slack.listeners import describe_error, reporting_errors
from handlers.slack.metadata import ModalMetadata, encode_metadata
from handlers.slack.payloads import parse_click, parse_submission
from handlers.slack.submissions import tell_submitter

log = logging.getLogger(__name__)


def confirm_metadata(issue_id: int, runbook_id: str, channel_id: str | None) -> str:
    """What the confirmation modal carries from the click to the submission."""
    return encode_metadata(issue=issue_id, runbook=runbook_id, channel=channel_id)


def confirmed_run(metadata: ModalMetadata) -> tuple[int, str]:
    """(issue id, runbook id) the confirmation was opened for."""
    issue_id, runbook_id = modal_issue(metadata), metadata.string("runbook")
    if issue_id is None or runbook_id is None:
        raise InvalidInput("This confirmation does not point at an issue.")
    if not re.fullmatch(RUNBOOK_ID_PATTERN, runbook_id):
        raise InvalidInput("This confirmation does not name a runbook.")
    return issue_id, runbook_id


def _reply_for(result: StartResult) -> str:
    if isinstance(result, RunRefused):
        return build_refused_reply(result.runbook.title, result.reason)
    return build_started_reply(result.runbook.title, result.issue_id, walkthrough=result.runbook.is_walkthrough)


class AutofixListeners:
    def __init__(self, service: AutofixService) -> None:
        self._service = service

    async def run_clicked(self, ack: Any, body: dict[str, Any], respond: Any, client: Any) -> None:
        await ack()
        click = parse_click(body)
        issue_id = clicked_issue(click)
        result = await self._service.request(issue_id, click.user_id)
        if isinstance(result, ConfirmationNeeded):
            trigger_id = click.require_trigger("Slack did not send what opsbot needs to open the confirmation; click again.")
            metadata = confirm_metadata(issue_id, result.plan.runbook.id, click.channel_id)
            view = build_confirm_modal(result.plan, result.issue_id, result.issue_title, metadata)
            await client.views_open(trigger_id=trigger_id, view=view)
            return
        await respond(text=_reply_for(result), response_type="ephemeral", replace_original=False)

    async def confirm_submitted(self, ack: Any, body: dict[str, Any], client: Any) -> None:
        """The outcome, or why not, is told in the issue's channel; a confirmation that lost its
        issue is logged only (there is nowhere to say it)."""
        await ack()
        submission = parse_submission(body)
        issue_id, runbook_id = confirmed_run(submission.metadata)
        user_id = submission.user_id
        try:
            message = _reply_for(await self._service.confirm(issue_id, runbook_id, user_id))
        except Exception as error:  # noqa: BLE001 - told to the submitter below, and logged if unexpected
            message = describe_error(error, user_id)
        await tell_submitter(client, user_id, message, submission.metadata.channel_id, by_dm=False)


    async def step_clicked(self, ack: Any, body: dict[str, Any], respond: Any, client: Any) -> None:
        """Done / Skip / Stuck on a walkthrough step: recorded first; the message then shows who did what."""
        await ack()
        click = parse_click(body)
        run_id, number = parse_step_value(click.value)
        checked = await self._service.check_off(run_id, number, STEP_VERDICTS[click.action_id], click.user_id)
        if not click.channel_id or not click.message_ts:
            return
        shown = build_step_checked(checked.runbook.title, number, checked.total, checked.step, checked.verdict,
                                   checked.user_id, checked.at)
        try:
            await client.chat_update(channel=click.channel_id, ts=click.message_ts, **shown)
        except SlackApiError as error:  # the step is recorded and the next one posted; only this edit is lost
            log.warning("could not update the step message %s in %s: %s", click.message_ts, click.channel_id,
                        error.response.get("error"))


def register(slack_app: AsyncApp, service: AutofixService) -> None:
    listeners = AutofixListeners(service)
    for action_id in STEP_VERDICTS:
        slack_app.action(action_id)(reporting_errors(listeners.step_clicked))
    slack_app.action(IssueAction.AUTOFIX.value)(reporting_errors(listeners.run_clicked))
    slack_app.view(AutofixCallback.CONFIRM.value)(reporting_errors(listeners.confirm_submitted))
