"""Stable ids of the silence and snooze controls on issue messages and of the custom-silence modal.
Messages already posted outlive refactors: never rename a value."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class HoldAction(StrEnum):
    SILENCE = "silence.choose"  # the "Silence…" select: 1h / 4h / 24h / custom
    LIFT = "silence.lift"  # "Lift silence"
    SNOOZE = "snooze.choose"  # the "Snooze…" select: 1h / 4h / 24h
    END_SNOOZE = "snooze.end"  # "End snooze"


class SilenceModal(StrEnum):
    """The custom silence modal: its callback id, and its inputs (each block_id equals its action_id)."""

    CALLBACK = "silence.custom.modal"
    DURATION = "silence.duration"
    COMMENT = "silence.comment"


HOLDS_BLOCK_ID = "issue.holds"  # the actions block under the buttons
CUSTOM = "custom"  # the Silence select's option that opens the modal
PRESET_DURATIONS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24)}
PRESETS = tuple(PRESET_DURATIONS)  # the durations both selects offer (option values carry these words)
