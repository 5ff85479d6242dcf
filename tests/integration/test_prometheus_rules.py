"""examples/prometheus/rules.yml: promtool accepts the rules and their unit tests pass, and each rule's
alert, sent through the bot as Alertmanager sends it, opens an issue that points at its article and
has the intended priority."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import frontmatter
import pytest
import yaml

from tests.harness import RunningBot, fixture_json

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "examples" / "prometheus" / "rules.yml"
RULE_TESTS = ROOT / "examples" / "prometheus" / "rules_test.yml"
ARTICLES = ROOT / "knowledge_base" / "articles"
PRIORITY_OF_SEVERITY = {"critical": "High", "warning": "Medium"}  # the default config's severity_priority
PROMTOOL_MISSING = (
    "promtool not found; install Debian's `prometheus` package "
    "(`make test` does so via scripts/ensure-system-deps.sh)"
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, PROMTOOL_MISSING
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, cwd=RULES.parent)


def rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def fired_alerts() -> dict[str, dict[str, Any]]:
    """One alert per rule, as Prometheus rendered it in rules_test.yml (checked there by promtool):
    its labels, alertname included, and its templated annotations."""
    alerts: dict[str, dict[str, Any]] = {}
    for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for case in test["alert_rule_test"]:
            for expected in case.get("exp_alerts") or []:
                labels = {"alertname": case["alertname"], **{k: str(v) for k, v in expected["exp_labels"].items()}}
                alerts.setdefault(case["alertname"], {"labels": labels, "annotations": expected["exp_annotations"]})
    return alerts


def test_promtool_accepts_the_rules() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_the_rules_unit_tests_pass_and_cover_every_rule() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert {rule["alert"] for rule in rules()} == set(fired_alerts())


def test_every_rule_names_an_alert_its_article_lists_and_links_the_article() -> None:
    for rule in rules():
        article_path = ROOT / rule["annotations"]["runbook_url"]
        assert article_path.parent == ARTICLES and article_path.is_file(), rule["alert"]
        article = frontmatter.load(article_path)
        assert rule["alert"] in article["alerts"], f"{rule['alert']} is not in {article_path.name}'s alerts"
        assert rule["labels"]["severity"] in PRIORITY_OF_SEVERITY and rule["labels"]["category"] == article["category"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def _notification(alertname: str, alert: dict[str, Any], number: int) -> dict[str, Any]:
    body = fixture_json("alertmanager_real_firing.json")
    [template, _] = body["alerts"]
    body["alerts"] = [{**template, "labels": alert["labels"], "annotations": alert["annotations"],
                       "fingerprint": f"rule{number:012d}"}]
    body["commonLabels"] = alert["labels"]
    body["groupLabels"] = {"alertname": alertname}
    body["commonAnnotations"] = alert["annotations"]
    body["groupKey"] = f'{{}}:{{alertname="{alertname}"}}'
    return body


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_each_rules_alert_reaches_slack_with_its_article_and_priority(bot: RunningBot) -> None:
    knowledge = await bot.opsbot.knowledge.get()  # loaded in the background at start-up
    alerts = fired_alerts()
    severity = {rule["alert"]: rule["labels"]["severity"] for rule in rules()}
    article_of = {rule["alert"]: frontmatter.load(ROOT / rule["annotations"]["runbook_url"])["title"] for rule in rules()}
    for number, (alertname, alert) in enumerate(sorted(alerts.items())):
        status, answer = await bot.post_webhook("alertmanager", _notification(alertname, alert, number))
        assert status == 202 and answer["issues_opened"] == 1, (alertname, answer)
        found = knowledge.search_for_alert(alertname, alert["annotations"]["summary"])
        assert found is not None and found.title == article_of[alertname], alertname

    posts = await bot.standin.wait_for("chat.postMessage", count=len(alerts))
    await bot.outbox_drained()
    by_name = {}
    for post in posts:
        [name] = [name for name in alerts if post.args["text"].split("] ", 1)[1].startswith(f"{name}: ")]
        by_name[name] = post.args
    assert set(by_name) == set(alerts)
    for alertname, message in by_name.items():
        rendered = json.dumps(message["blocks"], ensure_ascii=False)
        assert message["text"].startswith(f"[{PRIORITY_OF_SEVERITY[severity[alertname]]}] {alertname}: "), message["text"]
        assert f"📖 {article_of[alertname]} (in Slack: `/ask {alertname}`)" in rendered, alertname
        assert f"*Runbook:* {alerts[alertname]['annotations']['runbook_url']}" in rendered
        assert "Silence" in rendered  # a Silence button from the notification's externalURL
