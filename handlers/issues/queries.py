"""Reading the issue log (part of IssueService): lists, one issue's timeline, the App Home overview, and
pages for the CSV export.

Reads only, each in its own short session: on SQLite the pool holds one connection, so nothing here
keeps a session open while Slack is being called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import AsyncIterator, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.vocabulary import Category, Priority
from handlers.issues.log import LIST_HINT
from handlers.periods import Period, day_period
from storage.models import OPEN_STATUSES, Issue, IssueEvent, IssueStatus, SlackMessage
from storage.repositories.slack import SlackMessageRepository
from storage.repositories.issue import IssueCriteria, IssueLogRepository, IssueRepository

TIMELINE_LIMIT = 40
HOME_MINE_LIMIT = 10
PRIORITY_ORDER = (Priority.HIGH, Priority.MEDIUM, Priority.LOW)


class StatusScope(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


_SCOPE_STATUSES = {
    StatusScope.OPEN: tuple(OPEN_STATUSES),
    StatusScope.RESOLVED: (IssueStatus.RESOLVED, IssueStatus.CLOSED),
    StatusScope.ALL: (),
}


@dataclass(frozen=True)
class IssueFilter:
    """What `/issue list` asked for; `words()` writes it back as command text (for the "more" button)."""

    scope: StatusScope = StatusScope.OPEN
    mine: bool = False
    priorities: tuple[Priority, ...] = ()
    categories: tuple[Category, ...] = ()

    def criteria(self, viewer: str) -> IssueCriteria:
        return IssueCriteria(
            statuses=tuple(str(status) for status in _SCOPE_STATUSES[self.scope]),
            owner=viewer if self.mine else None,
            priorities=tuple(str(priority) for priority in self.priorities),
            categories=tuple(str(category) for category in self.categories),
        )

    def words(self) -> str:
        parts = [self.scope.value] + (["mine"] if self.mine else [])
        parts += [priority.value.lower() for priority in self.priorities]
        parts += [category.value for category in self.categories]
        return " ".join(parts)

    def describe(self) -> str:
        """For people: "open High database issues reported by or assigned to you"."""
        scope = "" if self.scope is StatusScope.ALL else f"{self.scope.value} "
        priorities = "/".join(priority.value for priority in self.priorities)
        categories = "/".join(category.value for category in self.categories)
        text = " ".join(part for part in (f"{scope}{priorities}".strip(), categories, "issues") if part)
        return text + (" reported by or assigned to you" if self.mine else "")


@dataclass(frozen=True)
class IssuePage:
    issues: Sequence[Issue]
    total: int
    offset: int
    limit: int

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.offset - len(self.issues))


@dataclass(frozen=True)
class IssueTimeline:
    issue: Issue
    events: Sequence[IssueEvent]
    earlier: int  # older events left out
    message: SlackMessage | None


@dataclass(frozen=True)
class PriorityGroup:
    priority: Priority
    count: int
    newest: Sequence[Issue]


@dataclass(frozen=True)
class DayCounts:
    period: Period
    opened: int
    resolved: int
    open_now: int


@dataclass(frozen=True)
class HomeOverview:
    viewer: str
    mine: Sequence[Issue]
    mine_total: int
    team: Sequence[PriorityGroup]
    today: DayCounts
    generated_at: datetime


@dataclass(frozen=True)
class ExportIssue:
    """One CSV row's worth: the issue and its comments."""

    issue: Issue
    comments: Sequence[IssueEvent] = field(default_factory=tuple)


class IssueQueriesMixin:
    """IssueService's reads. IssueService (service.py) sets the attributes declared here; `_reader` is
    the read-only sessionmaker (extra connections on SQLite, so no read waits behind the writer)."""

    _reader: async_sessionmaker[AsyncSession]
    _clock: Callable[[], datetime]

    def now(self) -> datetime:
        return self._clock()

    async def list_issues(
        self, issue_filter: IssueFilter, viewer: str, *, offset: int = 0, limit: int = 20
    ) -> IssuePage:
        criteria = issue_filter.criteria(viewer)
        async with self._reader() as session:
            log = IssueLogRepository(session)
            issues = await log.list_newest(criteria, offset=offset, limit=limit)
            total = await log.count(criteria)
        return IssuePage(issues=issues, total=total, offset=offset, limit=limit)

    async def timeline(self, issue_id: int, *, limit: int = TIMELINE_LIMIT) -> IssueTimeline:
        async with self._reader() as session:
            issue = await IssueRepository(session).require(issue_id, hint=LIST_HINT)
            events, earlier = await IssueLogRepository(session).newest_events(issue_id, limit=limit)
            message = await SlackMessageRepository(session).get_for_issue(issue_id)
        return IssueTimeline(issue=issue, events=events, earlier=earlier, message=message)

    async def home(self, viewer: str, *, tz: tzinfo, per_priority: int = 3) -> HomeOverview:
        """The viewer's open issues, the team's open issues by priority, and today's counts in `tz`."""
        now = self._clock()
        today = day_period(now.astimezone(tz).date(), tz)
        open_statuses = tuple(str(status) for status in OPEN_STATUSES)
        async with self._reader() as session:
            log = IssueLogRepository(session)
            mine_criteria = IssueCriteria(statuses=open_statuses, owner=viewer)
            mine = await log.list_newest(mine_criteria, offset=0, limit=HOME_MINE_LIMIT)
            mine_total = await log.count(mine_criteria)
            counts = await log.count_open_by_priority()
            team = []
            for priority in PRIORITY_ORDER:
                newest: Sequence[Issue] = ()
                if per_priority and counts.get(priority.value):
                    criteria = IssueCriteria(statuses=open_statuses, priorities=(priority.value,))
                    newest = await log.list_newest(criteria, offset=0, limit=per_priority)
                team.append(PriorityGroup(priority, counts.get(priority.value, 0), newest))
            day = DayCounts(
                period=today,
                opened=await log.count_reported_between(today.start, today.end),
                resolved=await log.count_resolved_between(today.start, today.end),
                open_now=sum(counts.values()),
            )
        return HomeOverview(viewer=viewer, mine=mine, mine_total=mine_total, team=team, today=day, generated_at=now)

    async def export_pages(self, period: Period, *, page_size: int = 500) -> AsyncIterator[list[ExportIssue]]:
        """Issues reported in the period with their comments, a page per short read, oldest first."""
        after_id = 0
        while True:
            async with self._reader() as session:
                log = IssueLogRepository(session)
                issues = list(await log.reported_page(period.start, period.end, after_id=after_id, limit=page_size))
                comments = await log.comments_for([issue.id for issue in issues])
            if not issues:
                return
            yield [ExportIssue(issue, comments.get(issue.id, ())) for issue in issues]
            if len(issues) < page_size:
                return
            after_id = issues[-1].id
