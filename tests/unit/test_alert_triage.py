"""Triage of a new alert's issue: the built-in category rules, their order against the config, the
knowledge base and labels, and the minor/complex rule."""

from __future__ import annotations

import pytest

from core.vocabulary import Category, IssueClass, Priority
from handlers.alerts.category_rules import builtin_category, words
from handlers.alerts.settings import AlertRouting
from handlers.alerts.triage import AlertTriage, CategorySource, classify
from knowledge_base import KnowledgeBase

INF, DB, APP, TP, SEC = (
    Category.INFRASTRUCTURE, Category.DATABASE, Category.APPLICATION, Category.THIRD_PARTY, Category.SECURITY,
)


def test_names_are_read_as_words() -> None:
    assert words("HighCPUUsage") == "high cpu usage"
    assert words("High5xxRate") == "high 5xx rate"
    assert words("SSLCertExpired") == "ssl cert expired"
    assert words("node-exporter") == "node exporter"
    assert words("ContainerOOMKilled") == "container oom killed"


@pytest.mark.parametrize(
    ("alertname", "expected"),
    [
        # node/host, disk, CPU, memory -> infrastructure
        ("NodeFilesystemSpaceFillingUp", INF), ("DiskSpaceLow", INF), ("HostHighCpuLoad", INF),
        ("HighMemoryUsage", INF), ("ContainerOOMKilled", INF), ("InstanceDown", INF), ("HighNetworkLatency", INF),
        ("High CPU usage", INF), ("Zulip Server Low Storage", INF),  # titles of Grafana and New Relic rules
        # Postgres/MySQL/Redis, replication, slow queries -> database
        ("PostgresReplicationLag", DB), ("MySQLSlowQueries", DB), ("RedisDown", DB), ("RedisMemoryHigh", DB),
        ("DatabaseQueryTimeHigh", DB), ("PostgresSlowQueries", DB), ("BackupFailed", DB),
        # HTTP 5xx, latency, deploys -> application
        ("HighErrorRate", APP), ("High5xxRate", APP), ("HighLatency", APP), ("DeploymentFailed", APP),
        ("KubePodCrashLooping", APP), ("KubeDeploymentReplicasMismatch", APP), ("CronJobFailed", APP),
        # payment, email, auth provider -> third-party
        ("PaymentGatewayErrors", TP), ("EmailDeliveryFailures", TP), ("SMTPQueueGrowing", TP),
        ("AuthProviderDown", TP), ("IdentityProviderDown", TP), ("SSOLoginErrors", TP),
        # certificates, logins, intrusion -> security
        ("CertificateExpiringSoon", SEC), ("SSLCertExpired", SEC), ("ProbeSSLCertExpiry", SEC),
        ("LoginFailuresHigh", SEC), ("IntrusionDetected", SEC), ("AccountLockoutsSpike", SEC),
    ],
)
def test_builtin_rules_know_common_alert_names(alertname: str, expected: Category) -> None:
    assert builtin_category(alertname, {}) is expected


def test_labels_speak_when_the_name_does_not() -> None:
    assert builtin_category("Watchdog", {}) is None
    assert builtin_category("Watchdog", {"instance": "db-1:9100"}) is None  # where, not what
    assert builtin_category("UsageHigh", {"job": "node-exporter"}) is INF
    assert builtin_category("UsageHigh", {"job": "postgres-exporter"}) is DB
    assert builtin_category("SpaceLow", {"mountpoint": "/var", "fstype": "ext4"}) is INF
    assert builtin_category("Burn", {"handler": "/checkout"}) is APP
    assert builtin_category("HighErrorRate", {"job": "postgres"}) is APP  # the name first


def _routing(**config: object) -> AlertRouting:
    return AlertRouting.model_validate(config)


def test_the_config_wins_then_the_label_then_the_article_then_the_rules_then_the_default() -> None:
    articles = {"DiskSpaceLow": "infrastructure", "RedisMemoryHigh": "application", "Odd": "other"}
    triage = AlertTriage(_routing(), article_category=articles.get)
    assert triage.category("RedisMemoryHigh", {}).category is APP  # the article over the rule (database)
    assert triage.category("RedisMemoryHigh", {}).source == CategorySource.ARTICLE
    assert triage.category("RedisMemoryHigh", {"category": "Security"}).category is SEC
    assert triage.category("Odd", {}).source == CategorySource.DEFAULT  # an "other" article says nothing
    assert triage.category("PostgresDown", {}).source == CategorySource.RULE
    assert triage.category("Watchdog", {}).category is Category.OTHER

    overriding = _routing(
        categories=[{"match": {"alertname": "DiskSpaceLow"}, "category": "database"}], default_category="application"
    )
    triage = AlertTriage(overriding, article_category=articles.get)
    choice = triage.category("DiskSpaceLow", {"alertname": "DiskSpaceLow", "category": "security"})
    assert (choice.category, choice.source) == (DB, CategorySource.CONFIG)
    assert triage.category("Watchdog", {}).category is APP


def test_while_the_knowledge_base_loads_the_rules_answer() -> None:
    assert AlertTriage(_routing(), article_category=lambda name: None).category("DiskFull", {}).category is INF


def test_bundled_articles_and_rules_agree_on_the_sample_alerts() -> None:
    kb = KnowledgeBase.load_default()
    for alertname in ("HighErrorRate", "DiskSpaceLow", "DiskFull", "DatabaseQueryTimeHigh", "HighCPUUsage"):
        article = kb.search_for_alert(alertname)
        assert article is not None and builtin_category(alertname, {}) == article.category, alertname


def test_minor_means_a_runbook_applies_and_the_priority_is_not_high() -> None:
    assert classify(Priority.MEDIUM, True) is IssueClass.MINOR
    assert classify("Low", True) is IssueClass.MINOR
    assert classify(Priority.HIGH, True) is IssueClass.COMPLEX
    assert classify(Priority.MEDIUM, False) is IssueClass.COMPLEX
    applies = AlertTriage(_routing(), runbook_applies=lambda labels: any(l.get("alertname") == "DiskFull" for l in labels))
    assert applies.issue_class("Medium", [{"alertname": "DiskFull"}]) is IssueClass.MINOR
    assert applies.issue_class("Medium", [{"alertname": "Other"}]) is IssueClass.COMPLEX
    assert AlertTriage(_routing()).issue_class("Low", [{"alertname": "DiskFull"}]) is IssueClass.COMPLEX
