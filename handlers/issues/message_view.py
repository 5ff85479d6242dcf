"""Load what the issue message shows, in one short read."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.issues.message import STORM_LIST_LIMIT, AlertLine, EscalationLine, IssueMessageView
from storage.models import EscalationStatus
from storage.repositories import AlertRepository, IssueRepository
from storage.repositories_escalations import EscalationRepository


async def load_issue_view(
    session: AsyncSession,
    issue_id: int,
    *,
    key_labels: Sequence[str],
    has_runbook: Callable[[Sequence[Mapping[str, str]]], bool] | None = None,
    find_article: Callable[[str, str], tuple[str, str | None] | None] | None = None,
    team_name: Callable[[str], str] | None = None,
) -> IssueMessageView | None:
    """`has_runbook` (auto-fix's runbook matcher) decides whether the Auto-fix button is offered;
    `find_article(alertname, title)` (the knowledge base) names the article to read, as (title, url);
    `team_name` (the escalation teams) turns on the line saying who the issue is escalated to."""
    issue = await IssueRepository(session).get(issue_id)
    if issue is None:
        return None
    alerts_repo = AlertRepository(session)
    alerts = await alerts_repo.list_for_issue(issue_id, limit=STORM_LIST_LIMIT)
    total, firing = await alerts_repo.count_for_issue(issue_id)
    lines = [
        AlertLine(
            alertname=alert.alertname,
            status=alert.status,
            labels=alert.labels,
            annotations=alert.annotations,
            starts_at=alert.starts_at,
            generator_url=alert.generator_url,
            times_fired=alert.times_fired,
            last_seen_at=alert.last_seen_at,
            source=alert.source,
        )
        for alert in alerts
    ]
    escalations: list[EscalationLine] = []
    if team_name is not None:
        in_play = await EscalationRepository(session).list_for_issue(
            issue_id, statuses=(EscalationStatus.ACTIVE, EscalationStatus.ACKNOWLEDGED)
        )
        latest = {escalation.team: escalation for escalation in in_play}  # ordered by id: the newest level wins
        escalations = [
            EscalationLine(team_name(e.team), e.level, e.acknowledged_by if e.status == EscalationStatus.ACKNOWLEDGED else None)
            for e in latest.values()
        ]
    return IssueMessageView(
        issue=issue,
        alerts=lines,
        alert_count=total,
        firing_count=firing,
        key_labels=tuple(key_labels),
        autofix_available=bool(has_runbook and lines and has_runbook([line.labels for line in lines])),
        kb_article=find_article(lines[0].alertname, issue.title) if find_article and lines else None,
        escalations=escalations,
    )
