"""Listeners for `/issue`, its modal and list buttons, and replies in issue threads.

Thin on purpose: parse (pure, before the ack so a typo is answered in the ack itself), ack, call
one service method, reply with a builder's blocks. Errors after the ack reach the user through
handlers.slack.listeners.reporting_errors as an ephemeral sentence.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from handlers.errors import InvalidInput
from handlers.issues.command_blocks import build_help, build_issue_detail, build_issue_list, build_new_issue_modal
from handlers.issues.command_parsing import (
    AssignCommand,
    CommentCommand,
    ExportCommand,
    HelpCommand,
    IssueCommand,
    ListCommand,
    NewCommand,
    ShowCommand,
    parse_issue_command,
    parse_more_value,
    parse_new_issue,
)
from handlers.issues.export_upload import CsvExporter
from handlers.issues.ids import NewIssueField
from handlers.issues.service import IssueService
from handlers.issues.settings import IssueLogSettings
from handlers.periods import Period, parse_period
from handlers.slack.listeners import describe_error
from handlers.slack.payloads import parse_click, parse_command, parse_submission
from handlers.slack.submissions import ack_submission

log = logging.getLogger(__name__)

# Human thread replies: plain messages, or replies also sent to the channel.
THREAD_REPLY_SUBTYPES = (None, "thread_broadcast")


async def is_thread_reply(event: dict[str, Any]) -> bool:
    """Bolt matcher: a message inside a thread (not the thread's parent), not from a bot."""
    thread_ts = event.get("thread_ts")
    return bool(thread_ts) and thread_ts != event.get("ts") and not event.get("bot_id") and bool(event.get("user"))


class IssueCommands:
    def __init__(self, issues: IssueService, settings: IssueLogSettings) -> None:
        self._issues = issues
        self._settings = settings
        self._exporter = CsvExporter(issues, settings)

    async def handle_command(self, ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        slash = parse_command(body)
        user = slash.user_id
        try:
            command = parse_issue_command(slash.text, user)
            period = self._period(command)
        except InvalidInput as error:
            text, blocks = build_help(str(error))
            await ack(text=text, blocks=blocks)
            return
        if isinstance(command, HelpCommand):
            text, blocks = build_help(command.problem)
            await ack(text=text, blocks=blocks)
        elif isinstance(command, NewCommand):
            await ack()
            await client.views_open(trigger_id=slash.trigger_id, view=build_new_issue_modal())
        elif isinstance(command, ExportCommand) and period is not None:
            await ack(text=f"⏳ Preparing the issue log for {period.label}…")
            result = await self._exporter.export(client, channel=slash.channel_id, requested_by=user, period=period)
            if result.issues == 0:
                nothing = f"No issues were reported in {period.label}: there is nothing to export."
                await respond(text=nothing, response_type="ephemeral")
        else:
            await ack()
            await self._answer(command, user, respond)

    def _period(self, command: IssueCommand) -> Period | None:
        if not isinstance(command, ExportCommand):
            return None
        return parse_period(command.period, self._issues.now(), self._settings.zone)

    async def _answer(self, command: IssueCommand, user: str, respond: Any) -> None:
        if isinstance(command, ListCommand):
            limit = self._settings.list_page_size
            page = await self._issues.list_issues(command.filter, user, offset=command.offset, limit=limit)
            text, blocks = build_issue_list(page, command.filter)
            await respond(text=text, blocks=blocks, response_type="ephemeral")
        elif isinstance(command, ShowCommand):
            text, blocks = build_issue_detail(await self._issues.timeline(command.issue_id))
            await respond(text=text, blocks=blocks, response_type="ephemeral")
        elif isinstance(command, AssignCommand):
            change = await self._issues.assign(command.issue_id, command.assignee, user)
            assigned = f"👤 Issue #{change.issue_id} is now assigned to <@{command.assignee}>."
            await respond(text=assigned, response_type="ephemeral")
        elif isinstance(command, CommentCommand):
            change = await self._issues.comment(command.issue_id, command.text, user)
            await respond(text=f"💬 Comment added to issue #{change.issue_id}.", response_type="ephemeral")

    async def submit_new_issue(self, ack: Any, body: dict[str, Any]) -> None:
        """Saved before the ack: if saving fails the modal stays open with the person's text in it."""
        submission = parse_submission(body)
        parsed = parse_new_issue(submission.values)
        if isinstance(parsed, dict):
            errors = parsed
        else:
            errors = {}
            try:
                await self._issues.report(parsed, submission.user_id)
            except Exception as error:  # noqa: BLE001 - shown in the form, logged with an id
                errors = {NewIssueField.TITLE.value: describe_error(error, submission.user_id)}
        await ack_submission(ack, errors)

    async def open_new_issue_modal(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=parse_click(body).trigger_id, view=build_new_issue_modal())

    async def next_page(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = parse_click(body)
        command = parse_more_value(click.value)
        page = await self._issues.list_issues(
            command.filter, click.user_id, offset=command.offset, limit=self._settings.list_page_size
        )
        text, blocks = build_issue_list(page, command.filter)
        await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)

    async def record_thread_reply(self, event: dict[str, Any], context: Any) -> None:
        if event.get("user") == context.get("bot_user_id"):
            return
        issue_id = await self._issues.record_thread_reply(
            event["channel"], event["thread_ts"], event["ts"], event["user"], event.get("text") or ""
        )
        if issue_id is not None:
            log.info("thread reply %s recorded as a comment on issue %s", event["ts"], issue_id)
