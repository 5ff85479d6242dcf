"""The deployment's YAML configuration (OPSBOT_CONFIG): routing, priorities, categories, teams, roles.

Loaded once by the composition root; every rule here is data, so a team changes behaviour without code.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import Field, ValidationError, model_validator

from delivery.settings import DeliverySettings
from handlers.alerts.settings import AlertRouting
from handlers.autofix.library import RunbookLibrarySettings, check_configured
from handlers.autofix.runbooks import Runbooks
from handlers.escalations.teams import Teams
from handlers.issues.settings import IssueLogSettings
from handlers.knowledge.settings import KnowledgeSettings
from handlers.performance.settings import PerformanceSettings
from handlers.roles import RoleSettings
from handlers.silences.settings import AlertmanagerSettings
from handlers.summaries.settings import ReportSettings
from handlers.surveys.settings import SurveySettings


class OpsConfig(AlertRouting):
    """The whole config file: the alert routing keys at the top level, then one section per feature.

    Each section's model belongs to its feature; this class only puts them together (and keeps the
    file's keys as deployments already write them).
    """

    helpdesk_channel: str = "#help-desk"
    managers_channel: str = "#ops-managers"
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    teams: Teams = Field(default_factory=dict)  # who takes escalations (handlers/escalations/teams.py)
    runbooks: Runbooks = Field(default_factory=list)  # automatic fixes (handlers/autofix/runbooks.py)
    runbook_library: RunbookLibrarySettings = Field(default_factory=RunbookLibrarySettings)  # bundled runbooks
    roles: RoleSettings = Field(default_factory=RoleSettings)
    issue_log: IssueLogSettings = Field(default_factory=IssueLogSettings)
    surveys: SurveySettings = Field(default_factory=SurveySettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    performance: PerformanceSettings = Field(default_factory=PerformanceSettings)  # KPIs (handlers/performance)
    knowledge_base: KnowledgeSettings = Field(default_factory=KnowledgeSettings)  # write-ups (handlers/knowledge)
    alertmanager: AlertmanagerSettings = Field(default_factory=AlertmanagerSettings)  # silences from Slack

    @model_validator(mode="after")
    def _runbooks_match_alerts(self) -> "OpsConfig":
        check_configured(self.runbooks)  # one without alerts to match must replace a bundled runbook
        return self

    @model_validator(mode="after")
    def _reports_use_the_team_zone(self) -> "OpsConfig":
        if self.reports.daily.timezone is None:
            daily = self.reports.daily.model_copy(update={"timezone": self.issue_log.timezone})
            object.__setattr__(self, "reports", self.reports.model_copy(update={"daily": daily}))
        return self


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
