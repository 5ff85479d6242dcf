"""The category, class and runbook each bundled sample alert gets with no config, and how often the
built-in rules alone agree with the bundled articles.

    .venv/bin/python bench/triage_samples.py

Each sample goes through the webhook's own parser and the same triage the alert pipeline runs
(handlers/alerts/triage.py), with the bundled knowledge base and runbook library as bot/app.py wires
them. Prometheus rules carry a `category` label of their own; they are shown without it, which is what
an alert from a team's own rules looks like.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import OpsConfig  # noqa: E402
from handlers.alerts.category_rules import builtin_category  # noqa: E402
from handlers.alerts.triage import AlertTriage  # noqa: E402
from handlers.alerts.bodies import PARSERS  # noqa: E402
from handlers.autofix.library import bundled_runbooks  # noqa: E402
from handlers.autofix.runbooks import RunbookCatalog  # noqa: E402
from knowledge_base import KnowledgeBase  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
SAMPLES = [
    ("alertmanager", ROOT / "examples" / "alertmanager-firing.json"),
    ("alertmanager", FIXTURES / "alertmanager_real_amtool_firing.json"),
    ("alertmanager", FIXTURES / "alertmanager_real_firing_truncated.json"),
    ("grafana", FIXTURES / "grafana_webhook_firing_docs.json"),
    ("grafana", FIXTURES / "grafana_webhook_firing_v11_zulip.json"),
    ("grafana", FIXTURES / "grafana_webhook_firing_integration_test.json"),
    ("newrelic", FIXTURES / "newrelic_webhook_default_activated.json"),
]


def sample_alerts() -> list[tuple[str, dict[str, str]]]:
    """(where from, labels) of every sample alert, first of each name."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for source, path in SAMPLES:
        for alert in PARSERS[source](json.loads(path.read_text())).alerts:
            found.setdefault(alert.alertname, (path.name, alert.labels))
    rules = yaml.safe_load((ROOT / "examples" / "prometheus" / "rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            labels = {"alertname": rule["alert"], **{k: v for k, v in rule.get("labels", {}).items() if k != "category"}}
            found.setdefault(rule["alert"], ("prometheus/rules.yml", labels))
    found.setdefault("DemoServiceErrors", ("stand-in demo service", {
        "alertname": "DemoServiceErrors", "service": "demo", "instance": "demo-1:8080", "severity": "critical"}))
    return list(found.values())


def main() -> None:
    config = OpsConfig()
    kb = KnowledgeBase.load_default()
    catalog = RunbookCatalog(config.runbooks, bundled_runbooks(config.runbook_library))

    def article_category(alertname: str) -> str | None:
        result = kb.search_for_alert(alertname=alertname)  # as KnowledgeBaseLoader.category_for_alert
        return result.category if result is not None and result.matched_alert is not None else None

    triage = AlertTriage(config, article_category=article_category, runbook_applies=catalog.has_match)
    print(f"{'alert':<30} {'from':<44} {'priority':<8} {'category':<15} {'by':<13} {'class':<8} runbook")
    for origin, labels in sample_alerts():
        name = labels.get("alertname", "Alert")
        priority = config.priority_for(labels)
        choice = triage.category(name, labels)
        runbook = catalog.runbook_for([labels])
        issue_class = triage.issue_class(priority, [labels])
        print(f"{name[:30]:<30} {origin[:44]:<44} {priority:<8} {choice.category:<15} {choice.source:<13} "
              f"{issue_class:<8} {runbook.id if runbook else '—'}")

    names = [(name, article.category) for article in kb.articles for name in article.alerts]
    agree = sum(builtin_category(name, {}) == category for name, category in names)
    print(f"\nbuilt-in rules alone agree with the bundled articles on {agree} of {len(names)} alert names")


if __name__ == "__main__":
    main()
