"""KPI readings over a window of time, from the configured Prometheus-compatible source.

A window `[start, end)` becomes one instant query per KPI, evaluated at the window's end with
`$__range` set to its length, so `avg_over_time(x[$__range])` covers exactly the window. A window
that has ended is evaluated one millisecond before its end (range selectors include both edges: a
sample exactly at midnight belongs to the next day, not to both); a window still running is
evaluated at the bot's clock, never at the server's idea of now.

Queries run concurrently, a few at a time. Whatever happens, a reading comes back: values that
could not be had are None, with the reason (`errors` per KPI for refused queries, `unavailable`
once for a source that cannot be reached).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable, Mapping, Sequence

from handlers.performance.prometheus import PrometheusClient, PrometheusError, QueryRejected, SourceUnavailable
from handlers.performance.settings import Kpi
from storage.models import utcnow

log = logging.getLogger(__name__)

EDGE = timedelta(milliseconds=1)
CHECK_RANGE_SECONDS = 300  # what `$__range` is when the queries are checked at start-up


@dataclass(frozen=True)
class Window:
    """`[start, end)`, the part of a period that has data: a running period ends at the clock."""

    start: datetime
    end: datetime
    running: bool = False  # the end is the clock's now, not the period's end

    @classmethod
    def of(cls, start: datetime, end: datetime, now: datetime) -> "Window":
        if end > now:
            return cls(start, max(start, now), running=True)
        return cls(start, end)

    @property
    def evaluated_at(self) -> datetime:
        return self.end if self.running else self.end - EDGE

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def empty(self) -> bool:
        return self.seconds <= 0


def render_query(query: str, seconds: float) -> str:
    """Fill in `$__range_s` (seconds) and `$__range` (a PromQL duration, whole milliseconds)."""
    milliseconds = max(1, round(seconds * 1000))
    return query.replace("$__range_s", repr(milliseconds / 1000)).replace("$__range", f"{milliseconds}ms")


@dataclass(frozen=True)
class Readings:
    """KPI key -> value (None: no data), the refused queries' reasons, and why the source failed, if it did."""

    values: Mapping[str, float | None]
    errors: Mapping[str, str] = field(default_factory=dict)
    unavailable: str | None = None

    def get(self, key: str) -> float | None:
        return self.values.get(key)


class KpiSource:
    """The KPIs' source: None as client when PROMETHEUS_URL is not set (every reading says so)."""

    NOT_CONFIGURED = "no KPI source is configured (set PROMETHEUS_URL)"

    def __init__(
        self,
        client: PrometheusClient | None,
        kpis: Sequence[Kpi],
        *,
        max_concurrent: int = 8,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.client = client
        self.kpis = list(kpis)
        self._by_key = {kpi.key: kpi for kpi in self.kpis}
        self._limit = asyncio.Semaphore(max_concurrent)
        self._clock = clock

    @property
    def configured(self) -> bool:
        return self.client is not None

    @property
    def name(self) -> str:
        return f"Prometheus at {self.client.base_url}" if self.client is not None else "no KPI source"

    def problem(self, unavailable: str | None) -> str | None:
        """A reading's `unavailable` as a report says it, naming the source that failed."""
        if unavailable is None or not self.configured:
            return unavailable
        return f"{self.name} failed: {unavailable}"

    def kpi(self, key: str) -> Kpi | None:
        return self._by_key.get(key)

    def now(self) -> datetime:
        return self._clock()

    async def read(self, window: Window, keys: Iterable[str] | None = None) -> Readings:
        kpis = self.kpis if keys is None else [self._by_key[key] for key in keys if key in self._by_key]
        if self.client is None:
            return Readings({kpi.key: None for kpi in kpis}, unavailable=self.NOT_CONFIGURED)
        if window.empty:
            return Readings({kpi.key: None for kpi in kpis})
        outcomes = await asyncio.gather(*(self._one(kpi, window) for kpi in kpis))
        values: dict[str, float | None] = {}
        errors: dict[str, str] = {}
        unavailable = None
        for kpi, (value, problem) in zip(kpis, outcomes):
            values[kpi.key] = value
            if isinstance(problem, SourceUnavailable):
                unavailable = unavailable or str(problem)
            elif problem is not None:
                errors[kpi.key] = str(problem)
        return Readings(values, errors, unavailable)

    async def _one(self, kpi: Kpi, window: Window) -> tuple[float | None, PrometheusError | None]:
        assert self.client is not None
        try:
            async with self._limit:
                samples = await self.client.query(render_query(kpi.query, window.seconds), window.evaluated_at)
        except PrometheusError as error:
            return None, error
        if len(samples) > 1:
            return None, QueryRejected(f"the query returned {len(samples)} series; aggregate it to one (max, avg, sum)")
        return (samples[0].value if samples else None), None

    async def check(self) -> list[str]:
        """Run every KPI's query once over the last few minutes: one line per problem, naming the KPI."""
        if self.client is None:
            return []
        now = self._clock()
        window = Window(now - timedelta(seconds=CHECK_RANGE_SECONDS), now, running=True)
        readings = await self.read(window)
        if readings.unavailable:
            return [f"KPI source {self.name}: {readings.unavailable}"]
        problems = []
        for key, message in readings.errors.items():
            kpi = self._by_key[key]
            problems.append(f"KPI {key} ({kpi.name}): the query was refused: {message}")
        return problems
