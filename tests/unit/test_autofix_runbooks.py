"""Runbook config and parameters: bad runbooks fail at load, hostile label values never reach a step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config import OpsConfig
from handlers.autofix.params import ParameterRefused, PlannedCommand, PlannedHttp, PlannedManual, plan_run
from handlers.autofix.runbooks import Runbook, RunbookCatalog


def _runbook(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "RB-APP-01",
        "title": "Restart the service",
        "match": {"alertname": "HighErrorRate"},
        "params": {"service": {"label": "service", "pattern": "[a-z0-9-]{1,40}"}},
        "steps": [
            {
                "kind": "http",
                "name": "Ask Rundeck",
                "url": "https://rundeck.example.com/api/job/{{ service }}/run?note={{ service }}",
                "headers": {"Authorization": {"env": "RUNDECK_TOKEN", "prefix": "Bearer "}, "Accept": "application/json"},
                "body": {"options": {"service": "{{ service }}", "count": 2, "tags": ["{{ service }}-a", "fixed"]}},
            },
            {"kind": "command", "argv": ["/usr/local/bin/flush-cache", "--service", "{{ service }}"], "env": ["KUBECONFIG"]},
            {"kind": "manual", "text": "Check the dashboard for {{ service }}."},
        ],
    }
    base.update(overrides)
    return base


def test_a_full_runbook_loads_with_defaults_and_shorthand_durations() -> None:
    config = OpsConfig.model_validate({"runbooks": [_runbook(verify_window="15m", cooldown=90)]})
    [runbook] = config.runbooks
    assert runbook.verify_window == timedelta(minutes=15) and runbook.cooldown == timedelta(seconds=90)
    assert runbook.max_attempts == 3 and runbook.confirm is False and runbook.auto is False
    assert Runbook.model_validate(_runbook()).verify_window == timedelta(minutes=10)
    assert Runbook.model_validate(_runbook(verify_window="PT2H")).verify_window == timedelta(hours=2)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"match_re": {"service": "(unclosed"}}, "bad regex"),
        ({"params": {"service": {"label": "service"}}}, "pattern"),
        ({"params": {"service": {"label": "service", "pattern": "[a-z"}}}, "bad regex"),
        ({"params": {}}, "undeclared parameter"),
        ({"steps": [{"kind": "http", "url": "https://{{ service }}.example.com/x"}]}, "never in its host"),
        ({"steps": [{"kind": "http", "url": "ftp://example.com/x"}]}, "http(s)"),
        ({"steps": [{"kind": "command", "argv": ["{{ service }}", "x"]}]}, "argv[0]"),
        ({"steps": [{"kind": "command", "argv": ["x", "{{ service.__class__ }}"]}]}, "unsafe"),
        ({"steps": [{"kind": "command", "argv": ["x", "{% for %}"]}]}, "bad template"),
        ({"steps": [{"kind": "command", "argv": ["x"], "env": ["NOT-A-NAME"]}]}, "environment variable name"),
        ({"steps": [{"kind": "http", "url": "https://e.com/", "headers": {"X": "{{ service }}"}}]}, "never templates"),
        ({"steps": [{"kind": "shell", "script": "rm -rf /"}]}, "kind"),
        ({"steps": []}, "at least 1"),
        ({"auto": True, "confirm": True}, "drop `confirm` or `auto`"),
        ({"id": "has spaces"}, "pattern"),
        ({"category": "cosmic-rays"}, "category"),
    ],
)
def test_bad_runbooks_are_refused_at_load(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as error:
        Runbook.model_validate(_runbook(**overrides))
    assert message in str(error.value)


def test_runbook_ids_are_unique() -> None:
    with pytest.raises(ValidationError, match="used twice"):
        OpsConfig.model_validate({"runbooks": [_runbook(), _runbook()]})


def test_matching_uses_alertmanager_semantics_and_config_order() -> None:
    first = Runbook.model_validate(_runbook(id="exact", match={"alertname": "HighErrorRate", "service": "checkout"}))
    second = Runbook.model_validate(_runbook(id="regex", match={}, match_re={"service": "check.*|cart"}, auto=True))
    catalog = RunbookCatalog([first, second])
    checkout = {"alertname": "HighErrorRate", "service": "checkout"}
    assert catalog.match([checkout]).runbook.id == "exact"
    assert catalog.match([checkout], auto_only=True).runbook.id == "regex"
    assert catalog.match([{"service": "cart"}]).runbook.id == "regex"
    assert catalog.match([{"service": "xcart"}]) is None  # match_re is anchored
    other = {"alertname": "DiskFull"}
    found = catalog.match([other, {"service": "cart", "n": "2"}])
    assert found is not None and found.labels["n"] == "2"  # parameters come from the alert that matched
    assert catalog.has_auto and not RunbookCatalog([first]).has_auto


def test_plan_substitutes_validated_values_only_where_allowed() -> None:
    plan = plan_run(Runbook.model_validate(_runbook()), {"service": "checkout-2", "alertname": "HighErrorRate"})
    http, command, manual = plan.steps
    assert isinstance(http, PlannedHttp) and isinstance(command, PlannedCommand) and isinstance(manual, PlannedManual)
    assert http.url == "https://rundeck.example.com/api/job/checkout-2/run?note=checkout-2"
    assert http.body == {"options": {"service": "checkout-2", "count": 2, "tags": ["checkout-2-a", "fixed"]}}
    assert command.argv == ("/usr/local/bin/flush-cache", "--service", "checkout-2")
    assert command.env_names == ("KUBECONFIG",) and command.timeout == 60
    assert manual.text == "Check the dashboard for {{ service }}."  # shown as written, never templated
    assert plan.params == {"service": "checkout-2"}


def test_values_a_loose_pattern_allows_are_url_encoded_and_stay_strings() -> None:
    loose = _runbook(params={"service": {"label": "service", "pattern": "[a-z0-9=%@,/:+-]{1,60}"}})
    plan = plan_run(Runbook.model_validate(loose), {"service": "a=b%c@d,e/f:g+h"})
    http = plan.steps[0]
    encoded = "a%3Db%25c%40d%2Ce%2Ff%3Ag%2Bh"
    assert http.url == f"https://rundeck.example.com/api/job/{encoded}/run?note={encoded}"
    assert http.body["options"]["service"] == "a=b%c@d,e/f:g+h"  # a JSON string, whatever it holds


HOSTILE = [
    "x; rm -rf /",
    "$(id)",
    "`id`",
    "checkout\nmalicious",
    "../../etc",
    "..",
    "--config=/etc/passwd",
    "a|b",
    "{{ 7*7 }}",
    "x' OR '1'='1",
    "tab\there",
    "nul\x00byte",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_label_values_are_refused_even_by_a_permissive_pattern(value: str) -> None:
    strict = Runbook.model_validate(_runbook())
    permissive = Runbook.model_validate(_runbook(params={"service": {"label": "service", "pattern": "(?s).+"}}))
    for runbook in (strict, permissive):
        with pytest.raises(ParameterRefused) as refused:
            plan_run(runbook, {"service": value})
        assert refused.value.param == "service" and refused.value.label == "service"
        assert "\n" not in refused.value.describe()  # the value is quoted, never raw


def test_a_missing_label_is_refused() -> None:
    with pytest.raises(ParameterRefused, match="has no `service` label"):
        plan_run(Runbook.model_validate(_runbook()), {"alertname": "HighErrorRate"})


def test_trailing_newline_does_not_slip_past_an_anchored_pattern() -> None:
    runbook = Runbook.model_validate(_runbook(params={"service": {"label": "service", "pattern": "^[a-z]+$"}}))
    with pytest.raises(ParameterRefused, match="does not match its pattern"):
        plan_run(runbook, {"service": "checkout\n"})
