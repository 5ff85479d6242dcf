"""Stable ids of the issue's Slack surfaces: its message's buttons, the Resolve modal, `/issue`'s modal
and list buttons. Messages and views already posted outlive refactors: never rename a value."""

from __future__ import annotations

from enum import StrEnum


class IssueAction(StrEnum):
    ACKNOWLEDGE = "issue.ack"
    UNACKNOWLEDGE = "issue.unack"
    AUTOFIX = "issue.autofix"
    ESCALATE = "issue.escalate"
    RESOLVE = "issue.resolve"
    REOPEN = "issue.reopen"
    WRITE_UP = "issue.write_up"  # "Write it up" for the knowledge base: answered by handlers/knowledge


ISSUE_ACTIONS_BLOCK_ID = "issue.actions"
ISSUE_LINKS_BLOCK_ID = "issue.links"  # the alert's links as URL buttons
ISSUE_LINK_ACTION_PREFIX = "issue.link."  # + the link's kind ("runbook", "silence"); a click is only acked


class ResolveModal(StrEnum):
    """The Resolve modal: its callback id, and its inputs (each block_id equals its action_id)."""

    CALLBACK = "issue.resolve.modal"
    RESOLUTION = "resolve.resolution"
    ROOT_CAUSE_CATEGORY = "resolve.root_cause_category"
    ROOT_CAUSE = "resolve.root_cause"


class IssueLogId(StrEnum):
    NEW_ISSUE_VIEW = "issue_log.new"  # callback_id of the /issue new modal
    LIST_MORE = "issue_log.list_more"  # "Next 20" under an /issue list reply
    OPEN_NEW_ISSUE = "issue_log.open_new"  # "Report an issue" on the App Home tab


class NewIssueField(StrEnum):
    """Block ids of the /issue new modal's inputs; each input's element has action id FIELD_ACTION_ID."""

    TITLE = "issue_new.title"
    DESCRIPTION = "issue_new.description"
    PRIORITY = "issue_new.priority"
    CATEGORY = "issue_new.category"
    LINK = "issue_new.link"


FIELD_ACTION_ID = "value"
LIST_ACTIONS_BLOCK_ID = "issue_log.list_actions"
