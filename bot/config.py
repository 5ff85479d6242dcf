"""The deployment's YAML configuration (OPSBOT_CONFIG): routing, priorities, categories, teams, roles.

Loaded once by the composition root; every rule here is data, so a team changes behaviour without code.
"""

from __future__ import annotations

import re
from datetime import time as time_of_day, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from handlers.autofix.runbooks import Runbooks
from handlers.config_types import TimeZoneName
from handlers.escalations.teams import Teams
from handlers.performance.settings import PerformanceSettings
from handlers.roles import RoleSettings


class Priority(StrEnum):
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"


class Category(StrEnum):
    DATABASE = "database"
    APPLICATION = "application"
    INFRASTRUCTURE = "infrastructure"
    THIRD_PARTY = "third-party"
    SECURITY = "security"
    OTHER = "other"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabelMatcher(_Strict):
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


class StormSettings(_Strict):
    """When many alerts arrive together they become one grouped message instead of a flood."""

    threshold: int = Field(default=5, ge=2)
    window_seconds: int = Field(default=300, ge=1)


class DeliverySettings(_Strict):
    channel_messages_per_second: float = Field(default=1.0, gt=0)
    max_attempts: int = Field(default=0, ge=0)  # 0: keep retrying, nothing accepted is dropped
    lease_seconds: float = Field(default=60.0, gt=0)
    poll_interval_seconds: float = Field(default=0.5, gt=0)


class IssueLogSettings(_Strict):
    """The issue log in Slack: /issue, the App Home tab and the CSV export."""

    timezone: TimeZoneName = "UTC"  # IANA name: what "today"/"week"/"month" mean, and the dates in CSV exports
    list_page_size: int = Field(default=20, ge=1, le=40)  # issues per /issue list reply
    export_page_size: int = Field(default=500, ge=10, le=5000)  # rows read per query while exporting
    home_issues_per_priority: int = Field(default=3, ge=0, le=10)  # newest open issues shown per priority

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.I)
_DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def _parse_duration(value: object) -> object:
    """People write "4h", "90m", "1d 12h"; plain numbers are seconds; anything else is left to pydantic."""
    if isinstance(value, str):
        text = value.strip().lower()
        parts = _DURATION_PART.findall(text)
        if parts and _DURATION_PART.sub("", text).strip() == "":
            return timedelta(seconds=sum(float(n) * _DURATION_UNITS[u.lower()] for n, u in parts))
    return value


Duration = Annotated[timedelta, BeforeValidator(_parse_duration)]


class SurveyAudience(StrEnum):
    RESPONDERS = "responders"  # whoever acknowledged, resolved or was assigned (Slack users only)
    NONE = "none"


class SurveySettings(_Strict):
    """Satisfaction surveys sent when an issue is resolved (handlers/surveys)."""

    enabled: bool = True
    alert_audience: SurveyAudience = SurveyAudience.RESPONDERS  # staff issues always ask the reporter
    reminder_after: Duration = timedelta(hours=24)
    low_score_threshold: int = Field(default=2, ge=1, le=5)  # any answer at or below goes to managers_channel


class DailyReportSettings(_Strict):
    enabled: bool = False  # opt-in: a deployment chooses to post in a channel every day
    time: time_of_day = time_of_day(8, 0)  # local time in `timezone`; the report covers the previous day
    timezone: TimeZoneName | None = None  # default: issue_log.timezone, so "today" means the same everywhere
    channel: str | None = None  # default: managers_channel; a channel id (C…) also gets the chart


class ReportSettings(_Strict):
    """Summaries and the daily report (handlers/summaries)."""

    sla_targets: dict[Priority, Duration] = Field(
        default_factory=lambda: {
            Priority.HIGH: timedelta(hours=4),
            Priority.MEDIUM: timedelta(hours=24),
            Priority.LOW: timedelta(hours=72),
        }
    )
    daily: DailyReportSettings = Field(default_factory=DailyReportSettings)
    templates_dir: Path | None = None  # templates here override the bundled ones, file by file
    top_alerts: int = Field(default=5, ge=1, le=20)

    @field_validator("templates_dir")
    @classmethod
    def _directory_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"not a directory: {value}")
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The team's time zone: periods ("today", "week") and the daily report are calendar days in it."""
        return ZoneInfo(self.daily.timezone or "UTC")


class OpsConfig(_Strict):
    default_channel: str = "#alerts"
    helpdesk_channel: str = "#help-desk"
    managers_channel: str = "#ops-managers"
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
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    key_labels: list[str] = Field(
        default_factory=lambda: ["severity", "service", "instance", "job", "namespace", "cluster", "env"]
    )
    # Sections that later features own; validated by them, kept as data here.
    teams: Teams = Field(default_factory=dict)  # who takes escalations (handlers/escalations/teams.py)
    runbooks: Runbooks = Field(default_factory=list)  # automatic fixes (handlers/autofix/runbooks.py)
    roles: RoleSettings = Field(default_factory=RoleSettings)
    issue_log: IssueLogSettings = Field(default_factory=IssueLogSettings)
    surveys: SurveySettings = Field(default_factory=SurveySettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    performance: PerformanceSettings = Field(default_factory=PerformanceSettings)  # KPIs (handlers/performance)

    @model_validator(mode="after")
    def _reports_use_the_team_zone(self) -> "OpsConfig":
        if self.reports.daily.timezone is None:
            daily = self.reports.daily.model_copy(update={"timezone": self.issue_log.timezone})
            object.__setattr__(self, "reports", self.reports.model_copy(update={"daily": daily}))
        return self

    @model_validator(mode="after")
    def _lowercase_severities(self) -> "OpsConfig":
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


class ConfigError(RuntimeError):
    """The config file is unreadable or invalid; the message names the file and the key."""


def load_config(path: Path | None) -> OpsConfig:
    if path is None:
        return OpsConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"invalid setting OPSBOT_CONFIG: cannot read {path}: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"invalid setting OPSBOT_CONFIG: {path} must hold a mapping at the top level")
    try:
        return OpsConfig.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ConfigError(f"invalid setting OPSBOT_CONFIG: {path}: {where}: {first['msg']}") from None
