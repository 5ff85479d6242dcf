"""Action and callback ids on posted messages. They outlive refactors: never rename a value."""

from __future__ import annotations

from enum import StrEnum


class IssueAction(StrEnum):
    ACKNOWLEDGE = "issue.ack"
    UNACKNOWLEDGE = "issue.unack"
    AUTOFIX = "issue.autofix"
    ESCALATE = "issue.escalate"
    RESOLVE = "issue.resolve"
    REOPEN = "issue.reopen"


ISSUE_ACTIONS_BLOCK_ID = "issue.actions"
