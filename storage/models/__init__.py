"""Typed models, one module per aggregate, re-exported for convenience."""

from storage.models.alert import Alert, AlertStatus
from storage.models.autofix import RunbookRun, RunbookRunStatus
from storage.models.base import Base, UTCDateTime, utcnow
from storage.models.escalation import Escalation, EscalationStatus
from storage.models.intake import ReceivedWebhook, ReceivedWebhookStatus
from storage.models.feedback import (
    KbQuestion,
    QuestionOutcome,
    ReportRun,
    SurveyResponse,
    SurveyStatus,
)
from storage.models.issue import OPEN_STATUSES, Issue, IssueEvent, IssueStatus
from storage.models.on_call import OnCallOverride
from storage.models.outbox import DeliveryClaim, OutboxItem, OutboxStatus
from storage.models.performance import Adjustment, IncidentReview
from storage.models.silence import AlertSilence, IssueSnooze
from storage.models.slack import (
    SlackMessage,
    SlackPostAttempt,
    SlackRateLimit,
    SlackReceipt,
)

__all__ = [
    "Adjustment",
    "Alert",
    "AlertSilence",
    "AlertStatus",
    "Base",
    "DeliveryClaim",
    "Escalation",
    "EscalationStatus",
    "KbQuestion",
    "QuestionOutcome",
    "ReceivedWebhook",
    "ReceivedWebhookStatus",
    "ReportRun",
    "RunbookRun",
    "RunbookRunStatus",
    "SurveyResponse",
    "SurveyStatus",
    "IncidentReview",
    "Issue",
    "IssueEvent",
    "IssueSnooze",
    "IssueStatus",
    "OPEN_STATUSES",
    "OnCallOverride",
    "OutboxItem",
    "OutboxStatus",
    "SlackMessage",
    "SlackPostAttempt",
    "SlackRateLimit",
    "SlackReceipt",
    "UTCDateTime",
    "utcnow",
]
