"""Stable ids of the knowledge-feed surfaces: the write-up modal, the drafts list and its buttons.

The "Write it up" button itself is `IssueAction.WRITE_UP` (handlers/issues/ids.py): the issue message
draws it, this feature answers it. Messages and modals already sent outlive refactors: never rename a value.
"""

from __future__ import annotations

from enum import StrEnum


class DraftAction(StrEnum):
    PUBLISH = "kb.draft.publish"  # value: the draft's file name
    DISCARD = "kb.draft.discard"  # value: the draft's file name


class WriteUpModal(StrEnum):
    """The write-up modal: its callback id and its inputs (each block_id equals its action_id)."""

    CALLBACK = "kb.write_up"
    TITLE = "kb.write_up.title"
    CATEGORY = "kb.write_up.category"
    ALERTS = "kb.write_up.alerts"
    SYMPTOMS = "kb.write_up.symptoms"
    ROOT_CAUSE = "kb.write_up.root_cause"
    FIX = "kb.write_up.fix"
    STEPS = "kb.write_up.steps"


DRAFT_BLOCK_PREFIX = "kb.draft."  # + the draft's number in the list: its actions block
GAP_BLOCK_PREFIX = "kb.gap."  # + the gap's number in the list: its section with "Write it up"
