"""The bundled KPI data: two days of the metrics a team's exporters publish, as OpenMetrics text.

The data covers two days (UTC), one scrape a minute at hh:mm:30, so no sample sits on a period's
boundary, and two calm hours before them, so rates at the start have data behind them. The tests
put the days in the near future (tomorrow and the day after, see tests/support/prometheus.py): the
bot's clock then stands ahead of the real one, as its outbox needs. The second day is the eventful one:

- an outage: the blackbox probe fails from 10:13 to 10:59 (47 scrapes) and the API answers 500s;
- a slow hour: 09:00-09:59 the API's latency histogram shifts right and pages load slowly;
- a CPU spike: 15:00-15:29 both CPUs are 93 % busy, and the database takes more connections;
- memory peaks 15:10-15:19, the disk fills a little all day, the database's queries get slower;
- the network is a little faster than the day before; clients make as many 4xx errors as ever.

The day before is calm, with a one-minute blip of the probe at 03:07.

The metric names and labels are those of the standard exporters (blackbox_exporter, a client
library's `http_request_duration_seconds` histogram, node_exporter, postgres_exporter), which is
what opsbot's default KPI queries read. `write_openmetrics()` writes the file that
`promtool tsdb create-blocks-from openmetrics` turns into TSDB blocks (tests/support/prometheus.py).

Nothing here computes a KPI: the tests work out the expected figures from the written samples on
their own (tests/integration/kpi_expectations.py), never from this module's model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Sequence, TextIO

LEAD_MINUTES = 120  # the evening before: rates at the first minutes of the calm day have data behind them
SCRAPES = LEAD_MINUTES + 2 * 1440  # one a minute
SCRAPE_OFFSET = timedelta(seconds=30)
BUCKETS = ("0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf")

# Requests per minute by latency bucket (not cumulative), code 200.
_NORMAL_LATENCY = (400, 300, 200, 80, 15, 5, 0, 0)
_SLOW_LATENCY = (50, 50, 150, 250, 300, 150, 40, 10)
_GiB = 1024**3


def first_scrape(day: date) -> datetime:
    """The first sample's time when `day` is the eventful day."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return midnight - timedelta(days=1, minutes=LEAD_MINUTES) + SCRAPE_OFFSET


@dataclass(frozen=True)
class Minute:
    """One scrape, and which of the days' events it falls in."""

    index: int  # 0 .. SCRAPES - 1
    at: datetime
    day: date  # the eventful day

    @property
    def today(self) -> bool:
        return self.at.date() == self.day

    def between(self, start: str, end: str) -> bool:
        """Within [start, end) of the clock (UTC), e.g. between("10:13", "11:00")."""
        return start <= self.at.strftime("%H:%M") < end

    @property
    def down(self) -> bool:
        return self.between("10:13", "11:00") if self.today else self.between("03:07", "03:08")

    @property
    def slow(self) -> bool:
        return self.today and self.between("09:00", "10:00")

    @property
    def cpu_busy(self) -> float:
        if self.today:
            return 0.93 if self.between("15:00", "15:30") else 0.42
        return 0.55 if self.between("14:00", "14:30") else 0.40


Series = dict[str, Callable[[Minute], float]]  # label text -> value at each scrape


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{name}="{value}"' for name, value in labels.items()) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


class _Writer:
    def __init__(self, out: TextIO, day: date) -> None:
        self.out = out
        start = first_scrape(day)
        self.minutes = [Minute(index, start + timedelta(minutes=index), day) for index in range(SCRAPES)]

    def family(self, name: str, series: Series) -> None:
        """One metric family, contiguous as OpenMetrics requires."""
        for labels, value_of in series.items():
            for minute in self.minutes:
                self.out.write(f"{name}{labels} {_number(value_of(minute))} {minute.at.timestamp():.0f}\n")

    def counter(self, start: float, per_minute: Callable[[Minute], float]) -> Callable[[Minute], float]:
        """A counter that starts high, as a long-running process's does, and grows by `per_minute`."""
        values: list[float] = []
        for minute in self.minutes:
            start += per_minute(minute)
            values.append(start)
        return lambda minute: values[minute.index]


def _requests_per_bucket(minute: Minute, code: str) -> Sequence[int]:
    if code == "200":
        return _SLOW_LATENCY if minute.slow else _NORMAL_LATENCY
    if code == "404":
        return (6, 0, 0, 0, 0, 0, 0, 0)
    return (50, 0, 0, 0, 0, 0, 0, 0) if minute.down else (0,) * len(BUCKETS)  # 500: fast failures in outages


