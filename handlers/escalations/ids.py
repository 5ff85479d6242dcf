"""Callback, block and action ids of the escalation modal and messages. Never rename a value."""

from __future__ import annotations

from enum import StrEnum


class EscalationId(StrEnum):
    MODAL = "escalation.modal"  # callback_id of the Escalate modal
    TEAM = "escalation.team"  # block_id and action_id of the team select
    URGENCY = "escalation.urgency"
    NOTE = "escalation.note"
    ACKNOWLEDGE = "escalation.ack"  # "I'm on it" on the escalation's message and DMs
    ACTIONS_BLOCK = "escalation.actions"


class Urgency(StrEnum):
    HIGH = "high"
    LOW = "low"


class EscalationReason(StrEnum):
    MANUAL = "manual"
    CHAIN = "chain"
    AUTOFIX_FAILED = "autofix_failed"
    AUTOFIX_REFUSED = "autofix_refused"
    UNVERIFIED = "unverified"


AUTOMATIC_REASONS = (EscalationReason.AUTOFIX_FAILED, EscalationReason.AUTOFIX_REFUSED, EscalationReason.UNVERIFIED)
