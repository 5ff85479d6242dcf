"""Who is asked about a resolved issue: the people who were helped, not the people who helped.

- a staff issue (/issue, or a question turned into a ticket): the person who reported or asked;
- any issue someone escalated by hand: that person, about the team they called;
- an alert issue nobody asked about: nobody by default. `surveys.alert_issues: responders` asks the
  Slack users who acknowledged, resolved or were assigned it, as opsbot used to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from handlers.surveys.settings import SurveyAudience
from storage.models import Issue

STAFF_SOURCE = "slack"  # issues people report in Slack; reported_by is their user id
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


class SurveyRole(StrEnum):
    """How a person was involved, which decides what the survey asks them."""

    REPORTER = "reporter"
    ESCALATOR = "escalator"
    RESPONDER = "responder"


def is_slack_user(actor: str | None) -> bool:
    return bool(actor) and _SLACK_USER.match(actor or "") is not None


def audience(
    issue: Issue, escalated_by: Sequence[str], alert_issues: SurveyAudience
) -> list[tuple[str, SurveyRole]]:
    """(Slack user, role) to ask, each person once in a stable order, the closest role first.

    `escalated_by`: who escalated the issue (Escalation.requested_by; automatic ones are not people)."""
    candidates: list[tuple[str | None, SurveyRole]] = []
    if issue.source == STAFF_SOURCE:
        candidates.append((issue.reported_by, SurveyRole.REPORTER))
    candidates += [(person, SurveyRole.ESCALATOR) for person in escalated_by]
    if issue.source != STAFF_SOURCE and alert_issues is SurveyAudience.RESPONDERS:
        candidates += [(actor, SurveyRole.RESPONDER) for actor in (issue.acknowledged_by, issue.resolved_by, issue.assignee)]
    people: list[tuple[str, SurveyRole]] = []
    for actor, role in candidates:
        if is_slack_user(actor) and all(actor != person for person, _ in people):
            people.append((actor, role))  # type: ignore[arg-type]
    return people


def role_of(issue: Issue, user: str, escalated_by: Sequence[str]) -> SurveyRole:
    """The role a survey already sent was sent in (for its reminder and a low score's alert)."""
    if issue.source == STAFF_SOURCE and user == issue.reported_by:
        return SurveyRole.REPORTER
    if user in escalated_by:
        return SurveyRole.ESCALATOR
    return SurveyRole.RESPONDER
