"""Minor or complex, after an issue opened: a minor issue becomes complex once people have to take it further.

An issue is classified when it opens (handlers/alerts/triage.py for alerts; a person's report is
complex, since no runbook applies to it). Only one change follows, minor -> complex, when auto-fix
fails or someone escalates; it is kept in the timeline ("reclassified"), which is also how /summary
still counts the issue among those that opened minor.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.vocabulary import IssueClass
from storage.models import Issue
from storage.repositories.issue import RECLASSIFIED_KIND, IssueRepository


async def make_complex(session: AsyncSession, issue: Issue, *, actor: str, reason: str, at: datetime) -> bool:
    """Turn a minor issue complex inside the caller's transaction; False when it was not minor.

    `issue` must be loaded in `session` (its row locked by the caller where concurrency matters)."""
    if issue.issue_class != IssueClass.MINOR:
        return False
    issue.issue_class = IssueClass.COMPLEX.value
    await IssueRepository(session).add_event(
        issue.id,
        actor=actor,
        kind=RECLASSIFIED_KIND,
        summary=f"Minor → complex: {reason}",
        detail={"from": IssueClass.MINOR.value, "to": IssueClass.COMPLEX.value, "reason": reason},
        at=at,
    )
    return True
