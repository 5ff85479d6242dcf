"""Typed models, one module per aggregate, re-exported for convenience."""

from storage.models.alert import Alert, AlertStatus
from storage.models.autofix import Escalation, EscalationStatus, RunbookRun, RunbookRunStatus
from storage.models.feedback import (
    KbQuestion,
    QuestionOutcome,
    ReportRun,
    SurveyResponse,
    SurveyStatus,
)
from storage.models.base import Base, UTCDateTime, utcnow
from storage.models.issue import OPEN_STATUSES, Issue, IssueEvent, IssueStatus
from storage.models.performance import Adjustment, IncidentReview
from storage.models.receipts import SlackReceipt
from storage.models.slack import (
    DeliveryClaim,
    OutboxItem,
    OutboxStatus,
    SlackMessage,
    SlackPostAttempt,
    SlackRateLimit,
)

__all__ = [
    "Adjustment",
    "Alert",
    "AlertStatus",
    "Base",
    "DeliveryClaim",
    "Escalation",
    "EscalationStatus",
    "KbQuestion",
    "QuestionOutcome",
    "ReportRun",
    "RunbookRun",
    "RunbookRunStatus",
    "SurveyResponse",
    "SurveyStatus",
    "IncidentReview",
    "Issue",
    "IssueEvent",
    "IssueStatus",
    "OPEN_STATUSES",
    "OutboxItem",
    "OutboxStatus",
    "SlackMessage",
    "SlackPostAttempt",
    "SlackRateLimit",
    "SlackReceipt",
    "UTCDateTime",
    "utcnow",
]
