"""Datadog and New Relic bodies into alerts: status, severity, key, links, on the vendors' real shapes."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import OpsConfig
from handlers.alerts.parsers import PayloadError, parse_alertmanager, parse_grafana, silence_url
from handlers.alerts.vendors import parse_datadog, parse_newrelic
from handlers.issues.message_view import IMAGE_KEY, NOTE_KEY
from storage.models import AlertStatus
from tests.harness import fixture_json

PRIORITY = OpsConfig().priority_for  # the default severity -> priority map


def datadog(transition: str, **fields: Any) -> dict[str, Any]:
    """Datadog's payload template (the fixture), its $VARIABLES filled in as Datadog does: all strings."""
    body = fixture_json("datadog_webhook_payload_template.json")
    body.update(
        body="%%%\nCPU on web-1 is above 90% @webhook-opsbot\n%%%",
        last_updated="1713767800000",
        event_type="query_alert_monitor",
        alert_transition=transition,
        alert_id="12345",
        link="https://app.datadoghq.com/monitors/12345?group=host%3Aweb-1",
        title=f"[{transition} on {{host:web-1}}] CPU high",
        date="1713767789495",
        org={"id": "1", "name": "Example"},
        id="7001",
    )
    body.update(fields)
    return body


def newrelic(state: str, **fields: Any) -> dict[str, Any]:
    body = fixture_json("newrelic_webhook_default_activated.json")
    body.update(state=state, **fields)
    return body


def test_datadog_triggered_fires_high_with_its_links_and_scope() -> None:
    [alert] = parse_datadog(datadog("Triggered")).alerts
    assert alert.source == "datadog" and alert.status is AlertStatus.FIRING
    assert alert.alertname == "CPU high" and PRIORITY(alert.labels) == "High"
    assert alert.labels["scope"] == "host:web-1" and alert.labels["host"] == "web-1"
    assert alert.labels["monitor_id"] == "12345"
    assert alert.annotations["description"] == "CPU on web-1 is above 90% @webhook-opsbot"
    assert alert.generator_url == "https://app.datadoghq.com/monitors/12345?group=host%3Aweb-1"
    assert alert.starts_at == datetime(2024, 4, 22, 6, 36, 29, 495000, tzinfo=timezone.utc)


def test_datadog_recovery_shares_the_key_of_its_trigger_and_resolves() -> None:
    [fired] = parse_datadog(datadog("Triggered")).alerts
    [recovered] = parse_datadog(datadog("Recovered")).alerts
    [warned] = parse_datadog(datadog("Warn")).alerts
    assert recovered.status is AlertStatus.RESOLVED and recovered.ends_at is not None
    assert fired.fingerprint == recovered.fingerprint == warned.fingerprint
    [other_host] = parse_datadog(datadog("Triggered", title="[Triggered on {host:web-2}] CPU high")).alerts
    assert other_host.fingerprint != fired.fingerprint  # a multi-alert monitor: one issue per group
    [cycle] = parse_datadog(datadog("Recovered", alert_cycle_key="c-1")).alerts
    assert cycle.fingerprint == "c-1"


@pytest.mark.parametrize(
    ("transition", "priority", "note"),
    [
        ("Triggered", "High", None),
        ("Re-Triggered", "High", "fired again"),
        ("Renotify", "High", "still triggered"),
        ("Warn", "Medium", "warning threshold"),
        ("Re-Warn", "Medium", "warning threshold"),
        ("No Data", "Low", "stopped receiving data"),
        ("Re-No Data", "Low", "stopped receiving data"),
    ],
)
def test_datadog_transitions_fire_with_sensible_priorities(transition: str, priority: str, note: str | None) -> None:
    [alert] = parse_datadog(datadog(transition)).alerts
    assert alert.status is AlertStatus.FIRING and PRIORITY(alert.labels) == priority
    assert alert.annotations["transition"] == transition
    if note is None:
        assert NOTE_KEY not in alert.annotations
    else:
        assert note in alert.annotations[NOTE_KEY]


