"""Built-in category rules: what an alert's name (and a few labels) say about where it broke.

They apply when neither the config's `categories:` nor the knowledge base's article for the alert
gives a category, so a team that configures nothing still sees DiskSpaceLow under infrastructure and
PostgresReplicationLag under database. Names are read as words ("HighCPUUsage" is "high cpu usage",
"node-exporter" is "node exporter"), and the rules are tried in order, the first match winning: the
more specific areas first, so "PostgresSlowQueries" is database before "slow" makes it application,
and "HighNetworkLatency" infrastructure before "latency" does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from core.vocabulary import Category

_CAMEL_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+(?:[a-z]+|[A-Z]+(?![a-z]))?")
LABELS_READ = ("job", "service", "component", "app", "container")  # labels that name what is monitored
"""Never `instance`: host names such as db-1 or web-2 say where, not what broke."""


def words(text: str) -> str:
    """An alert or label name as lower-case words: "High5xxRate" -> "high 5xx rate"."""
    return " ".join(word.lower() for word in _CAMEL_WORDS.findall(text))


def _rule(*terms: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(terms) + r")\b")


@dataclass(frozen=True)
class CategoryRule:
    category: Category
    pattern: re.Pattern[str]
    about: str  # what the rule recognises, for people reading a timeline or the docs


BUILTIN_RULES: tuple[CategoryRule, ...] = (
    CategoryRule(Category.THIRD_PARTY, _rule(
        r"payments?", "stripe", "paypal", "adyen", "braintree", r"e ?mails?", "smtp", "mailgun", "sendgrid",
        "postmark", r"bounces?", "sso", "idp", "identity provider", "oidc", "saml", "okta", "auth0",
        "auth provider", "oauth", "twilio", "sms", "third party", "vendor",
    ), "payments, e-mail, identity / auth providers, other vendors"),
    CategoryRule(Category.SECURITY, _rule(
        r"certs?", r"certificates?", "ssl", "tls", r"x ?509", r"logins?", "log in", r"sign ?ins?", "brute force",
        "intrusion", r"intruders?", r"unauthori[sz]ed", r"lockouts?", "locked out", r"passwords?", "mfa",
        "waf", "malware", "suspicious",
    ), "certificates, logins, intrusion"),
    CategoryRule(Category.DATABASE, _rule(
        "postgres", "postgresql", "pg", "pgbouncer", "mysql", "mariadb", "redis", "mongo", "mongodb",
        r"databases?", "db", "sql", "replication", "replica", r"slow quer(?:y|ies)", r"quer(?:y|ies)",
        r"deadlocks?", r"lock waits?", r"backups?", "restore", "wal", "vacuum", "connection pool",
    ), "Postgres, MySQL, Redis, replication, slow queries, backups"),
    CategoryRule(Category.INFRASTRUCTURE, _rule(
        r"nodes?", r"hosts?", r"disks?", "filesystem", "fs", r"inodes?", "cpu", "load", "memory", "mem",
        "oom", "swap", "network", r"packets?", "kubelet", "vm", "ntp", "clock skew", "dns", "down",
        "unreachable", "probe", "blackbox", "instance", "target", r"volumes?", "storage",
    ), "nodes and hosts, disk, CPU, memory, network, something down"),
    CategoryRule(Category.APPLICATION, _rule(
        "http", "https", "5xx", "4xx", "500", "502", "503", "504", r"errors?", "error rate", r"exceptions?",
        "latency", "slow", "response time", r"responses?", "apdex", r"requests?", r"deploys?", r"deployments?",
        "rollout", "rollback", "release", "crash", "crash looping", r"pods?", "cron", r"jobs?", "api",
        "frontend", "backend", "app", "application", "queue", "cache",
    ), "HTTP errors, latency, deploys, jobs"),
)

LABEL_NAME_HINTS: tuple[tuple[frozenset[str], Category], ...] = (
    (frozenset({"mountpoint", "fstype", "device"}), Category.INFRASTRUCTURE),  # node_exporter's filesystem labels
    (frozenset({"datname", "database", "db"}), Category.DATABASE),
    (frozenset({"status_code", "handler", "route", "method"}), Category.APPLICATION),
)


@functools.lru_cache(maxsize=4096)  # on every new alert's commit path; names and job labels repeat
def category_of_words(text: str) -> Category | None:
    """The first built-in rule that matches a name, or None."""
    said = words(text)
    for rule in BUILTIN_RULES:
        if rule.pattern.search(said):
            return rule.category
    return None


def builtin_category(alertname: str, labels: Mapping[str, str]) -> Category | None:
    """The alert's name first; then the labels naming what is monitored (job, service, ...); then
    which labels it carries (a `mountpoint` is a filesystem). None when nothing is recognised."""
    found = category_of_words(alertname)
    if found is not None:
        return found
    for name in LABELS_READ:
        value = labels.get(name)
        if value and (found := category_of_words(value)) is not None:
            return found
    for names, category in LABEL_NAME_HINTS:
        if names & labels.keys():
            return category
    return None
