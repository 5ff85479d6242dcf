"""The SQL behind /summary's minor/complex figures, for the issues reported in a period.

- by class: minor and complex issues as they stand now (unclassified ones, opened before issues were
  classified, are left out).
- opened minor: minor now, or complex after a "reclassified" event (the only change is minor -> complex).
- fixed without a human: still minor, resolved by its alert (not by a person), after an automatic
  runbook run that was verified; nobody acknowledged, was assigned, ran a runbook by hand or escalated.
- escalated: issues with at least one escalation, of all issues reported.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Escalation, Issue, IssueEvent, IssueStatus, RunbookRun, RunbookRunStatus
from storage.repositories.issue import RECLASSIFIED_KIND

MINOR, COMPLEX = "minor", "complex"  # core.vocabulary.IssueClass, which storage does not import
AUTOMATIC_TRIGGER = "auto"  # RunbookRun.trigger of a run nobody asked for (handlers/autofix)


async def class_figures(session: AsyncSession, start: datetime, end: datetime) -> dict[str, Any]:
    reported = (Issue.reported_at >= start, Issue.reported_at < end)
    rows = await session.execute(
        select(Issue.issue_class, func.count()).where(*reported, Issue.issue_class.is_not(None)).group_by(Issue.issue_class)
    )
    by_class = {MINOR: 0, COMPLEX: 0}
    for issue_class, count in rows:
        by_class[issue_class] = int(count)

    reclassified = select(IssueEvent.issue_id).where(IssueEvent.kind == RECLASSIFIED_KIND)
    opened_minor = or_(Issue.issue_class == MINOR, and_(Issue.issue_class == COMPLEX, Issue.id.in_(reclassified)))
    verified_automatically = select(RunbookRun.issue_id).where(
        RunbookRun.status == RunbookRunStatus.VERIFIED, RunbookRun.trigger == AUTOMATIC_TRIGGER
    )
    run_by_a_person = select(RunbookRun.issue_id).where(RunbookRun.trigger != AUTOMATIC_TRIGGER)
    escalated = select(Escalation.issue_id)
    unaided = and_(
        Issue.issue_class == MINOR,
        Issue.status.in_((IssueStatus.RESOLVED, IssueStatus.CLOSED)),
        Issue.resolved_by == Issue.source,  # the alert resolved it; a person's Resolve names the person
        or_(Issue.acknowledged_by.is_(None), Issue.acknowledged_by == Issue.source),
        Issue.assignee.is_(None),
        Issue.id.in_(verified_automatically),
        Issue.id.not_in(run_by_a_person),
        Issue.id.not_in(escalated),
    )
    query = select(_count(opened_minor), _count(unaided), _count(Issue.id.in_(escalated))).where(*reported)
    minor, fixed, escalated_issues = (await session.execute(query)).one()
    return {
        "by_class": by_class,
        "opened_minor": int(minor),
        "minor_fixed_unaided": int(fixed),
        "escalated_issues": int(escalated_issues),
    }


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
