"""/summary for managers and the daily performance report: figures, trends and a chart of the issue log."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from slack_bolt.async_app import AsyncApp

from core.scheduler import Scheduler
from handlers.roles import Role, RoleChecker
from handlers.slack.listeners import reporting_errors
from handlers.slack.payloads import SlashCommand, parse_command
from handlers.summaries.blocks import build_report_message
from handlers.summaries.daily import DailyReport
from handlers.summaries.service import SummaryService

SUMMARY_COMMAND = "/summary"
PerformanceRoute = Callable[[SlashCommand, Any, Any], Awaitable[None]]  # (command, respond, client), after ack
DAILY_CHECK_SECONDS = 60.0


class SummaryCommand:
    """Ack at once; answer ephemerally with the figures, then send the chart to the asker's DM."""

    def __init__(self, summaries: SummaryService, roles: RoleChecker, performance: PerformanceRoute | None = None) -> None:
        self._summaries = summaries
        self._roles = roles
        self._performance = performance

    async def summary(self, ack: Any, body: dict[str, Any], respond: Any, client: Any) -> None:
        await ack()
        command = parse_command(body)
        user = command.user_id
        await self._roles.require(user, Role.MANAGER, "read summaries")
        if self._performance is not None and command.text.lower().split()[:1] == ["performance"]:
            await self._performance(command, respond, client)  # `/summary performance ...`: handlers/performance
            return
        period = self._summaries.parse_period(command.text)
        summary = await self._summaries.summarize(period)
        note = "The chart is in your direct messages with opsbot."
        text, blocks = build_report_message(self._summaries.render(summary), note=note)
        await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        # A file cannot be ephemeral: the chart goes where only the asker sees it.
        png = await self._summaries.chart(summary)
        dm = await client.conversations_open(users=user)
        await client.files_upload_v2(
            channel=dm["channel"]["id"],
            file=png,
            filename=f"summary-{period.key}.png",
            title=self._summaries.chart_title(summary),
            initial_comment=f"Chart for your summary of {period.label}.",
        )


def register(
    slack_app: AsyncApp,
    summaries: SummaryService,
    daily_report: DailyReport,
    roles: RoleChecker,
    scheduler: Scheduler,
    performance: PerformanceRoute | None = None,
) -> None:
    command = SummaryCommand(summaries, roles, performance)
    slack_app.command(SUMMARY_COMMAND)(reporting_errors(command.summary))
    scheduler.every(DAILY_CHECK_SECONDS, "daily-report", daily_report.run_if_due)
