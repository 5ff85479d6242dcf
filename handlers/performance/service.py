"""The performance report: KPIs against targets and the previous period, the period's issues, the adjustments.

One report = the KPI readings of the period and of the one before (concurrent queries, no database
session held meanwhile), then one short read-only session for the issue log and the adjustments
log, then the KPI change since each adjustment that names a KPI. A failed source never stops a
report: the KPI rows say "no data" and one line says what failed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.performance.chart import render_kpi_chart
from handlers.performance.evaluation import KpiRow, evaluate, format_change, format_value
from handlers.performance.kpis import KpiSource, Readings, Window
from handlers.performance.rendering import REPORT_TEMPLATE, PerformanceTemplates
from handlers.performance.settings import PerformanceSettings
from handlers.periods import Period, parse_period, previous_period
from storage.models import IssueStatus, utcnow
from storage.models.performance import Adjustment
from storage.repositories.performance import AdjustmentRepository, PeriodIssueRepository

DEFAULT_PERIOD = "today"
MAX_EFFECT_WINDOW = timedelta(days=7)  # "since the change": at most the week after, against the week before
MIN_EFFECT_WINDOW = timedelta(minutes=10)  # less is too early to tell


@dataclass(frozen=True)
class IssueLine:
    """One row of "Identified issues & actions taken"."""

    id: int
    title: str
    priority: str
    reported_at: datetime
    resolved: bool
    resolved_at: datetime | None
    action: str  # the resolution, else the latest action on the timeline, else ""
    action_by: str | None


@dataclass(frozen=True)
class KpiEffect:
    """A KPI before an adjustment and since it (equal lengths of time)."""

    kpi_name: str
    before: str
    after: str
    change: str | None  # "−120 ms"; None when either side has no data
    too_early: bool = False


@dataclass(frozen=True)
class AdjustmentLine:
    id: int
    made_at: datetime
    made_by: str
    area: str
    change: str
    expected_impact: str
    follow_up_on: date | None
    effect: KpiEffect | None


@dataclass(frozen=True)
class PerformanceReport:
    period: Period
    previous: Period
    rows: Sequence[KpiRow]
    source: str  # "Prometheus at http://..."
    source_problem: str | None  # why there are no figures: "Prometheus at http://... failed: ...", or no source
    query_problems: Sequence[tuple[str, str]]  # (KPI name, why its query was refused)
    issues: Sequence[IssueLine]
    issues_total: int
    adjustments: Sequence[AdjustmentLine]
    generated_at: datetime

    @property
    def has_figures(self) -> bool:
        return any(row.value is not None for row in self.rows)

    def row(self, key: str) -> KpiRow | None:
        return next((row for row in self.rows if row.kpi.key == key), None)


def kpi_rows(source: KpiSource, current: Readings, before: Readings, *, days: int) -> list[KpiRow]:
    return [
        evaluate(kpi, current.get(kpi.key), before.get(kpi.key), days=days, error=current.errors.get(kpi.key))
        for kpi in source.kpis
    ]


class PerformanceReports:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        source: KpiSource,
        settings: PerformanceSettings,
        templates: PerformanceTemplates,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.source = source
        self._settings = settings
        self.templates = templates
        self.tz = templates.tz
        self._clock = clock
        self._chart_lock = asyncio.Lock()  # matplotlib is not thread-safe: one chart at a time per process

    def parse_period(self, text: str | None) -> Period:
        return parse_period(text, self._clock(), self.tz, default=DEFAULT_PERIOD)

    async def report(self, period: Period) -> PerformanceReport:
        now = self._clock()
        previous = previous_period(period)
        current, before = await asyncio.gather(
            self.source.read(Window.of(period.start, period.end, now)),
            self.source.read(Window.of(previous.start, previous.end, now)),
        )
        async with self._sessionmaker() as session:
            issues, total = await self._issues(session, period)
            adjustments = await AdjustmentRepository(session).list_for_report(
                period.start, period.end, period.first_day, limit=self._settings.adjustments_shown
            )
        effects = await asyncio.gather(*(self.effect_of(adjustment, min(period.end, now)) for adjustment in adjustments))
        problem = self.source.problem(current.unavailable or before.unavailable)
        refused = [(kpi.name, current.errors[kpi.key]) for kpi in self.source.kpis if kpi.key in current.errors]
        return PerformanceReport(
            period=period,
            previous=previous,
            rows=kpi_rows(self.source, current, before, days=period.days),
            source=self.source.name,
            source_problem=problem,
            query_problems=[] if problem else refused,
            issues=issues,
            issues_total=total,
            adjustments=[adjustment_line(a, effect) for a, effect in zip(adjustments, effects)],
            generated_at=now,
        )

    async def _issues(self, session: AsyncSession, period: Period) -> tuple[list[IssueLine], int]:
        repository = PeriodIssueRepository(session)
        issues, total = await repository.list_reported(period.start, period.end, limit=self._settings.issues_shown)
        actions = await repository.latest_actions([issue.id for issue in issues])
        lines = []
        for issue in issues:
            resolved = issue.status in (IssueStatus.RESOLVED, IssueStatus.CLOSED)
            latest = actions.get(issue.id)
            if issue.resolution:
                action, by = issue.resolution, issue.resolved_by
            elif latest is not None:
                action, by = latest.summary or latest.kind.replace("_", " "), latest.actor
            else:
                action, by = "", None
            lines.append(
                IssueLine(
                    issue.id, issue.title, issue.priority, issue.reported_at, resolved,
                    issue.resolved_at if resolved else None, action, by,
                )
            )
        return lines, total

    async def effect_of(self, adjustment: Adjustment, until: datetime) -> KpiEffect | None:
        """The adjustment's KPI since it was made against the same length of time just before."""
        kpi = self.source.kpi(adjustment.kpi) if adjustment.kpi else None
        if kpi is None:
            return None
        length = min(until - adjustment.made_at, MAX_EFFECT_WINDOW)
        if length < MIN_EFFECT_WINDOW or not self.source.configured:
            return KpiEffect(kpi.name, "", "", None, too_early=length < MIN_EFFECT_WINDOW)
        now = self._clock()
        made = adjustment.made_at
        before, after = await asyncio.gather(
            self.source.read(Window.of(made - length, made, now), [kpi.key]),
            self.source.read(Window.of(made, made + length, now), [kpi.key]),
        )
        was, since = before.get(kpi.key), after.get(kpi.key)
        change = format_change(kpi, since - was) if was is not None and since is not None else None
        return KpiEffect(kpi.name, format_value(kpi, was), format_value(kpi, since), change)

    def sections(self, report: PerformanceReport) -> dict[str, str]:
        """The report's prose, section by section (handlers/performance/templates/performance.mrkdwn.j2)."""
        return self.templates.sections(
            REPORT_TEMPLATE, {"report": report, "period": report.period, "previous": report.previous}
        )

    def chart_title(self, report: PerformanceReport) -> str:
        return f"KPIs against their targets ({report.period.label})"

    async def chart(self, report: PerformanceReport) -> bytes:
        async with self._chart_lock:
            return await asyncio.to_thread(render_kpi_chart, report.rows, title=self.chart_title(report))


def adjustment_line(adjustment: Adjustment, effect: KpiEffect | None) -> AdjustmentLine:
    return AdjustmentLine(
        id=adjustment.id,
        made_at=adjustment.made_at,
        made_by=adjustment.made_by,
        area=adjustment.area,
        change=adjustment.change,
        expected_impact=adjustment.expected_impact,
        follow_up_on=adjustment.follow_up_on,
        effect=effect,
    )
