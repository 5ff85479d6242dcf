"""The SQL behind every figure of a summary: aggregates over indexed time ranges, one pass each.

Every query reads a half-open range `[start, end)` of one indexed timestamp and the columns the
covering indexes of migration 0003 carry, so SQLite and PostgreSQL answer from the index; p90s are
nearest-rank (`ORDER BY value LIMIT 1 OFFSET ceil(0.9 n) - 1`), which both dialects run the same way.
Definitions (also shown under each report):

- logged: issues reported in the period; by priority, category and source.
- resolved, MTTR: issues whose resolution falls in the period, and their time from report to resolution.
- MTTA: time from report to first acknowledgement, of the issues reported in the period.
- open: issues open when the period ends (or now, for a period still running).
- past target: resolved in the period later than their priority's target, plus open at the end and
  already older than it.
- first-contact resolution: resolved in the period with no escalation and never reopened.
- auto-fix success: verified runs / finished runs (verified, failed or unverified) started in the period.
- satisfaction: mean of the three survey answers (1-5); response rate: answered / sent in the period.
- self-service: knowledge-base questions marked "solved" / questions asked in the period.
- recurring alerts: alerts seen in the period, by alertname: times fired and issues they opened.
- minor/complex, minor fixed without a human, escalated: see issue_classes.py.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from sqlalchemy import Integer, and_, case, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    OPEN_STATUSES,
    Alert,
    Escalation,
    Issue,
    IssueEvent,
    KbQuestion,
    QuestionOutcome,
    RunbookRun,
    RunbookRunStatus,
    SurveyResponse,
    SurveyStatus,
    UTCDateTime,
)
from storage.repositories.issue_classes import class_figures

FINISHED_RUNS = (RunbookRunStatus.VERIFIED, RunbookRunStatus.FAILED, RunbookRunStatus.UNVERIFIED)
REOPENED_EVENT = "reopened"


@dataclass(frozen=True)
class AlertRecurrence:
    alertname: str
    fired: int
    issues: int


@dataclass(frozen=True)
class PeriodFigures:
    logged: int = 0
    resolved: int = 0
    open_at_end: int = 0
    by_priority: Mapping[str, int] = field(default_factory=dict)  # most first
    by_category: Mapping[str, int] = field(default_factory=dict)
    by_source: Mapping[str, int] = field(default_factory=dict)
    acknowledged: int = 0
    mtta_seconds: float | None = None
    mtta_p90_seconds: int | None = None
    mttr_seconds: float | None = None
    mttr_p90_seconds: int | None = None
    resolved_late: int = 0
    open_overdue: int = 0
    first_contact: int = 0
    autofix_runs: int = 0
    autofix_finished: int = 0
    autofix_verified: int = 0
    escalations: int = 0
    escalations_by_team: Mapping[str, int] = field(default_factory=dict)
    surveys_sent: int = 0
    surveys_answered: int = 0
    helpful: float | None = None
    speed: float | None = None
    professional: float | None = None
    kb_asked: int = 0
    kb_solved: int = 0
    top_alerts: Sequence[AlertRecurrence] = ()
    by_class: Mapping[str, int] = field(default_factory=dict)  # minor/complex (storage/repositories/issue_classes.py)
    opened_minor: int = 0
    minor_fixed_unaided: int = 0
    escalated_issues: int = 0

    @property
    def past_target(self) -> int:
        return self.resolved_late + self.open_overdue

    @property
    def autofix_success_rate(self) -> float | None:
        return _ratio(self.autofix_verified, self.autofix_finished)

    @property
    def response_rate(self) -> float | None:
        return _ratio(self.surveys_answered, self.surveys_sent)

    @property
    def satisfaction(self) -> float | None:
        scores = [self.helpful, self.speed, self.professional]
        return None if None in scores else sum(scores) / 3  # type: ignore[arg-type]

    @property
    def first_contact_rate(self) -> float | None:
        return _ratio(self.first_contact, self.resolved)

    @property
    def self_service_rate(self) -> float | None:
        return _ratio(self.kb_solved, self.kb_asked)

    @property
    def minor_unaided_rate(self) -> float | None:
        return _ratio(self.minor_fixed_unaided, self.opened_minor)

    @property
    def escalated_rate(self) -> float | None:
        return _ratio(self.escalated_issues, self.logged)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _most_first(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def _late(targets: Mapping[str, int]) -> Any:
    """Resolved later than the priority's target (priorities without a target are never late)."""
    if not targets:
        return literal(False)
    return or_(*(and_(Issue.priority == p, Issue.resolution_seconds > s) for p, s in targets.items()))


