"""Stable ids of the issue log's Slack surfaces. Views and messages already sent outlive refactors:
never rename a value."""

from __future__ import annotations

from enum import StrEnum


class IssueLogId(StrEnum):
    NEW_ISSUE_VIEW = "issue_log.new"  # callback_id of the /issue new modal
    LIST_MORE = "issue_log.list_more"  # "Next 20" under an /issue list reply
    OPEN_NEW_ISSUE = "issue_log.open_new"  # "Report an issue" on the App Home tab


class NewIssueField(StrEnum):
    """Block ids of the modal's inputs; each input's element has action id FIELD_ACTION_ID."""

    TITLE = "issue_new.title"
    DESCRIPTION = "issue_new.description"
    PRIORITY = "issue_new.priority"
    CATEGORY = "issue_new.category"
    LINK = "issue_new.link"


FIELD_ACTION_ID = "value"
LIST_ACTIONS_BLOCK_ID = "issue_log.list_actions"
