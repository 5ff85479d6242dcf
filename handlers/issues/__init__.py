"""The issue, in one place: its message, its buttons, `/issue`, the log and its CSV export.

    ids.py             every action, callback and block id the issue's surfaces use (values never change)
    settings.py        the `issue_log:` config section
    lifecycle.py       hooks other features hang on an issue's life (opened, acknowledged, resolved, reopened)
    service.py         IssueService, the one service: state changes, the log written from Slack, the reads
    log.py, queries.py its writing to the log from Slack (report, assign, comment) and its reads, by concern
    message_view.py    what the issue message shows, loaded in one short read
    message.py         the issue message (Block Kit), re-rendered by the delivery worker
    notices.py         the short thread lines and direct messages the log sends
    buttons.py         Acknowledge / Unacknowledge / Resolve / Reopen and the link buttons
    resolve_modal.py   the Resolve modal (its answers are read in buttons.py, from handlers/slack's Submission)
    command.py         `/issue` and replies in an issue's thread; command_parsing.py, command_blocks.py
    export.py          the issue log as CSV; export_upload.py writes it to a file and uploads it to Slack
"""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from handlers.issues.buttons import IssueButtons, acknowledge_link_click
from handlers.issues.command import THREAD_REPLY_SUBTYPES, IssueCommands, is_thread_reply
from handlers.issues.ids import ISSUE_LINK_ACTION_PREFIX, IssueAction, IssueLogId, ResolveModal
from handlers.issues.service import IssueService
from handlers.issues.settings import IssueLogSettings
from handlers.slack.listeners import reporting_errors

COMMAND = "/issue"


def register(slack_app: AsyncApp, issues: IssueService, settings: IssueLogSettings) -> None:
    """Register after handlers/questions: both hear `message` events and Bolt runs only the first match."""
    buttons = IssueButtons(issues)
    slack_app.action(re.compile(f"^{re.escape(ISSUE_LINK_ACTION_PREFIX)}"))(acknowledge_link_click)
    slack_app.action(IssueAction.ACKNOWLEDGE.value)(reporting_errors(buttons.acknowledge))
    slack_app.action(IssueAction.UNACKNOWLEDGE.value)(reporting_errors(buttons.unacknowledge))
    slack_app.action(IssueAction.RESOLVE.value)(reporting_errors(buttons.resolve))
    slack_app.action(IssueAction.REOPEN.value)(reporting_errors(buttons.reopen))
    slack_app.view(ResolveModal.CALLBACK.value)(reporting_errors(buttons.submit_resolution))

    commands = IssueCommands(issues, settings)
    slack_app.command(COMMAND)(reporting_errors(commands.handle_command))
    slack_app.view(IssueLogId.NEW_ISSUE_VIEW.value)(reporting_errors(commands.submit_new_issue))
    slack_app.action(IssueLogId.LIST_MORE.value)(reporting_errors(commands.next_page))
    slack_app.action(IssueLogId.OPEN_NEW_ISSUE.value)(reporting_errors(commands.open_new_issue_modal))
    slack_app.event({"type": "message", "subtype": THREAD_REPLY_SUBTYPES}, matchers=[is_thread_reply])(
        reporting_errors(commands.record_thread_reply)
    )
