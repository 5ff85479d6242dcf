"""The KPI figures worked out from the written samples themselves, without PromQL and without opsbot.

`Samples.read(path)` parses the OpenMetrics file the test Prometheus was built from; `expected_kpis`
computes each KPI over a window of it with plain arithmetic, the way the team would by hand:

- uptime: the share of successful probes; downtime: failed probes times the scrape interval;
- page load: the mean of the probes' summed phases; network latency: the mean ICMP round trip;
- API p95: the requests each latency bucket gained in the window, and the 95th percentile found by
  linear interpolation inside its bucket (the histogram's documented reading);
- error ratios: 4xx (5xx) requests gained over all requests gained; error count: those gained,
  stretched from the first-to-last-sample span to the whole window, as `increase()` is documented
  to extrapolate when the samples reach within an interval of the window's edges;
- database query time: seconds gained over calls gained;
- CPU: the busiest 5-minute stretch (four scrape intervals) of idle time gained per CPU;
- memory and database connections: the highest sample; disk: the last sample.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

SCRAPE_MINUTES = 1
_LINE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?P<labels>[^}]*)\} (?P<value>\S+) (?P<ts>\d+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')

Point = tuple[float, float]  # (unix seconds, value)


@dataclass(frozen=True)
class Samples:
    series: dict[tuple[str, frozenset[tuple[str, str]]], list[Point]]

    @classmethod
    def read(cls, path: Path) -> "Samples":
        series: dict[tuple[str, frozenset[tuple[str, str]]], list[Point]] = defaultdict(list)
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _LINE.match(line)
            if match is None:
                continue
            labels = frozenset(_LABEL.findall(match["labels"]))
            series[(match["name"], labels)].append((float(match["ts"]), float(match["value"])))
        return cls(dict(series))

    def select(self, name: str, **labels: str) -> list[tuple[dict[str, str], list[Point]]]:
        """Every series of `name` whose labels include `labels`, sorted by time."""
        chosen = []
        for (series_name, label_set), points in self.series.items():
            found = dict(label_set)
            if series_name == name and all(found.get(k) == v for k, v in labels.items()):
                chosen.append((found, sorted(points)))
        return chosen


@dataclass(frozen=True)
class Span:
    """Samples with start <= t <= end are in; `seconds` is the window's length as the bot asks for it."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def points(self, points: list[Point]) -> list[Point]:
        return [p for p in points if self.start.timestamp() <= p[0] <= self.end.timestamp()]


def day_span(day_start: datetime, now: datetime | None = None) -> Span:
    """A calendar day seen at `now` (a running day ends at the clock; a past one just before midnight)."""
    end = day_start + timedelta(days=1)
    return Span(day_start, now) if now is not None and now < end else Span(day_start, end - timedelta(milliseconds=1))


def _gained(points: list[Point]) -> float:
    return points[-1][1] - points[0][1]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _p95(gained: dict[float, float]) -> float:
    """The 95th percentile of requests by cumulative bucket counts, interpolated inside its bucket."""
    bounds = sorted(gained)
    total = gained[bounds[-1]]
    rank = 0.95 * total
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        if gained[bound] >= rank:
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (gained[bound] - lower_count)
        lower_bound, lower_count = bound, gained[bound]
    raise AssertionError("no bucket holds the 95th percentile")


def api_p95_ms(samples: Samples, span: Span) -> float:
    gained: dict[float, float] = defaultdict(float)
    for labels, points in samples.select("http_request_duration_seconds_bucket"):
        bound = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
        gained[bound] += _gained(span.points(points))
    return 1000 * _p95(dict(gained))


def _requests(samples: Samples, span: Span, code_prefix: str = "") -> float:
    return sum(
        _gained(span.points(points))
        for labels, points in samples.select("http_request_duration_seconds_count")
        if labels["code"].startswith(code_prefix)
    )


def expected_kpis(samples: Samples, span: Span) -> dict[str, float]:
    """KPI key -> value over `span`, computed from the samples alone."""
    [(_, probe)] = samples.select("probe_success")
    probes = [value for _, value in span.points(probe)]
    phases = [span.points(points) for _, points in samples.select("probe_http_duration_seconds")]
    page_loads = [sum(values) for values in zip(*([value for _, value in points] for points in phases))]
    [(_, rtt)] = samples.select("probe_icmp_duration_seconds", phase="rtt")

    errors_4xx, errors_5xx, requests = _requests(samples, span, "4"), _requests(samples, span, "5"), _requests(samples, span)
    [(_, one_count)] = samples.select("http_request_duration_seconds_count", code="200")
    covered = span.points(one_count)
    stretch = span.seconds / (covered[-1][0] - covered[0][0])  # increase(): first-to-last span stretched to the window

    calls = sum(_gained(span.points(points)) for _, points in samples.select("pg_stat_statements_calls_total"))
    seconds = sum(_gained(span.points(points)) for _, points in samples.select("pg_stat_statements_seconds_total"))

    return {
        "uptime": 100 * _mean(probes),
        "downtime": probes.count(0.0) * SCRAPE_MINUTES,
        "page_load": _mean(page_loads),
        "api_p95": api_p95_ms(samples, span),
        "errors_4xx": 100 * errors_4xx / requests,
        "errors_5xx": 100 * errors_5xx / requests,
        "errors_total": (errors_4xx + errors_5xx) * stretch,
        "db_query": 1000 * seconds / calls,
        "cpu": _busiest_five_minutes(samples, span),
        "memory": _memory_peak(samples, span),
        "disk": _disk_at_end(samples, span),
        "network_latency": 1000 * _mean([value for _, value in span.points(rtt)]),
        "db_connections": _connections_peak(samples, span),
    }


def _busiest_five_minutes(samples: Samples, span: Span) -> float:
    """Busy share of each CPU over four scrape intervals (a 5-minute window holds five scrapes), averaged
    over the CPUs; the highest of the windows that end inside the span."""
    cpus = [points for _, points in samples.select("node_cpu_seconds_total", mode="idle")]
    busiest = 0.0
    for end in range(4, len(cpus[0])):
        if not span.start.timestamp() <= cpus[0][end][0] <= span.end.timestamp():
            continue
        idle = [(points[end][1] - points[end - 4][1]) / (points[end][0] - points[end - 4][0]) for points in cpus]
        busiest = max(busiest, 100 * (1 - _mean(idle)))
    return busiest


def _memory_peak(samples: Samples, span: Span) -> float:
    [(_, total)] = samples.select("node_memory_MemTotal_bytes")
    [(_, available)] = samples.select("node_memory_MemAvailable_bytes")
    size = max(value for _, value in span.points(total))
    return max(100 * (1 - value / size) for _, value in span.points(available))


def _disk_at_end(samples: Samples, span: Span) -> float:
    [(_, size)] = samples.select("node_filesystem_size_bytes", mountpoint="/")
    [(_, available)] = samples.select("node_filesystem_avail_bytes", mountpoint="/")
    return 100 * (1 - span.points(available)[-1][1] / span.points(size)[-1][1])


def _connections_peak(samples: Samples, span: Span) -> float:
    by_time: dict[float, float] = defaultdict(float)
    for _, points in samples.select("pg_stat_activity_count"):
        for at, value in span.points(points):
            by_time[at] += value
    [(_, limit)] = samples.select("pg_settings_max_connections")
    return 100 * max(by_time.values()) / limit[-1][1]


def midnight(day) -> datetime:  # type: ignore[no-untyped-def]
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