def test_datadog_monitor_priority_sets_the_level_and_warn_never_ranks_above_it() -> None:
    assert PRIORITY(parse_datadog(datadog("Triggered", alert_priority="P3")).alerts[0].labels) == "Medium"
    assert PRIORITY(parse_datadog(datadog("Triggered", alert_priority="P5")).alerts[0].labels) == "Low"
    assert PRIORITY(parse_datadog(datadog("Warn", alert_priority="P5")).alerts[0].labels) == "Low"
    assert PRIORITY(parse_datadog(datadog("Triggered", title="[P1] [Triggered] CPU high")).alerts[0].labels) == "High"


def test_datadog_without_a_transition_reads_the_title_or_the_alert_type() -> None:
    body = datadog("Triggered", title="[Recovered on {host:web-1}] CPU high")
    del body["alert_transition"]
    assert parse_datadog(body).alerts[0].status is AlertStatus.RESOLVED
    body = datadog("Triggered", title="[Memory Alert]", alert_type="warning")
    del body["alert_transition"]
    [alert] = parse_datadog(body).alerts
    assert alert.alertname == "Memory Alert" and PRIORITY(alert.labels) == "Medium"
    assert parse_datadog(datadog("Something New")).alerts[0].status is AlertStatus.FIRING  # never lost


def test_datadog_tags_become_labels_and_the_snapshot_an_image() -> None:
    body = datadog("Triggered", tags="env:prod,service:checkout,role:web,bare", alert_scope="host:web-1,env:prod",
                   hostname="web-1", snapshot="https://p.datadoghq.com/snapshot/view/a.png")
    [alert] = parse_datadog(body).alerts
    assert alert.labels["env"] == "prod" and alert.labels["service"] == "checkout" and alert.labels["role"] == "web"
    assert "bare" not in alert.labels and alert.labels["instance"] == "web-1"
    assert alert.annotations[IMAGE_KEY] == "https://p.datadoghq.com/snapshot/view/a.png"


def test_datadog_variables_left_unfilled_count_as_missing() -> None:
    with pytest.raises(PayloadError, match="title"):
        parse_datadog(fixture_json("datadog_webhook_payload_template.json"))  # the template as written
    [alert] = parse_datadog(datadog("Triggered", link="$LINK", alert_scope="$ALERT_SCOPE")).alerts
    assert alert.generator_url is None and alert.labels["scope"] == "host:web-1"  # the title's scope instead
    with pytest.raises(PayloadError, match="body"):
        parse_datadog([datadog("Triggered")])
    with pytest.raises(PayloadError, match="title"):
        parse_datadog(datadog("Triggered", title={"not": "text"}))


@pytest.mark.parametrize("name", ["activated", "created"])
def test_newrelic_critical_issue_fires_high_with_its_link(name: str) -> None:
    [alert] = parse_newrelic(fixture_json(f"newrelic_webhook_default_{name}.json")).alerts
    body = fixture_json(f"newrelic_webhook_default_{name}.json")
    assert alert.source == "newrelic" and alert.status is AlertStatus.FIRING and not alert.acknowledged
    assert alert.fingerprint == body["id"] and alert.generator_url == body["issueUrl"]
    assert alert.alertname == body["alertConditionNames"][0] and alert.annotations["summary"] == body["title"]
    assert PRIORITY(alert.labels) == "High"
    assert alert.labels["policy"] == "Golden Signals" and alert.labels["instance"] == body["impactedEntities"][0]


def test_newrelic_closed_resolves_and_acknowledged_is_taken() -> None:
    [closed] = parse_newrelic(fixture_json("newrelic_webhook_default_closed.json")).alerts
    assert closed.status is AlertStatus.RESOLVED and closed.ends_at == datetime(2024, 4, 22, 6, 17, 37, 383000, tzinfo=timezone.utc)
    [taken] = parse_newrelic(newrelic("ACKNOWLEDGED")).alerts
    [fired] = parse_newrelic(newrelic("ACTIVATED")).alerts
    assert taken.status is AlertStatus.FIRING and taken.acknowledged and taken.fingerprint == fired.fingerprint
    assert PRIORITY(parse_newrelic(newrelic("ACTIVATED", priority="MEDIUM")).alerts[0].labels) == "Medium"
    assert PRIORITY(parse_newrelic(newrelic("ACTIVATED", priority="LOW")).alerts[0].labels) == "Low"


