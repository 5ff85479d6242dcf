"""The `surveys:` section of the config file."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import Field, model_validator

from core.settings_types import Duration, StrictModel


class SurveyAudience(StrEnum):
    """Who is asked about an alert issue nobody reported, asked about or escalated."""

    NONE = "none"  # nobody: the responders would be rating their own work
    RESPONDERS = "responders"  # whoever acknowledged, resolved or was assigned (Slack users only)


class SurveySettings(StrictModel):
    """Satisfaction surveys sent when an issue is resolved (handlers/surveys): to the people who were
    helped, i.e. the reporter (or asker) of a staff issue and whoever escalated an issue by hand."""

    enabled: bool = True
    alert_issues: SurveyAudience = SurveyAudience.NONE
    alert_audience: SurveyAudience | None = None  # the former name of `alert_issues`, still read
    reminder_after: Duration = timedelta(hours=24)
    low_score_threshold: int = Field(default=2, ge=1, le=5)  # any answer at or below goes to managers_channel

    @model_validator(mode="after")
    def _former_name(self) -> "SurveySettings":
        if self.alert_audience is not None and "alert_issues" not in self.model_fields_set:
            object.__setattr__(self, "alert_issues", self.alert_audience)
        return self
