"""Triage of a new alert's issue: its category and whether it is minor or complex, decided once as it opens.

Category, first that answers:
1. the config's `categories:` rules (the team's own word always wins);
2. an explicit `category` label on the alert;
3. the knowledge-base article the alert matches (its front matter's `category:`);
4. the built-in rules for common alert names and labels (category_rules.py);
5. the config's `default_category` ("other").

Class: minor when a runbook applies to the alerts and the priority is not High; complex otherwise.
Both lookups come in as callables from the composition root (the knowledge base, the runbook
catalogue), so this package imports neither and picks up whatever runbooks the catalogue holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from core.vocabulary import Category, IssueClass, Priority
from handlers.alerts.category_rules import builtin_category
from handlers.alerts.settings import AlertRouting

ArticleCategory = Callable[[str], "str | None"]  # alertname -> the category of the article it matches
RunbookApplies = Callable[[Sequence[Mapping[str, str]]], bool]  # alerts' labels -> does a runbook fit


class CategorySource:
    """Where an issue's category came from, kept in the "opened" event of its timeline."""

    CONFIG = "config"
    LABEL = "label"
    ARTICLE = "article"
    RULE = "built-in rule"
    DEFAULT = "default"


@dataclass(frozen=True)
class CategoryChoice:
    category: Category
    source: str


def classify(priority: Priority | str, runbook_applies: bool) -> IssueClass:
    """Minor: the team has a procedure for it (a runbook applies) and it is not urgent (not High)."""
    if runbook_applies and str(priority) != Priority.HIGH.value:
        return IssueClass.MINOR
    return IssueClass.COMPLEX


class AlertTriage:
    def __init__(
        self,
        routing: AlertRouting,
        *,
        article_category: ArticleCategory | None = None,
        runbook_applies: RunbookApplies | None = None,
    ) -> None:
        """`article_category` answers None while the knowledge base is loading (the built-in rules,
        which cover the bundled articles' alerts, answer meanwhile)."""
        self._routing = routing
        self._article_category = article_category
        self._runbook_applies = runbook_applies

    def category(self, alertname: str, labels: Mapping[str, str]) -> CategoryChoice:
        plain = dict(labels)
        for rule in self._routing.categories:
            if rule.matches(plain):
                return CategoryChoice(rule.category, CategorySource.CONFIG)
        explicit = (labels.get("category") or "").lower()
        if explicit in Category._value2member_map_:
            return CategoryChoice(Category(explicit), CategorySource.LABEL)
        if self._article_category is not None:
            found = self._article_category(alertname)
            if found and found in Category._value2member_map_ and found != Category.OTHER:
                return CategoryChoice(Category(found), CategorySource.ARTICLE)
        builtin = builtin_category(alertname, labels)
        if builtin is not None:
            return CategoryChoice(builtin, CategorySource.RULE)
        return CategoryChoice(self._routing.default_category, CategorySource.DEFAULT)

    def issue_class(self, priority: Priority | str, alerts_labels: Sequence[Mapping[str, str]]) -> IssueClass:
        applies = self._runbook_applies is not None and bool(alerts_labels) and self._runbook_applies(alerts_labels)
        return classify(priority, applies)
