"""What the issue message shows (the view its builder, message.py, takes) and loading it in one short read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Mapping, Protocol, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.silences.blocks import IssueHolds
from handlers.silences.views import load_holds
from storage.models import EscalationStatus, Issue
from storage.repositories.alert import AlertRepository
from storage.repositories.escalation import EscalationRepository
from storage.repositories.issue import IssueRepository

# What a sender says beyond labels and annotations, kept in the alert's annotations (a JSON column)
# under keys no rule writes: the alert parsers write them, the issue message shows them.
NOTE_KEY = "__note"  # a sentence about the alert's state ("No data", "Warn"), shown under the message
IMAGE_KEY = "__image_url"  # a graph or snapshot to show (Grafana's imageURL, Datadog's $SNAPSHOT)
GRAFANA_VALUES_KEY = "__grafana_values"  # Grafana's `values`, as "A=1, B=0.5"
GRAFANA_VALUE_STRING_KEY = "__grafana_value_string"  # Grafana's `valueString`, with each value's labels
STORM_LIST_LIMIT = 10  # alerts a grouped issue's message lists; the thread has them all


@dataclass(frozen=True)
class AlertLine:
    """One alert as the message shows it."""

    alertname: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    generator_url: str | None = None
    times_fired: int = 1
    last_seen_at: datetime | None = None
    source: str | None = None  # alertmanager, grafana, datadog, ...: names the Source button


@dataclass(frozen=True)
class EscalationLine:
    """An escalation still in play, as the message shows it."""

    team: str  # the team's display name
    level: int
    acknowledged_by: str | None = None


class OfferedRunbook(Protocol):
    """A runbook that applies to the issue's alerts, as the message offers it (handlers/autofix)."""

    @property
    def button_label(self) -> str: ...


@dataclass(frozen=True)
class IssueMessageView:
    issue: Issue
    alerts: Sequence[AlertLine] = ()
    alert_count: int = 0
    firing_count: int = 0
    key_labels: Sequence[str] = ("severity", "service", "instance", "job", "namespace")
    autofix_available: bool = False
    autofix_label: str = "Auto-fix"  # "Walk me through it" for a runbook a person walks through
    kb_article: tuple[str, str | None] | None = None  # (title, url) of the matching KB article
    extra_context: Sequence[str] = field(default_factory=tuple)
    escalations: Sequence[EscalationLine] = ()
    holds: IssueHolds | None = None  # silence and snooze (handlers/silences)


async def load_issue_view(
    session: AsyncSession,
    issue_id: int,
    *,
    key_labels: Sequence[str],
    has_runbook: Callable[[Sequence[Mapping[str, str]]], OfferedRunbook | bool | None] | None = None,
    find_article: Callable[[str, str], tuple[str, str | None] | None] | None = None,
    team_name: Callable[[str], str] | None = None,
) -> IssueMessageView | None:
    """`has_runbook` (auto-fix's runbook matcher: the runbook that applies, or None) decides whether
    the Auto-fix button is offered and what it says;
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
    runbook = has_runbook([line.labels for line in lines]) if has_runbook and lines else None
    return IssueMessageView(
        issue=issue,
        alerts=lines,
        alert_count=total,
        firing_count=firing,
        key_labels=tuple(key_labels),
        autofix_available=bool(runbook),
        autofix_label=getattr(runbook, "button_label", "Auto-fix"),
        kb_article=find_article(lines[0].alertname, issue.title) if find_article and lines else None,
        escalations=escalations,
        holds=await load_holds(session, issue, lines),
    )
