"""The `surveys:` section of the config file."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import Field

from core.settings_types import Duration, StrictModel


class SurveyAudience(StrEnum):
    RESPONDERS = "responders"  # whoever acknowledged, resolved or was assigned (Slack users only)
    NONE = "none"


class SurveySettings(StrictModel):
    """Satisfaction surveys sent when an issue is resolved (handlers/surveys)."""

    enabled: bool = True
    alert_audience: SurveyAudience = SurveyAudience.RESPONDERS  # staff issues always ask the reporter
    reminder_after: Duration = timedelta(hours=24)
    low_score_threshold: int = Field(default=2, ge=1, le=5)  # any answer at or below goes to managers_channel
