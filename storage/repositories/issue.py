"""The issue log's repositories: IssueRepository (one issue or a batch of them: reading, adding, changing
state, the timeline's events) and IssueLogRepository (the queries behind lists, timelines, counts and
paged export reads).

Like every repository, they take the caller's AsyncSession and never commit. Filters are plain values
(statuses, user id, priorities, categories) so storage knows nothing of how people typed them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Collection, Mapping, Sequence

from sqlalchemy import Select, bindparam, case, func, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from storage.bulk import insert_rows
from storage.errors import NotFound
from storage.models import OPEN_STATUSES, Issue, IssueEvent, IssueStatus, utcnow

COMMENT_KIND = "comment"
RECLASSIFIED_KIND = "reclassified"  # a minor issue became complex (handlers/issues/classification.py)
CATEGORY_CHANGED_KIND = "category_changed"  # the root cause given at resolution moved the issue's category


TRANSITION_CHUNK = 500  # issues per conditional UPDATE: well within SQLite's 32,766 bound parameters
# Built once: every alert group commit runs these, and building a statement costs more than running it.
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence('issues', 'id')) FROM generate_series(1, :n)")
_HIGHEST_ID = select(func.max(Issue.id))
_RECENT_IN_GROUPS = (
    select(Issue)
    .where(Issue.group_key.in_(bindparam("group_keys", expanding=True)), Issue.reported_at >= bindparam("since"))
    .order_by(Issue.id)
)


class IssueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, issue_id: int, *, for_update: bool = False) -> Issue | None:
        query = select(Issue).where(Issue.id == issue_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def require(self, issue_id: int, *, for_update: bool = False, hint: str = "") -> Issue:
        """The issue, or NotFound saying it does not exist (and `hint`: what to try instead)."""
        issue = await self.get(issue_id, for_update=for_update)
        if issue is None:
            raise NotFound(f"Issue #{issue_id} does not exist." + (f" {hint}" if hint else ""))
        return issue

    async def transition(
        self,
        changes: Mapping[int, Mapping[str, Any]],
        *,
        from_statuses: Collection[str],
        acknowledged: bool | None = None,
    ) -> set[int]:
        """Change state: set `changes[issue_id]` (column -> value) on each issue that is still in one of
        `from_statuses` and, when `acknowledged` is given, still acknowledged (True) or not (False).

        One conditional UPDATE for the whole batch (the values that differ between issues as a CASE on
        the id), so of two concurrent changes to an issue the first wins and the other changes nothing.
        `updated_at` is set to now unless given. Returns the ids that changed. Issues this session has
        loaded are brought up to date: those changed hold the new values, the others are read again,
        so the caller can say who got there first.
        """
        stamped = {issue_id: {"updated_at": utcnow(), **values} for issue_id, values in changes.items()}
        ids = list(stamped)
        changed: set[int] = set()
        for start in range(0, len(ids), TRANSITION_CHUNK):
            chunk = ids[start : start + TRANSITION_CHUNK]
            statement = (
                update(Issue)
                .where(Issue.id.in_(chunk), Issue.status.in_([str(status) for status in from_statuses]))
                .values(_set_clause({issue_id: stamped[issue_id] for issue_id in chunk}))
                .returning(Issue.id)
                .execution_options(synchronize_session=False)
            )
            if acknowledged is not None:
                ack = Issue.acknowledged_by
                statement = statement.where(ack.is_not(None) if acknowledged else ack.is_(None))
            changed.update((await self.session.execute(statement)).scalars())
        loaded = self.session.sync_session.identity_map
        for issue_id in changed:
            issue = loaded.get(identity_key(Issue, issue_id))
            if issue is not None:
                for name, value in stamped[issue_id].items():
                    set_committed_value(issue, name, value)
        stale = [issue_id for issue_id in ids if issue_id not in changed and identity_key(Issue, issue_id) in loaded]
        if stale:
            refresh = select(Issue).where(Issue.id.in_(stale)).execution_options(populate_existing=True)
            await self.session.execute(refresh)
        return changed

    async def add(self, issue: Issue) -> Issue:
        self.session.add(issue)
        await self.session.flush()
        return issue

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert issues with one executemany and return their ids in the order of `rows`.

        Ids are allocated first (one query) so the INSERT needs no RETURNING: on SQLite the ORM
        and multi-row RETURNING would cost a statement, or a fresh compilation, per row.
        """
        if not rows:
            return []
        ids = await self._allocate_ids(len(rows))
        await insert_rows(self.session, Issue.__table__, [{**row, "id": issue_id} for row, issue_id in zip(rows, ids)])
        return ids

    async def _allocate_ids(self, count: int) -> list[int]:
        if self.session.bind.dialect.name == "postgresql":
            return sorted((await self.session.execute(_NEXT_IDS, {"n": count})).scalars())
        # SQLite: the transaction began IMMEDIATE, so it holds the write lock and max(id) cannot move.
        highest = (await self.session.execute(_HIGHEST_ID)).scalar_one() or 0
        return list(range(highest + 1, highest + 1 + count))

    async def add_events(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await insert_rows(self.session, IssueEvent.__table__, rows)

    async def find_open_group(self, group_key: str, since: datetime) -> Issue | None:
        """The grouped issue an alert storm is folding into, if one is still open and recent."""
        query = (
            select(Issue)
            .where(Issue.group_key == group_key, Issue.is_grouped.is_(True))
            .where(Issue.status.in_(OPEN_STATUSES), Issue.reported_at >= since)
            .order_by(Issue.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def count_reported_for_group(self, group_key: str, since: datetime) -> int:
        query = select(func.count()).where(Issue.group_key == group_key, Issue.reported_at >= since)
        return int((await self.session.execute(query)).scalar_one())

    async def recent_in_groups(self, group_keys: Sequence[str], since: datetime) -> list[Issue]:
        """Issues opened since `since` under any of these storm keys (one query for a whole webhook)."""
        if not group_keys:
            return []
        parameters = {"group_keys": list(group_keys), "since": since}
        return list((await self.session.execute(_RECENT_IN_GROUPS, parameters)).scalars())

    async def get_many(self, issue_ids: Sequence[int]) -> dict[int, Issue]:
        if not issue_ids:
            return {}
        query = select(Issue).where(Issue.id.in_(list(issue_ids)))
        return {issue.id: issue for issue in (await self.session.execute(query)).scalars()}

    async def add_event(
        self,
        issue_id: int,
        *,
        actor: str,
        kind: str,
        summary: str = "",
        detail: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> IssueEvent:
        event = IssueEvent(
            issue_id=issue_id, actor=actor, kind=kind, summary=summary, detail=detail or {}, at=at or utcnow()
        )
        self.session.add(event)
        return event

    async def list_events(self, issue_id: int) -> Sequence[IssueEvent]:
        query = select(IssueEvent).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.id)
        return (await self.session.execute(query)).scalars().all()


def _set_clause(changes: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """SET values for a batch: a plain value where every issue gets the same, else a CASE on the id
    (an issue without that column keeps its own value)."""
    columns = {name for values in changes.values() for name in values}
    clause: dict[str, Any] = {}
    for name in sorted(columns):
        column = getattr(Issue, name)
        given = {issue_id: values[name] for issue_id, values in changes.items() if name in values}
        distinct = {repr(value) for value in given.values()}
        if len(given) == len(changes) and len(distinct) == 1:
            clause[name] = next(iter(given.values()))
        else:
            whens = {issue_id: literal(value, type_=column.type) for issue_id, value in given.items()}
            clause[name] = case(whens, value=Issue.id, else_=column)
    return clause


@dataclass(frozen=True)
class IssueCriteria:
    """Which issues: any of `statuses` (empty: all), touching `owner`, any of `priorities`/`categories`."""

    statuses: tuple[str, ...] = ()
    owner: str | None = None  # assigned to, or reported by, this Slack user
    priorities: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


def _where(query: Select[Any], criteria: IssueCriteria) -> Select[Any]:
    if criteria.statuses:
        query = query.where(Issue.status.in_(criteria.statuses))
    if criteria.owner:
        query = query.where(or_(Issue.assignee == criteria.owner, Issue.reported_by == criteria.owner))
    if criteria.priorities:
        query = query.where(Issue.priority.in_(criteria.priorities))
    if criteria.categories:
        query = query.where(Issue.category.in_(criteria.categories))
    return query


@dataclass(frozen=True)
class RecurringIssues:
    """Issues of one alert (by name), or staff issues of one title, reported in a period (`/kb gaps`)."""

    alertname: str | None  # None for issues people reported
    title_key: str | None  # the lower-cased title, for issues people reported
    issues: int
    last_reported_at: datetime
    latest_issue_id: int


class IssueLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_newest(self, criteria: IssueCriteria, *, offset: int, limit: int) -> Sequence[Issue]:
        query = _where(select(Issue), criteria).order_by(Issue.reported_at.desc(), Issue.id.desc())
        return (await self.session.execute(query.offset(offset).limit(limit))).scalars().all()

    async def count(self, criteria: IssueCriteria) -> int:
        query = _where(select(func.count()).select_from(Issue), criteria)
        return int((await self.session.execute(query)).scalar_one())

    async def count_open_by_priority(self) -> dict[str, int]:
        query = (
            select(Issue.priority, func.count())
            .where(Issue.status.in_(OPEN_STATUSES))
            .group_by(Issue.priority)
        )
        return {priority: int(count) for priority, count in (await self.session.execute(query)).all()}

    async def count_reported_between(self, start: datetime, end: datetime) -> int:
        query = select(func.count()).where(Issue.reported_at >= start, Issue.reported_at < end)
        return int((await self.session.execute(query)).scalar_one())

    async def count_resolved_between(self, start: datetime, end: datetime) -> int:
        query = select(func.count()).where(
            Issue.resolved_at >= start,
            Issue.resolved_at < end,
            Issue.status.in_((IssueStatus.RESOLVED, IssueStatus.CLOSED)),
        )
        return int((await self.session.execute(query)).scalar_one())

    async def newest_events(self, issue_id: int, *, limit: int) -> tuple[list[IssueEvent], int]:
        """The newest `limit` events of an issue in time order, and how many older ones were left out."""
        query = select(IssueEvent).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.id.desc()).limit(limit)
        newest = list((await self.session.execute(query)).scalars())
        total = (
            await self.session.execute(select(func.count()).where(IssueEvent.issue_id == issue_id))
        ).scalar_one()
        return newest[::-1], max(0, int(total) - len(newest))

    async def comments_for(self, issue_ids: Sequence[int]) -> dict[int, list[IssueEvent]]:
        if not issue_ids:
            return {}
        query = (
            select(IssueEvent)
            .where(IssueEvent.issue_id.in_(list(issue_ids)), IssueEvent.kind == COMMENT_KIND)
            .order_by(IssueEvent.issue_id, IssueEvent.id)
        )
        grouped: dict[int, list[IssueEvent]] = {}
        for event in (await self.session.execute(query)).scalars():
            grouped.setdefault(event.issue_id, []).append(event)
        return grouped

    async def has_comment_from_message(self, issue_id: int, ts: str) -> bool:
        """Whether a thread reply (by its Slack ts) is already recorded; Slack may deliver an event twice."""
        query = select(IssueEvent.detail).where(IssueEvent.issue_id == issue_id, IssueEvent.kind == COMMENT_KIND)
        return any((detail or {}).get("ts") == ts for detail in (await self.session.execute(query)).scalars())

    async def reported_page(self, start: datetime, end: datetime, *, after_id: int, limit: int) -> Sequence[Issue]:
        """One page of issues reported in [start, end), in id order after `after_id` (keyset paging)."""
        query = (
            select(Issue)
            .where(Issue.reported_at >= start, Issue.reported_at < end, Issue.id > after_id)
            .order_by(Issue.id)
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()

    async def recurring(self, start: datetime, end: datetime, *, min_issues: int, limit: int) -> list[RecurringIssues]:
        """Alert names (from each issue's "opened" event, which keeps them when a re-firing alert's row
        moves to the newer issue) and staff issue titles with at least `min_issues` issues in
        [start, end), most issues first."""
        alertname = IssueEvent.detail["alertname"].as_string()
        per_issue = (
            select(
                Issue.id.label("id"),
                Issue.reported_at.label("reported_at"),
                alertname.label("alertname"),
                case((alertname.is_(None), func.lower(func.trim(Issue.title))), else_=None).label("title_key"),
            )
            .outerjoin(IssueEvent, (IssueEvent.issue_id == Issue.id) & (IssueEvent.kind == "opened"))
            .where(Issue.reported_at >= start, Issue.reported_at < end)
            .subquery()
        )
        issues = func.count(func.distinct(per_issue.c.id))
        last = func.max(per_issue.c.reported_at)
        query = (
            select(per_issue.c.alertname, per_issue.c.title_key, issues, last, func.max(per_issue.c.id))
            .group_by(per_issue.c.alertname, per_issue.c.title_key)
            .having(issues >= min_issues)
            .order_by(issues.desc(), last.desc())
            .limit(limit)
        )
        return [
            RecurringIssues(name, title, int(count), latest_at, int(latest_id))
            for name, title, count, latest_at, latest_id in (await self.session.execute(query)).all()
        ]