def _overdue(targets: Mapping[str, int], as_of: datetime) -> Any:
    """Still open at `as_of` and reported longer than the priority's target before it."""
    if not targets:
        return literal(False)
    return or_(
        *(and_(Issue.priority == p, Issue.reported_at < as_of - timedelta(seconds=s)) for p, s in targets.items())
    )


async def _nearest_rank(session: AsyncSession, column: Any, where: Sequence[Any], n: int, percent: int) -> int | None:
    """The nearest-rank percentile of the `n` non-null values: the ceil(percent/100 * n)-th smallest."""
    if n == 0:
        return None
    rank = -(-percent * n // 100)  # ceil in integers
    query = select(column).where(*where, column.is_not(None)).order_by(column).limit(1).offset(max(0, rank - 1))
    value = (await session.execute(query)).scalar_one_or_none()
    return None if value is None else int(value)


class FigureQueries:
    """One period's figures; `timings` records seconds per figure (bench/summary_1m.py prints them)."""

    def __init__(
        self,
        session: AsyncSession,
        start: datetime,
        end: datetime,
        *,
        as_of: datetime,
        targets: Mapping[str, int],
        top_alerts: int = 5,
    ) -> None:
        self.session, self.start, self.end, self.as_of = session, start, end, min(end, as_of)
        self.targets, self.top_alerts = dict(targets), top_alerts
        self.timings: dict[str, float] = {}
        self._timed_resolutions = 0

    async def compute(self) -> PeriodFigures:
        values: dict[str, Any] = {}
        for name, query in (
            ("volume", self.volume),
            ("mtta_p90", self.mtta_p90),
            ("resolution", self.resolution),
            ("mttr_p90", self.mttr_p90),
            ("first_contact", self.first_contact),
            ("open", self.open_at_end),
            ("autofix", self.autofix),
            ("escalations", self.escalations),
            ("surveys", self.surveys),
            ("knowledge_base", self.knowledge_base),
            ("top_alerts", self.recurring_alerts),
            ("classes", lambda _: class_figures(self.session, self.start, self.end)),
        ):
            started = time.perf_counter()
            values.update(await query(values))
            self.timings[name] = time.perf_counter() - started
        return PeriodFigures(**values)

    def _reported(self) -> tuple[Any, ...]:
        return (Issue.reported_at >= self.start, Issue.reported_at < self.end)

    def _resolved(self) -> tuple[Any, ...]:
        return (Issue.resolved_at >= self.start, Issue.resolved_at < self.end)

    async def volume(self, _: dict[str, Any]) -> dict[str, Any]:
        """Logged, the three breakdowns and MTTA's count and sum in one pass over the reported range."""
        query = (
            select(
                Issue.priority, Issue.category, Issue.source,
                func.count(), func.count(Issue.ack_seconds), func.coalesce(func.sum(Issue.ack_seconds), 0),
            )
            .where(*self._reported())
            .group_by(Issue.priority, Issue.category, Issue.source)
        )
        priority, category, source = Counter[str](), Counter[str](), Counter[str]()
        logged = acknowledged = ack_total = 0
        for row in await self.session.execute(query):
            count = int(row[3])
            priority[row[0]] += count
            category[row[1]] += count
            source[row[2]] += count
            logged += count
            acknowledged += int(row[4])
            ack_total += int(row[5])
        return {
            "logged": logged,
            "by_priority": _most_first(priority),
            "by_category": _most_first(category),
            "by_source": _most_first(source),
            "acknowledged": acknowledged,
            "mtta_seconds": ack_total / acknowledged if acknowledged else None,
        }

    async def mtta_p90(self, values: dict[str, Any]) -> dict[str, Any]:
        p90 = await _nearest_rank(self.session, Issue.ack_seconds, self._reported(), values["acknowledged"], 90)
        return {"mtta_p90_seconds": p90}

    async def resolution(self, _: dict[str, Any]) -> dict[str, Any]:
        query = select(
            func.count(),
            func.count(Issue.resolution_seconds),
            func.coalesce(func.sum(Issue.resolution_seconds), 0),
            func.coalesce(func.sum(case((_late(self.targets), 1), else_=0)), 0),
        ).where(*self._resolved())
        resolved, timed, total, late = (await self.session.execute(query)).one()
        self._timed_resolutions = int(timed)
        return {
            "resolved": int(resolved),
            "mttr_seconds": int(total) / int(timed) if timed else None,
            "resolved_late": int(late),
        }

    async def mttr_p90(self, _: dict[str, Any]) -> dict[str, Any]:
        p90 = await _nearest_rank(self.session, Issue.resolution_seconds, self._resolved(), self._timed_resolutions, 90)
        return {"mttr_p90_seconds": p90}

    async def first_contact(self, _: dict[str, Any]) -> dict[str, Any]:
        escalated = select(Escalation.issue_id)
        reopened = select(IssueEvent.issue_id).where(IssueEvent.kind == REOPENED_EVENT)
        query = select(func.count()).where(*self._resolved(), Issue.id.not_in(escalated), Issue.id.not_in(reopened))
        return {"first_contact": int((await self.session.execute(query)).scalar_one())}

    async def open_at_end(self, _: dict[str, Any]) -> dict[str, Any]:
        """Open now and reported before the end, plus resolved after the end: two small index ranges.

        Only the status (resp. resolved_at) is in WHERE; "reported before the end" is counted with
        CASE, so the planner cannot prefer the huge reported_at range (SQLite's statistics think
        a third of all issues are open).
        """
        reported = Issue.reported_at < self.as_of
        counted = func.coalesce(func.sum(case((reported, 1), else_=0)), 0)
        overdue = func.coalesce(func.sum(case((and_(reported, _overdue(self.targets, self.as_of)), 1), else_=0)), 0)
        still_open = select(counted, overdue).where(Issue.status.in_(OPEN_STATUSES))
        resolved_later = select(counted, overdue).where(Issue.resolved_at >= self.as_of)
        open_now, overdue_now = (await self.session.execute(still_open)).one()
        open_then, overdue_then = (await self.session.execute(resolved_later)).one()
        return {"open_at_end": int(open_now) + int(open_then), "open_overdue": int(overdue_now) + int(overdue_then)}

    async def autofix(self, _: dict[str, Any]) -> dict[str, Any]:
        query = select(
            func.count(),
            func.coalesce(func.sum(case((RunbookRun.status.in_(FINISHED_RUNS), 1), else_=0)), 0),
            func.coalesce(func.sum(case((RunbookRun.status == RunbookRunStatus.VERIFIED, 1), else_=0)), 0),
        ).where(
            RunbookRun.started_at >= self.start,
            RunbookRun.started_at < self.end,
            RunbookRun.status != RunbookRunStatus.REFUSED,  # refused runs executed nothing
        )
        runs, finished, verified = (await self.session.execute(query)).one()
        return {"autofix_runs": int(runs), "autofix_finished": int(finished), "autofix_verified": int(verified)}

    async def escalations(self, _: dict[str, Any]) -> dict[str, Any]:
        query = (
            select(Escalation.team, func.count())
            .where(Escalation.created_at >= self.start, Escalation.created_at < self.end)
            .group_by(Escalation.team)
        )
        teams = Counter[str]({row[0]: int(row[1]) for row in await self.session.execute(query)})
        return {"escalations": sum(teams.values()), "escalations_by_team": _most_first(teams)}

    async def surveys(self, _: dict[str, Any]) -> dict[str, Any]:
        query = select(
            func.count(),
            func.coalesce(func.sum(case((SurveyResponse.status == SurveyStatus.ANSWERED, 1), else_=0)), 0),
            func.avg(SurveyResponse.helpful),
            func.avg(SurveyResponse.speed),
            func.avg(SurveyResponse.professional),
        ).where(
            SurveyResponse.sent_at >= self.start,
            SurveyResponse.sent_at < self.end,
            SurveyResponse.status != SurveyStatus.CANCELLED,  # a reopened issue's survey was never due
        )
        sent, answered, helpful, speed, professional = (await self.session.execute(query)).one()
        as_float = lambda value: None if value is None else float(value)  # noqa: E731 - PostgreSQL gives Decimal
        return {
            "surveys_sent": int(sent),
            "surveys_answered": int(answered),
            "helpful": as_float(helpful),
            "speed": as_float(speed),
            "professional": as_float(professional),
        }

    async def knowledge_base(self, _: dict[str, Any]) -> dict[str, Any]:
        query = select(
            func.count(),
            func.coalesce(func.sum(case((KbQuestion.outcome == QuestionOutcome.SOLVED, 1), else_=0)), 0),
        ).where(KbQuestion.asked_at >= self.start, KbQuestion.asked_at < self.end)
        asked, solved = (await self.session.execute(query)).one()
        return {"kb_asked": int(asked), "kb_solved": int(solved)}

    async def recurring_alerts(self, _: dict[str, Any]) -> dict[str, Any]:
        fired = func.sum(Alert.times_fired)
        issues = func.count(func.distinct(Alert.issue_id))
        query = (
            select(Alert.alertname, fired, issues)
            .where(Alert.last_seen_at >= self.start, Alert.last_seen_at < self.end)
            .group_by(Alert.alertname)
            .order_by(fired.desc(), issues.desc(), Alert.alertname)
            .limit(self.top_alerts)
        )
        rows = await self.session.execute(query)
        return {"top_alerts": tuple(AlertRecurrence(row[0], int(row[1]), int(row[2])) for row in rows)}


@dataclass(frozen=True)
class SeriesPoint:
    """One bar of the chart: issues opened and resolved in [start, end), and their mean time to resolve."""

    start: datetime
    end: datetime
    opened: int
    resolved: int
    mttr_seconds: float | None


async def series(session: AsyncSession, buckets: Sequence[tuple[datetime, datetime]]) -> list[SeriesPoint]:
    """Opened, resolved and MTTR per bucket, two queries whatever the number of buckets.

    The buckets are a small derived table joined on the indexed timestamp, so each bucket is one
    index range; calendar days in the team's zone (DST included) are computed in Python.
    """
    if not buckets:
        return []
    rows = [
        select(
            literal(i, Integer).label("i"),
            literal(start, UTCDateTime()).label("s"),
            literal(end, UTCDateTime()).label("e"),
        )
        for i, (start, end) in enumerate(buckets)
    ]
    table = (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("buckets")
    opened_query = (
        select(table.c.i, func.count())
        .select_from(table.join(Issue, and_(Issue.reported_at >= table.c.s, Issue.reported_at < table.c.e)))
        .group_by(table.c.i)
    )
    resolved_query = (
        select(table.c.i, func.count(), func.avg(Issue.resolution_seconds))
        .select_from(table.join(Issue, and_(Issue.resolved_at >= table.c.s, Issue.resolved_at < table.c.e)))
        .group_by(table.c.i)
    )
    opened = {int(row[0]): int(row[1]) for row in await session.execute(opened_query)}
    resolved = {int(row[0]): (int(row[1]), row[2]) for row in await session.execute(resolved_query)}
    points = []
    for i, (start, end) in enumerate(buckets):
        count, mttr = resolved.get(i, (0, None))
        points.append(SeriesPoint(start, end, opened.get(i, 0), count, None if mttr is None else float(mttr)))
    return points
