"""Webhook parsers, the YAML config and the settings: bad input is named, good input normalised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.vocabulary import Category, Priority
from bot.config import ConfigError, OpsConfig, load_config
from bot.settings import SettingsError, load_settings
from handlers.alerts.parsers import PayloadError, parse_alertmanager, parse_generic, parse_grafana

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_alertmanager_zero_time_means_not_ended_and_unknown_keys_are_ignored() -> None:
    body = _fixture("alertmanager_real_firing.json")
    body["notification_reason"] = "new"  # Alertmanager >= 0.32
    body["routeLabels"] = {"x": "y"}  # >= 0.34
    batch = parse_alertmanager(body)
    assert [a.ends_at for a in batch.alerts] == [None, None]
    assert batch.group_key == '{}:{alertname="HighErrorRate", service="checkout"}'
    assert batch.alerts[0].fingerprint == body["alerts"][0]["fingerprint"]


def test_truncated_count_is_kept() -> None:
    assert parse_alertmanager(_fixture("alertmanager_real_firing_truncated.json")).truncated_alerts == 2


def test_grafana_links_become_annotations() -> None:
    batch = parse_grafana(_fixture("grafana_webhook_firing_docs.json"))
    assert "silence" in batch.alerts[0].annotations
    assert batch.alerts[0].starts_at.tzinfo is not None


@pytest.mark.parametrize(
    "body, where",
    [
        ({}, "alerts"),
        ({"alerts": "x"}, "alerts"),
        ({"alerts": [{"status": "firing", "labels": {}, "startsAt": "yesterday"}]}, "alerts.0.startsAt"),
        ({"alerts": [{"status": "firing", "labels": [], "startsAt": "2026-01-01T00:00:00Z"}]}, "alerts.0.labels"),
    ],
)
def test_wrong_shapes_name_the_field(body: dict, where: str) -> None:
    with pytest.raises(PayloadError) as error:
        parse_alertmanager(body)
    assert error.value.problem.startswith(where)


def test_generic_accepts_one_alert_or_a_list_and_vendor_words_for_status() -> None:
    single = parse_generic({"title": "Cron failed", "severity": "critical", "status": "OK", "dedup_key": "c1"})
    assert single.alerts[0].status.value == "resolved" and single.alerts[0].fingerprint == "c1"
    many = parse_generic({"source": "newrelic", "alerts": [{"title": "A"}, {"title": "B", "status": "triggered"}]})
    assert [a.labels["monitor"] for a in many.alerts] == ["newrelic", "newrelic"]
    with pytest.raises(PayloadError):
        parse_generic({"title": "x", "status": "sideways"})


def test_routing_priorities_and_categories_from_config(tmp_path: Path) -> None:
    path = tmp_path / "opsbot.yaml"
    path.write_text(
        """
default_channel: "#ops"
routes:
  - match: {service: db}
    channel: "#dba"
  - match_re: {instance: "pay-.*"}
    channel: "#payments"
severity_priority: {critical: High, warning: Low}
categories:
  - match: {service: db}
    category: database
"""
    )
    config = load_config(path)
    assert config.channel_for({"service": "db"}) == "#dba"
    assert config.channel_for({"instance": "pay-3"}) == "#payments"
    assert config.channel_for({"instance": "web-1"}) == "#ops"
    assert config.priority_for({"severity": "WARNING"}) == Priority.LOW
    assert config.priority_for({}) == Priority.MEDIUM
    assert config.category_for({"service": "db"}) == Category.DATABASE
    assert config.category_for({"category": "security"}) == Category.SECURITY


def test_invalid_config_is_one_line_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("routes:\n  - match_re: {service: '('}\n    channel: '#x'\n")
    with pytest.raises(ConfigError, match=r"OPSBOT_CONFIG: .*routes\.0\.match_re"):
        load_config(path)
    path.write_text("severity_priority: {critical: Urgent}\n")
    with pytest.raises(ConfigError, match="severity_priority.critical"):
        load_config(path)
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)


def test_the_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "opsbot.example.yaml"
    assert isinstance(load_config(example), OpsConfig)


def test_settings_errors_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "not-a-number")
    with pytest.raises(SettingsError, match="PORT"):
        load_settings()
    monkeypatch.setenv("PORT", "3000")
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings()
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///x.db")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:1/api")
    monkeypatch.setenv("KB_PATHS", "/a:/b")
    settings = load_settings()
    assert settings.slack_api_url.endswith("/api/") and [str(p) for p in settings.kb_paths] == ["/a", "/b"]
    assert settings.local_mode


def test_production_needs_its_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.app import require_production_secrets

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-real")
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        require_production_secrets(load_settings())
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    with pytest.raises(SettingsError, match="ALERT_WEBHOOK_TOKEN"):
        require_production_secrets(load_settings())
