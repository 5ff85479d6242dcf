"""What asking for a run answers: start it, confirm it first, or refused (and why)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from handlers.autofix.params import RunPlan
from handlers.autofix.runbooks import Runbook


class Trigger(StrEnum):
    BUTTON = "button"
    AUTO = "auto"


@dataclass(frozen=True)
class ConfirmationNeeded:
    """The runbook wants a person to confirm: show the plan in a modal."""

    issue_id: int
    issue_title: str
    plan: RunPlan


@dataclass(frozen=True)
class RunStarted:
    issue_id: int
    run_id: int
    runbook: Runbook


@dataclass(frozen=True)
class RunRefused:
    issue_id: int
    run_id: int
    runbook: Runbook
    reason: str


StartResult = RunStarted | RunRefused
