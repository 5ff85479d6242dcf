"""Recurring issues without an article: what `/kb gaps` shows beside the questions nobody could answer.

Issues are grouped by their alert's name (by title for issues people reported) over a period; a
group with enough issues is a gap when the knowledge base has nothing for it, decided the way the
issue message picks its 📖 article: an article listing the alert, else a confident match on the
alert's name and title. A draft counts: once someone has written it up, it is in `/kb drafts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.knowledge.settings import KnowledgeSettings
from handlers.periods import parse_period
from handlers.questions.loader import KnowledgeBaseLoader
from handlers.roles import Role, RoleChecker
from knowledge_base import KnowledgeBase
from storage.models import utcnow
from storage.repositories.issue import IssueLogRepository, IssueRepository, RecurringIssues

GROUPS_READ = 200  # recurring groups read per answer, most issues first, before those with articles are set aside
GAPS_SHOWN = 15


@dataclass(frozen=True)
class IssueGap:
    name: str  # the alert's name, or the latest issue's title
    from_alert: bool
    issues: int
    last_reported_at: datetime
    latest_issue_id: int


@dataclass(frozen=True)
class IssueGapReport:
    period_label: str
    min_issues: int
    gaps: list[IssueGap] = field(default_factory=list)
    covered: int = 0  # recurring groups that do have an article


class IssueGaps:
    def __init__(
        self,
        reader: async_sessionmaker[AsyncSession],
        knowledge: KnowledgeBaseLoader,
        roles: RoleChecker,
        settings: KnowledgeSettings,
        *,
        tz: tzinfo,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._reader = reader
        self._knowledge = knowledge
        self._roles = roles
        self._settings = settings
        self._tz = tz
        self._clock = clock

    async def report(self, user: str, period_text: str | None = None) -> IssueGapReport:
        """`period_text` as `/summary` takes it; none means the last `gap_days` days."""
        await self._roles.require(user, Role.MANAGER, "see recurring issues without an article")
        now = self._clock()
        if period_text:
            period = parse_period(period_text, now, self._tz)
            start, end, label = period.start, period.end, period.label
        else:
            days = self._settings.gap_days
            start, end, label = now - timedelta(days=days), now + timedelta(seconds=1), f"the last {days} days"
        async with self._reader() as session:
            groups = await IssueLogRepository(session).recurring(
                start, end, min_issues=self._settings.gap_min_issues, limit=GROUPS_READ
            )
            latest = await IssueRepository(session).get_many([group.latest_issue_id for group in groups])
        kb = await self._knowledge.get()
        gaps: list[IssueGap] = []
        for group in groups:
            issue = latest.get(group.latest_issue_id)
            title = issue.title if issue is not None else (group.title_key or "")
            if has_article(kb, group, title):
                continue
            name = group.alertname or title
            gaps.append(IssueGap(name, group.alertname is not None, group.issues, group.last_reported_at, group.latest_issue_id))
        return IssueGapReport(label, self._settings.gap_min_issues, gaps[:GAPS_SHOWN], len(groups) - len(gaps))


def has_article(kb: KnowledgeBase, group: RecurringIssues, title: str) -> bool:
    return kb.search_for_alert(alertname=group.alertname or "", title=title) is not None
