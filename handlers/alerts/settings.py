"""The alert side of the config file: routes to channels, severity to priority, categories, storms."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from core.settings_types import StrictModel
from core.vocabulary import Category, Priority


class LabelMatcher(StrictModel):
    """Alertmanager-style matching: `match` is exact equality, `match_re` a fully anchored regex."""

    match: dict[str, str] = Field(default_factory=dict)
    match_re: dict[str, str] = Field(default_factory=dict)

    @field_validator("match_re")
    @classmethod
    def _compile(cls, value: dict[str, str]) -> dict[str, str]:
        for label, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"bad regex for label {label!r}: {error}") from None
        return value

    def matches(self, labels: dict[str, str]) -> bool:
        for label, expected in self.match.items():
            if labels.get(label) != expected:
                return False
        for label, pattern in self.match_re.items():
            if re.fullmatch(pattern, labels.get(label, "")) is None:
                return False
        return True


class ChannelRoute(LabelMatcher):
    channel: str


class CategoryRule(LabelMatcher):
    category: Category


class StormSettings(StrictModel):
    """When many alerts arrive together they become one grouped message instead of a flood."""

    threshold: int = Field(default=5, ge=2)
    window_seconds: int = Field(default=300, ge=1)


class AlertRouting(StrictModel):
    """Where an alert goes and how it is labelled: channel routes, severity → priority, categories,
    storms and the labels the message shows. These are the config file's top-level keys."""

    default_channel: str = "#alerts"
    routes: list[ChannelRoute] = Field(default_factory=list)
    severity_priority: dict[str, Priority] = Field(
        default_factory=lambda: {
            "critical": Priority.HIGH,
            "page": Priority.HIGH,
            "error": Priority.HIGH,
            "high": Priority.HIGH,
            "warning": Priority.MEDIUM,
            "warn": Priority.MEDIUM,
            "medium": Priority.MEDIUM,
            "info": Priority.LOW,
            "low": Priority.LOW,
            "none": Priority.LOW,
        }
    )
    default_priority: Priority = Priority.MEDIUM
    categories: list[CategoryRule] = Field(default_factory=list)
    default_category: Category = Category.OTHER
    storm: StormSettings = Field(default_factory=StormSettings)
    key_labels: list[str] = Field(
        default_factory=lambda: ["severity", "service", "instance", "job", "namespace", "cluster", "env"]
    )

    @model_validator(mode="after")
    def _lowercase_severities(self) -> "AlertRouting":
        object.__setattr__(
            self, "severity_priority", {key.lower(): value for key, value in self.severity_priority.items()}
        )
        return self

    def channel_for(self, labels: dict[str, str]) -> str:
        for route in self.routes:
            if route.matches(labels):
                return route.channel
        return self.default_channel

    def priority_for(self, labels: dict[str, str]) -> Priority:
        severity = (labels.get("severity") or labels.get("priority") or "").lower()
        return self.severity_priority.get(severity, self.default_priority)

    def category_for(self, labels: dict[str, str]) -> Category:
        for rule in self.categories:
            if rule.matches(labels):
                return rule.category
        explicit = (labels.get("category") or "").lower()
        if explicit in Category._value2member_map_:
            return Category(explicit)
        return self.default_category
