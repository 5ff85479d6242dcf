"""The `reports:` section of the config file: SLA targets, the daily report, templates."""

from __future__ import annotations

from datetime import time as time_of_day, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from core.settings_types import Duration, StrictModel, TimeZoneName
from core.vocabulary import Priority


class DailyReportSettings(StrictModel):
    enabled: bool = False  # opt-in: a deployment chooses to post in a channel every day
    time: time_of_day = time_of_day(8, 0)  # local time in `timezone`; the report covers the previous day
    timezone: TimeZoneName | None = None  # default: issue_log.timezone, so "today" means the same everywhere
    channel: str | None = None  # default: managers_channel; a channel id (C…) also gets the chart


class ReportSettings(StrictModel):
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
