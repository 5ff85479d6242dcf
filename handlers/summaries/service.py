"""Summaries for managers: the period's figures, the previous period's, trends, the chart's series.

One read-only session per summary; every figure is an aggregate (storage/repositories/summaries.py), so
a month over a million issues stays well under a second on SQLite (bench/summary_1m.py).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import date, datetime, time as time_of_day, timedelta, timezone, tzinfo
from typing import Callable, Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.summaries.settings import ReportSettings
from core.calendar import next_month
from handlers.periods import Period, parse_period, previous_period
from handlers.summaries.chart import render_chart
from storage.repositories.summaries import FigureQueries, PeriodFigures, SeriesPoint, series
from handlers.summaries.rendering import SUMMARY_TEMPLATE, RenderedReport, ReportTemplates
from handlers.summaries.trends import Trend, compare
from storage.models import utcnow

DEFAULT_PERIOD = "today"
MIN_CHART_DAYS = 7  # a one-day summary still charts the week that ends with it
MAX_DAILY_BARS = 62
MAX_WEEKLY_BARS = 62


@dataclass(frozen=True)
class Summary:
    period: Period
    previous: Period
    current: PeriodFigures
    before: PeriodFigures
    trends: Mapping[str, Trend]
    series: Sequence[SeriesPoint]
    series_unit: str  # day, week or month per bar
    targets: Mapping[str, int]  # priority -> seconds
    generated_at: datetime
    timings: Mapping[str, float]  # seconds per figure, for the benchmark


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time_of_day(0, 0), tzinfo=tz).astimezone(timezone.utc)


def chart_buckets(period: Period) -> tuple[list[tuple[datetime, datetime]], str]:
    """Calendar days of the period in its zone (at least the week ending with it); weeks or months when long."""
    last = period.last_day
    first = min(period.first_day, last - timedelta(days=MIN_CHART_DAYS - 1))
    days = (last - first).days + 1
    edges: list[date]
    if days <= MAX_DAILY_BARS:
        unit, edges = "day", [first + timedelta(days=n) for n in range(days + 1)]
    elif days <= MAX_WEEKLY_BARS * 7:
        unit, edges = "week", [first + timedelta(days=n) for n in range(0, days, 7)] + [last + timedelta(days=1)]
    else:
        unit, edges = "month", [first]
        while (following := next_month(edges[-1])) <= last:
            edges.append(following)
        edges.append(last + timedelta(days=1))
    return [(_midnight(a, period.tz), _midnight(b, period.tz)) for a, b in zip(edges, edges[1:])], unit


class SummaryService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: ReportSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._clock = clock
        self._templates = ReportTemplates(settings.templates_dir)  # loads (and checks) templates at start-up
        self._targets = {
            priority.value: int(target.total_seconds()) for priority, target in settings.sla_targets.items()
        }
        self._chart_lock = asyncio.Lock()  # matplotlib is not thread-safe: one chart at a time per process

    @property
    def tz(self) -> tzinfo:
        return self._settings.tz

    def parse_period(self, text: str | None) -> Period:
        """The period the command names, in the team's zone; raises InvalidInput with the accepted forms."""
        return parse_period(text, self._clock(), self.tz, default=DEFAULT_PERIOD)

    async def summarize(self, period: Period, *, session: AsyncSession | None = None) -> Summary:
        if session is not None:
            return await self._summarize(session, period)
        async with self._sessionmaker() as own:
            return await self._summarize(own, period)

    async def _summarize(self, session: AsyncSession, period: Period) -> Summary:
        now = self._clock()
        previous = previous_period(period)
        timings: dict[str, float] = {}
        figures: list[PeriodFigures] = []
        for label, which in (("", period), ("previous.", previous)):
            queries = FigureQueries(
                session, which.start, which.end, as_of=now, targets=self._targets, top_alerts=self._settings.top_alerts
            )
            figures.append(await queries.compute())
            timings.update({label + name: seconds for name, seconds in queries.timings.items()})
        buckets, unit = chart_buckets(period)
        started = time.perf_counter()
        points = await series(session, buckets)
        timings["chart_series"] = time.perf_counter() - started
        current, before = figures
        return Summary(
            period=period,
            previous=previous,
            current=current,
            before=before,
            trends=compare(current, before),
            series=points,
            series_unit=unit,
            targets=self._targets,
            generated_at=now,
            timings=timings,
        )

    def render(self, summary: Summary, *, template: str = SUMMARY_TEMPLATE) -> RenderedReport:
        return self._templates.render(
            template,
            {
                "period": summary.period,
                "previous": summary.previous,
                "cur": summary.current,
                "prev": summary.before,
                "trend": summary.trends,
                "targets": summary.targets,
                "generated_at": summary.generated_at,
            },
        )

    def chart_title(self, summary: Summary) -> str:
        return f"Issues opened and resolved per {summary.series_unit}, with MTTR ({summary.period.label})"

    async def chart(self, summary: Summary) -> bytes:
        """The PNG, rendered in a worker thread: matplotlib takes tens of milliseconds the loop must not lose."""
        async with self._chart_lock:
            return await asyncio.to_thread(
                render_chart, summary.series, title=self.chart_title(summary), tz=self.tz, unit=summary.series_unit
            )
