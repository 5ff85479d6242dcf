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
ISSUE_LINKS_BLOCK_ID = "issue.links"  # the alert's links as URL buttons
ISSUE_LINK_ACTION_PREFIX = "issue.link."  # + the link's kind ("runbook", "silence"); a click is only acked


class ResolveModal(StrEnum):
    """The Resolve modal: its callback id, and its inputs (each block_id equals its action_id)."""

    CALLBACK = "issue.resolve.modal"
    RESOLUTION = "resolve.resolution"
    ROOT_CAUSE_CATEGORY = "resolve.root_cause_category"
    ROOT_CAUSE = "resolve.root_cause"
