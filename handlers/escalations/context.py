"""What an escalation tells the team: the issue as its message shows it, plus what was already tried."""

from __future__ import annotations

from typing import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.issues.message_view import IssueMessageView
from handlers.escalations.blocks import EscalationContext, RunbookAttempt, TimelineEntry
from storage.models import Issue
from storage.repositories.slack import SlackMessageRepository
from storage.repositories.issue import IssueRepository
from storage.repositories.escalation import EscalationRepository

ViewLoader = Callable[[AsyncSession, int], Awaitable[IssueMessageView | None]]

# Audit entries that say nothing about the problem itself.
_NOT_IN_TIMELINE = {"denied"}


async def load_context(session: AsyncSession, issue: Issue, load_view: ViewLoader) -> EscalationContext:
    """Read in the caller's transaction, so the message matches the escalation row it announces.

    The issue message's own loader supplies alerts and the knowledge-base article, so whatever
    that message learns to show (a KB match, say) reaches escalations too.
    """
    view = await load_view(session, issue.id)
    events = await IssueRepository(session).list_events(issue.id)
    runs = await EscalationRepository(session).list_runbook_runs(issue.id)
    message = await SlackMessageRepository(session).get_for_issue(issue.id)
    return EscalationContext(
        issue=issue,
        alerts=tuple(view.alerts) if view else (),
        alert_count=view.alert_count if view else 0,
        timeline=tuple(
            TimelineEntry(at=event.at, actor=event.actor, summary=event.summary or event.kind)
            for event in events
            if event.kind not in _NOT_IN_TIMELINE
        ),
        runbook_runs=tuple(
            RunbookAttempt(
                runbook_id=run.runbook_id,
                status=run.status,
                started_at=run.started_at,
                requested_by=run.requested_by,
                output_excerpt=run.output_excerpt or "",
                error=run.error,
            )
            for run in runs
        ),
        kb_article=view.kb_article if view else None,
        message_channel=message.channel if message else None,
    )
