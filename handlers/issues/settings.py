"""The `issue_log:` section of the config file."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import Field

from core.settings_types import StrictModel, TimeZoneName


class IssueLogSettings(StrictModel):
    """The issue log in Slack: /issue, the App Home tab and the CSV export."""

    timezone: TimeZoneName = "UTC"  # IANA name: what "today"/"week"/"month" mean, and the dates in CSV exports
    list_page_size: int = Field(default=20, ge=1, le=40)  # issues per /issue list reply
    export_page_size: int = Field(default=500, ge=10, le=5000)  # rows read per query while exporting
    home_issues_per_priority: int = Field(default=3, ge=0, le=10)  # newest open issues shown per priority

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
