"""`/issue`: the issue log in Slack (report, list, show, assign, comment, export) and thread replies as comments."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.issues.settings import IssueLogSettings
from handlers.issues.ids import IssueLogId
from handlers.commands.listeners import THREAD_REPLY_SUBTYPES, IssueCommands, is_thread_reply
from handlers.issues.log import IssueLog
from handlers.issues.queries import IssueQueries
from handlers.listeners import reporting_errors

COMMAND = "/issue"


def register(slack_app: AsyncApp, issue_log: IssueLog, queries: IssueQueries, settings: IssueLogSettings) -> None:
    listeners = IssueCommands(issue_log, queries, settings)
    slack_app.command(COMMAND)(reporting_errors(listeners.handle_command))
    slack_app.view(IssueLogId.NEW_ISSUE_VIEW.value)(reporting_errors(listeners.submit_new_issue))
    slack_app.action(IssueLogId.LIST_MORE.value)(reporting_errors(listeners.next_page))
    slack_app.action(IssueLogId.OPEN_NEW_ISSUE.value)(reporting_errors(listeners.open_new_issue_modal))
    slack_app.event({"type": "message", "subtype": THREAD_REPLY_SUBTYPES}, matchers=[is_thread_reply])(
        reporting_errors(listeners.record_thread_reply)
    )