def _http_histogram(w: _Writer) -> None:
    api = {"job": "api", "instance": "api-1:8080", "handler": "/api"}
    starts = {"200": 40_000_000, "404": 250_000, "500": 9_000}
    buckets: Series = {}
    counts: Series = {}
    for code, start in starts.items():
        for position, bound in enumerate(BUCKETS):
            share = sum(_NORMAL_LATENCY[: position + 1]) / sum(_NORMAL_LATENCY) if code == "200" else 1.0
            buckets[_labels(**api, code=code, le=bound)] = w.counter(
                start * share, lambda m, c=code, p=position: sum(_requests_per_bucket(m, c)[: p + 1])
            )
        counts[_labels(**api, code=code)] = w.counter(start, lambda m, c=code: sum(_requests_per_bucket(m, c)))
    w.family("http_request_duration_seconds_bucket", buckets)
    w.family("http_request_duration_seconds_count", counts)


def _blackbox(w: _Writer) -> None:
    http = {"job": "blackbox", "instance": "https://shop.example.com"}
    w.family("probe_success", {_labels(**http): lambda m: 0 if m.down else 1})
    phases: Series = {
        "resolve": lambda m: 0.012,
        "connect": lambda m: 0.025,
        "tls": lambda m: 0.063,
        "processing": lambda m: (3.1 if m.slow else 1.05) if m.today else 0.9,
        "transfer": lambda m: 0.1 + 0.01 * (m.index % 3),
    }
    w.family("probe_http_duration_seconds", {_labels(**http, phase=p): f for p, f in phases.items()})
    icmp = {"job": "blackbox_icmp", "instance": "shop.example.com", "phase": "rtt"}
    w.family(
        "probe_icmp_duration_seconds",
        {_labels(**icmp): lambda m: (0.028 if m.today else 0.034) + 0.002 * (m.index % 5)},
    )


def _node(w: _Writer) -> None:
    node = {"job": "node", "instance": "app-1:9100"}
    w.family(
        "node_cpu_seconds_total",
        {_labels(**node, cpu=cpu, mode="idle"): w.counter(3_000_000, lambda m: 60 * (1 - m.cpu_busy)) for cpu in "01"},
    )

    def used_share(minute: Minute) -> float:
        if minute.today:
            return 0.78 if minute.between("15:10", "15:20") else 0.45
        return 0.66 if minute.between("14:10", "14:15") else 0.40

    w.family("node_memory_MemTotal_bytes", {_labels(**node): lambda m: 16 * _GiB})
    w.family("node_memory_MemAvailable_bytes", {_labels(**node): lambda m: round(16 * _GiB * (1 - used_share(m)))})
    disk = {**node, "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
    size = 200 * 10**9
    # 58 % used at the first scrape, one more gigabyte every 480 scrapes (eight hours)
    w.family("node_filesystem_size_bytes", {_labels(**disk): lambda m: size})
    w.family("node_filesystem_avail_bytes", {_labels(**disk): lambda m: size - 116 * 10**9 - (m.index // 480) * 10**9})


def _postgres(w: _Writer) -> None:
    pg = {"job": "postgres", "instance": "db-1:9187", "datname": "shop"}
    calls = {"1": 600, "2": 100}
    seconds_each: dict[str, Callable[[Minute], float]] = {"1": lambda m: 0.05, "2": lambda m: 0.45 if m.today else 0.3}
    w.family(
        "pg_stat_statements_calls_total",
        {_labels(**pg, queryid=q): w.counter(5_000_000, lambda m, q=q: calls[q]) for q in calls},
    )
    w.family(
        "pg_stat_statements_seconds_total",
        {_labels(**pg, queryid=q): w.counter(400_000, lambda m, q=q: calls[q] * seconds_each[q](m)) for q in calls},
    )

    def active(minute: Minute) -> int:
        if minute.today:
            return 70 if minute.between("15:00", "15:30") else 25
        return 45 if minute.between("14:00", "14:30") else 22

    w.family(
        "pg_stat_activity_count",
        {_labels(**pg, state="active"): active, _labels(**pg, state="idle"): lambda m: 18},
    )
    w.family("pg_settings_max_connections", {_labels(job="postgres", instance="db-1:9187"): lambda m: 100})


def write_openmetrics(path: Path, day: date) -> Path:
    """Write every series of the calm day before `day` and of `day`, ending with `# EOF`; returns `path`."""
    with path.open("w", encoding="utf-8") as out:
        writer = _Writer(out, day)
        _blackbox(writer)
        _http_histogram(writer)
        _node(writer)
        _postgres(writer)
        out.write("# EOF\n")
    return path
