"""System performance: KPIs from Prometheus against targets, the adjustments log, post-incident reviews.

`build_feature(...)` makes everything from the settings (the composition root calls it once);
`PerformanceFeature.register(slack_app)` adds the listeners, `lifespan` is its cleanup_ctx (start-up
check of every KPI query, the Prometheus session closed on shutdown), `command.summary` is what
`/summary performance` routes to and `daily_section` what the daily report appends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Callable, Sequence

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.scheduler import Scheduler
from handlers.slack.listeners import reporting_errors
from delivery.outbox import OutboxWriter
from handlers.performance.adjustments import REMINDER_CHECK_SECONDS, AdjustmentService
from handlers.performance.blocks import build_performance_section
from handlers.performance.export import export_basename
from handlers.performance.ids import ADJUSTMENT_COMMAND, AdjustmentModal, PerformanceAction
from handlers.performance.kpis import KpiSource
from handlers.performance.listeners import AdjustmentListeners, PerformanceCommand, ReviewButtons
from handlers.performance.prometheus import PrometheusClient
from handlers.performance.rendering import PerformanceTemplates
from handlers.performance.reviews import ReviewService
from handlers.performance.service import PerformanceReport, PerformanceReports
from handlers.performance.settings import PerformanceSettings
from handlers.periods import Period
from handlers.roles import RoleChecker
from storage.models import utcnow

log = logging.getLogger(__name__)

DRAFTS_FOLDER = "drafts"
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


@dataclass
class DailySection:
    """The KPI section of one daily report, and its chart to upload once the report has gone out."""

    blocks: list[dict[str, Any]]
    report: PerformanceReport
    reports: PerformanceReports

    async def upload(self, client: Any, channel: str) -> None:
        if not self.report.has_figures or not _CHANNEL_ID.match(channel):
            return  # Slack's file upload takes a channel id; a #name gets the figures only
        try:
            await client.files_upload_v2(
                channel=channel,
                file=await self.reports.chart(self.report),
                filename=f"daily-{export_basename(self.report)}.png",
                title=self.reports.chart_title(self.report),
            )
        except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            log.warning("KPI chart of the daily report %s was not uploaded: %s", self.report.period.key, error)


@dataclass
class PerformanceFeature:
    source: KpiSource
    client: PrometheusClient | None
    reports: PerformanceReports
    adjustments: AdjustmentService
    reviews: ReviewService
    roles: RoleChecker
    command: PerformanceCommand
    startup_problems: list[str] | None = None  # set once the start-up check has run

    def register(self, slack_app: AsyncApp) -> None:
        adjustments = AdjustmentListeners(self.adjustments, self.roles)
        buttons = ReviewButtons(self.reviews, self.roles)
        slack_app.command(ADJUSTMENT_COMMAND)(reporting_errors(adjustments.open_modal))
        slack_app.view(AdjustmentModal.CALLBACK.value)(reporting_errors(adjustments.submit))
        slack_app.action(PerformanceAction.START_REVIEW.value)(reporting_errors(buttons.start))
        slack_app.action(PerformanceAction.SAVE_REVIEW.value)(reporting_errors(buttons.save))

    async def daily_section(self, period: Period) -> DailySection | None:
        """None without a KPI source, or when the section cannot be made: the report goes out without it."""
        if not self.source.configured:
            return None  # the daily report already covers the issue log
        try:
            report = await self.reports.report(period)
            return DailySection(build_performance_section(self.reports.sections(report)), report, self.reports)
        except Exception:  # noqa: BLE001 - the issue log's report must not depend on this section
            log.exception("the KPI section of the daily report %s could not be made", period.key)
            return None

    async def check_queries(self) -> list[str]:
        """Every KPI query tried once; problems (naming the KPI) are logged as errors and kept."""
        problems = await self.source.check()
        for problem in problems:
            log.error("performance report: %s", problem)
        self.startup_problems = problems
        return problems

    async def run(self, stop: asyncio.Event) -> None:
        """Background task (the supervisor owns it): check the queries once, without delaying start-up,
        then hold the Prometheus client open until shutdown."""
        try:
            check = asyncio.create_task(self.check_queries(), name="opsbot-kpi-check")
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({check, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not check.done():
                check.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await check
            await stopped
        finally:
            if self.client is not None:
                await self.client.close()


def drafts_folder(settings: PerformanceSettings, kb_paths: Sequence[Path]) -> Path | None:
    """Where reviews are saved: `performance.drafts_dir`, else drafts/ in the first knowledge-base folder."""
    if settings.drafts_dir is not None:
        return settings.drafts_dir
    folders = [path for path in kb_paths if not path.suffix]
    return folders[0] / DRAFTS_FOLDER if folders else None


def build_feature(
    settings: PerformanceSettings,
    *,
    prometheus_url: str | None,
    sessionmaker: async_sessionmaker[AsyncSession],
    reader: async_sessionmaker[AsyncSession],
    writer: OutboxWriter,
    roles: RoleChecker,
    scheduler: Scheduler,
    tz: tzinfo,
    templates_dir: Path | None = None,
    kb_paths: Sequence[Path] = (),
    clock: Callable[[], datetime] = utcnow,
) -> PerformanceFeature:
    client = PrometheusClient(prometheus_url, timeout_seconds=settings.timeout_seconds) if prometheus_url else None
    source = KpiSource(client, settings.definitions(), max_concurrent=settings.max_concurrent_queries, clock=clock)
    templates = PerformanceTemplates(tz, templates_dir)
    reports = PerformanceReports(reader, source, settings, templates, clock=clock)
    adjustments = AdjustmentService(
        sessionmaker, writer, reports, templates, tz=tz, reminder_time=settings.reminder_time, clock=clock
    )
    reviews = ReviewService(sessionmaker, source, templates, drafts_dir=drafts_folder(settings, kb_paths), clock=clock)
    scheduler.every(REMINDER_CHECK_SECONDS, "adjustment-reminders", adjustments.remind_due)
    return PerformanceFeature(source, client, reports, adjustments, reviews, roles, PerformanceCommand(reports))
