"""The team's KPIs and targets (their daily monitoring template and optimisation checklist), as PromQL.

The queries read the metric names of the standard exporters: blackbox_exporter (`probe_success`,
`probe_http_duration_seconds`, `probe_icmp_duration_seconds`), a client library's
`http_request_duration_seconds` histogram with a `code` label, node_exporter and postgres_exporter
(with its pg_stat_statements collector on). A deployment overrides any field of any KPI, switches
one off (`enabled: false`) or adds its own, under `performance.kpis` in the YAML.

`$__range` is the period as a PromQL duration and `$__range_s` its length in seconds; each query is
evaluated at the period's end (or now, for a period still running), so `x[$__range]` covers exactly
the period. A query that returns nothing shows "no data": the `or 0 * ...` parts make an error count
0 when there were requests but no errors, and leave it empty when there were no requests at all.
"""

from __future__ import annotations

from typing import Any

_REQUESTS = "sum(increase(http_request_duration_seconds_count[$__range]))"
_FILESYSTEMS = '{fstype!~"tmpfs|overlay|squashfs|ramfs|nsfs"}'


def _errors(codes: str) -> str:
    return f'(sum(increase(http_request_duration_seconds_count{{code=~"{codes}"}}[$__range])) or 0 * {_REQUESTS})'


DEFAULT_KPIS: dict[str, dict[str, Any]] = {
    "uptime": {
        "name": "Uptime",
        "query": "100 * avg(avg_over_time(probe_success[$__range]))",
        "unit": "%",
        "target": ">= 99.9",
        "warning": 99.5,
        "decimals": 2,
        "steady_within": 0.01,
    },
    "downtime": {
        "name": "Downtime",
        "query": "(1 - avg(avg_over_time(probe_success[$__range]))) * $__range_s / 60",
        "unit": "min",
        "target": "< 30",
        "warning": 60,
        "per_day": True,
        "decimals": 0,
        "steady_within": 1,
    },
    "page_load": {
        "name": "Page load time",
        "query": "avg(sum by (instance) (avg_over_time(probe_http_duration_seconds[$__range])))",
        "unit": "s",
        "target": "< 2",
        "warning": 3,
        "decimals": 2,
        "steady_within": 0.05,
    },
    "api_p95": {
        "name": "API response time (p95)",
        "query": "1000 * histogram_quantile(0.95, sum by (le) (increase(http_request_duration_seconds_bucket[$__range])))",
        "unit": "ms",
        "target": "< 500",
        "warning": 750,
        "decimals": 0,
        "steady_within": 10,
    },
    "errors_4xx": {
        "name": "4xx errors",
        "query": f'100 * {_errors("4..")} / {_REQUESTS}',
        "unit": "%",
        "target": "< 1",
        "warning": 2,
        "decimals": 2,
        "steady_within": 0.05,
    },
    "errors_5xx": {
        "name": "5xx errors",
        "query": f'100 * {_errors("5..")} / {_REQUESTS}',
        "unit": "%",
        "target": "< 0.1",
        "warning": 0.5,
        "decimals": 3,
        "steady_within": 0.005,
    },
    "errors_total": {
        "name": "Errors (4xx and 5xx)",
        "query": _errors("[45].."),
        "unit": "",
        "target": "< 50",
        "warning": 100,
        "per_day": True,
        "decimals": 0,
        "steady_within": 5,
    },
    "db_query": {
        "name": "Database query time (mean)",
        "query": (
            "1000 * sum(increase(pg_stat_statements_seconds_total[$__range]))"
            " / sum(increase(pg_stat_statements_calls_total[$__range]))"
        ),
        "unit": "ms",
        "target": "< 100",
        "warning": 200,
        "decimals": 0,
        "steady_within": 5,
    },
    "cpu": {
        "name": "CPU (busiest 5 min)",
        "query": (
            "max(max_over_time((100 * (1 - avg by (instance) "
            '(rate(node_cpu_seconds_total{mode="idle"}[5m]))))[$__range:1m]))'
        ),
        "unit": "%",
        "target": "< 75",
        "warning": 90,
        "decimals": 1,
        "steady_within": 2,
    },
    "memory": {
        "name": "Memory (peak)",
        "query": (
            "max(100 * (1 - min_over_time(node_memory_MemAvailable_bytes[$__range])"
            " / max_over_time(node_memory_MemTotal_bytes[$__range])))"
        ),
        "unit": "%",
        "target": "< 75",
        "warning": 90,
        "decimals": 1,
        "steady_within": 2,
    },
    "disk": {
        "name": "Disk used (fullest)",
        "query": (
            f"max(100 * (1 - last_over_time(node_filesystem_avail_bytes{_FILESYSTEMS}[$__range])"
            f" / last_over_time(node_filesystem_size_bytes{_FILESYSTEMS}[$__range])))"
        ),
        "unit": "%",
        "target": "< 80",
        "warning": 90,
        "decimals": 1,
        "steady_within": 1,
    },
    "network_latency": {
        "name": "Network latency",
        "query": '1000 * avg(avg_over_time(probe_icmp_duration_seconds{phase="rtt"}[$__range]))',
        "unit": "ms",
        "target": "< 100",
        "warning": 150,
        "decimals": 0,
        "steady_within": 5,
    },
    "db_connections": {
        "name": "DB connections (peak, of max)",
        "query": (
            "100 * max(max_over_time((sum by (instance) (pg_stat_activity_count)"
            " / max by (instance) (pg_settings_max_connections))[$__range:1m]))"
        ),
        "unit": "%",
        "target": "< 80",
        "warning": 95,
        "decimals": 0,
        "steady_within": 2,
    },
}
