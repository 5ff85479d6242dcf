"""Satisfaction surveys after an issue is resolved: DM, two-click answer, one reminder, low scores to managers."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from core.scheduler import Scheduler
from handlers.issues.lifecycle import IssueLifecycle
from handlers.slack.listeners import reporting_errors
from handlers.surveys.ids import RATE_ACTION_PATTERN, SurveyAction
from handlers.surveys.listeners import SurveyListeners
from handlers.surveys.service import SurveyService

REMINDER_CHECK_SECONDS = 60.0


def register(slack_app: AsyncApp, surveys: SurveyService, lifecycle: IssueLifecycle, scheduler: Scheduler) -> None:
    """Listeners for the buttons and the form, hooks on resolve/reopen, and the reminder job."""
    listeners = SurveyListeners(surveys)
    slack_app.action(re.compile(RATE_ACTION_PATTERN))(reporting_errors(listeners.open_form))
    slack_app.view(SurveyAction.SUBMIT.value)(listeners.submit)
    lifecycle.on_resolved.append(surveys.on_resolved)
    lifecycle.on_reopened.append(surveys.on_reopened)
    scheduler.every(REMINDER_CHECK_SECONDS, "survey-reminders", surveys.send_due_reminders)
