"""The App Home tab, published whenever someone opens it (`app_home_opened`)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from handlers.home.blocks import build_home_view
from handlers.issues.service import IssueService
from handlers.issues.settings import IssueLogSettings
from handlers.slack.listeners import reporting_errors


class HomeTab:
    def __init__(self, issues: IssueService, settings: IssueLogSettings) -> None:
        self._issues = issues
        self._settings = settings

    async def publish(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        """Events are acked by Bolt before this runs; the Messages tab opening needs no view."""
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        overview = await self._issues.home(
            user, tz=self._settings.zone, per_priority=self._settings.home_issues_per_priority
        )
        await client.views_publish(user_id=user, view=build_home_view(overview))


def register(slack_app: AsyncApp, issues: IssueService, settings: IssueLogSettings) -> None:
    slack_app.event("app_home_opened")(reporting_errors(HomeTab(issues, settings).publish))
