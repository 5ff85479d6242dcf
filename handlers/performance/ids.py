"""Action, callback and block ids of the performance feature. They outlive refactors: never rename a value."""

from __future__ import annotations

from enum import StrEnum

ADJUSTMENT_COMMAND = "/adjustment"
REVIEW_PRIORITY = "High"  # the priority whose issues offer "Start a review" (once resolved)


class PerformanceAction(StrEnum):
    START_REVIEW = "performance.review.start"  # on the issue message; value: the issue id
    SAVE_REVIEW = "performance.review.save"  # in the review's thread; value: the review id


REVIEW_START_BLOCK_ID = "performance.review.start"  # on the issue message, below the issue's own buttons
REVIEW_ACTIONS_BLOCK_ID = "performance.review.actions"  # in the review's thread message


class AdjustmentModal(StrEnum):
    """The /adjustment modal: its callback id, and its inputs (each block_id equals its action_id)."""

    CALLBACK = "performance.adjustment.modal"
    AREA = "adjustment.area"
    CHANGE = "adjustment.change"
    IMPACT = "adjustment.impact"
    KPI = "adjustment.kpi"
    FOLLOW_UP = "adjustment.follow_up"
