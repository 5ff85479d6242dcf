"""The `performance:` config: defaults cover the team's own KPIs and targets, and every field is overridable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, OpsConfig, load_config
from handlers.performance.settings import Comparison, PerformanceSettings

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "seed_performance_kpis.txt"

# (what the team's templates say, the default KPI that answers it, its comparison, the value)
TEAM_TARGETS = [
    ("System Uptime (%)99.9%", "uptime", ">=", 99.9, "%"),
    ("Total Downtime (minutes)< 30 mins", "downtime", "<", 30, "min"),
    ("Average Page Load Time (seconds)< 2 seconds", "page_load", "<", 2, "s"),
    ("Average API Response Time (ms)< 500 ms", "api_p95", "<", 500, "ms"),
    ("4xx Errors (Client-side errors)< 1% of total requests", "errors_4xx", "<", 1, "%"),
    ("5xx Errors (Server-side errors)< 0.1% of total requests", "errors_5xx", "<", 0.1, "%"),
    ("Total Errors (count)< 50 errors", "errors_total", "<", 50, ""),
    ("Database Query Time< 100ms", "db_query", "<", 100, "ms"),
    ("Ensure CPU usage is under 75%", "cpu", "<", 75, "%"),
    ("ensuring it’s under 75%", "memory", "<", 75, "%"),
    ("Ensure disk space usage is under 80%", "disk", "<", 80, "%"),
    ("Ensure that network latency is below 100ms", "network_latency", "<", 100, "ms"),
]


@pytest.mark.parametrize(("phrase", "key", "comparison", "value", "unit"), TEAM_TARGETS)
def test_every_kpi_of_the_team_templates_has_a_default(phrase: str, key: str, comparison: str, value: float, unit: str) -> None:
    assert phrase in SEED.read_text(encoding="utf-8")
    kpi = {kpi.key: kpi for kpi in PerformanceSettings().definitions()}[key]
    assert (kpi.target.comparison, kpi.target.value, kpi.unit) == (Comparison(comparison), value, unit)


def test_the_templates_ranges_become_warning_bands_and_daily_budgets() -> None:
    text = SEED.read_text(encoding="utf-8")
    kpis = {kpi.key: kpi for kpi in PerformanceSettings().definitions()}
    assert "Database Query Execution Time (ms)< 200" in text and kpis["db_query"].warning == 200  # "100-200 ms"
    assert "does not exceed the threshold" in text and kpis["db_connections"].target.value < 100  # of max_connections
    assert kpis["downtime"].per_day and kpis["errors_total"].per_day  # "< 30 min" and "< 50 errors" a day
    assert all("$__range" in kpi.query for kpi in kpis.values())


def test_a_deployment_overrides_drops_and_adds_kpis() -> None:
    config = OpsConfig.model_validate(
        {
            "performance": {
                "kpis": {
                    "api_p95": {"target": "< 300", "warning": 450},
                    "network_latency": {"enabled": False},
                    "queue_lag": {"name": "Queue lag", "query": "max(queue_lag_seconds)", "unit": "s", "target": "<= 60"},
                }
            }
        }
    )
    kpis = config.performance.definitions()
    keys = [kpi.key for kpi in kpis]
    assert "network_latency" not in keys and keys[-1] == "queue_lag"
    api = next(kpi for kpi in kpis if kpi.key == "api_p95")
    assert (api.target.value, api.warning, api.name) == (300, 450, "API response time (p95)")  # the rest is default
    assert "histogram_quantile" in api.query
    assert kpis[-1].target.comparison is Comparison.AT_MOST


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"queue_lag": {"query": "up"}}, "KPI 'queue_lag' is not a default one, so it needs name, target"),
        ({"uptime": {"target": "about 99"}}, "is not a target"),
        ({"api_p95": {"warning": 400}}, "warning 400 must be above the target 500"),
        ({"uptime": {"warning": 99.95}}, "warning 99.95 must be below the target 99.9"),
        ({"cpu": {"unit": "percent"}}, "unit must be one of"),
    ],
)
def test_a_bad_kpi_entry_fails_at_load_naming_it(tmp_path: Path, entry: dict, complaint: str) -> None:
    import yaml

    path = tmp_path / "opsbot.yaml"
    path.write_text(yaml.safe_dump({"performance": {"kpis": entry}}))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert "performance" in message and complaint in message, message