def test_newrelic_refuses_a_body_without_an_issue_id_or_state() -> None:
    for missing in ("id", "state"):
        body = newrelic("ACTIVATED")
        del body[missing]
        with pytest.raises(PayloadError, match=missing):
            parse_newrelic(body)
    with pytest.raises(PayloadError, match="body"):
        parse_newrelic("ACTIVATED")


def test_grafana_keeps_values_value_string_and_image() -> None:
    [alert] = parse_grafana(fixture_json("grafana_webhook_firing_v11_zulip.json")).alerts
    assert alert.annotations["__grafana_values"] == "A=2473545728, B=0, C=1, minute=9"
    assert alert.annotations["__grafana_value_string"].startswith("[ var='A' labels={instance=node_exporter:9100")
    assert alert.annotations[IMAGE_KEY] == "https://grafana.com/assets/img/blog/mixed_styles.png"
    assert alert.annotations["silence"].startswith("https://play.grafana.org/alerting/silence/new?")  # Grafana's own
    [first, _] = parse_grafana(fixture_json("grafana_webhook_firing_docs.json")).alerts
    assert first.annotations["__grafana_values"] == "B=44.2394, C=1"


def test_alertmanager_alerts_get_a_silence_link_from_external_url() -> None:
    [first, _] = parse_alertmanager(fixture_json("alertmanager_real_firing.json")).alerts
    assert first.annotations["silence"] == (
        "http://127.0.0.1:9093/#/silences/new?filter="
        "%7Balertname%3D%22HighErrorRate%22%2Cinstance%3D%22checkout-1%3A8080%22%2Cjob%3D%22checkout%22"
        "%2Cservice%3D%22checkout%22%2Cseverity%3D%22critical%22%7D"
    )
    assert silence_url("http://am:9093/", {"alertname": 'a"b\\c'}) == (
        "http://am:9093/#/silences/new?filter=%7Balertname%3D%22a%5C%22b%5C%5Cc%22%7D"
    )
    assert silence_url(None, {"alertname": "X"}) is None and silence_url("javascript:x", {"alertname": "X"}) is None
    own = fixture_json("alertmanager_real_firing.json")
    own["alerts"][0]["annotations"]["silence"] = "https://wiki.example/silencing"
    assert parse_alertmanager(own).alerts[0].annotations["silence"] == "https://wiki.example/silencing"


odd_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**40), 10**40), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40), st.sampled_from(["$ALERT_ID", "", "1e20", "9999-12-31T23:59:59-23:59",
                                           "0001-01-01T00:00:00+23:59", "x" * 3000, "[P9] [", "]]["]),
)
odd_values = st.recursive(odd_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=10), inner, max_size=3), max_leaves=8)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(vendor=st.sampled_from(["datadog", "newrelic"]), changes=st.dictionaries(
    st.sampled_from(["title", "alert_title", "alert_transition", "alert_id", "alert_scope", "date", "last_updated",
                     "tags", "link", "snapshot", "alert_priority", "hostname", "id", "state", "priority", "createdAt",
                     "updatedAt", "impactedEntities", "alertConditionNames", "issueUrl", "extra"]),
    odd_values, max_size=6))
def test_any_vendor_body_is_an_alert_or_a_payload_error(vendor: str, changes: dict[str, Any]) -> None:
    """What the webhook turns into a 422 is a PayloadError naming the field; nothing else escapes,
    and what is accepted fits the columns it goes to."""
    body = {**(datadog("Triggered") if vendor == "datadog" else newrelic("ACTIVATED")), **changes}
    try:
        batch = (parse_datadog if vendor == "datadog" else parse_newrelic)(body)
    except PayloadError as error:
        assert error.problem
        return
    [alert] = batch.alerts
    assert len(alert.fingerprint) <= 128 and alert.labels["alertname"]
    assert alert.starts_at.tzinfo is not None and alert.starts_at.utcoffset().total_seconds() == 0
    assert all(isinstance(value, str) for value in [*alert.labels.values(), *alert.annotations.values()])
