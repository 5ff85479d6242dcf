"""The daily performance report: yesterday's figures, posted once a day at the configured local time.

Exactly once across replicas: the first to insert the `report_runs` row for (daily, date) wins and
enqueues the post in the same transaction; the others hit the unique key and skip. The chart goes
with it as a file, uploaded by the winner after the commit (Slack's file upload takes a channel id,
so configure `reports.daily.channel` as an id, C…, to get the chart; a #name gets the figures only).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.summaries.settings import ReportSettings
from handlers.slack.blockkit import cap_blocks
from delivery.outbox import OutboxWriter
from handlers.periods import Period, day_period
from handlers.summaries.blocks import build_report_message
from handlers.summaries.rendering import DAILY_TEMPLATE
from handlers.summaries.service import Summary, SummaryService
from storage.models import utcnow
from storage.repositories.outbox import OutboxRepository
from storage.repositories.feedback import ReportRunRepository

log = logging.getLogger(__name__)

DAILY_KIND = "daily"
PerformanceSection = Callable[[Period], Awaitable[Any]]  # -> an object with .blocks and async .upload(client, channel)
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


class DailyReport:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        summaries: SummaryService,
        outbox_writer: OutboxWriter,
        settings: ReportSettings,
        *,
        default_channel: str,
        client: Any,
        clock: Callable[[], datetime] = utcnow,
        performance: PerformanceSection | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._performance = performance  # the KPI section (handlers/performance), read before the claim
        self._summaries = summaries
        self._writer = outbox_writer
        self._settings = settings
        self._client = client
        self._clock = clock
        self.channel = settings.daily.channel or default_channel
        self.replica = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[-64:]
        if settings.daily.enabled and not _CHANNEL_ID.match(self.channel):
            log.warning("daily report channel %s is a name: the report is posted without its chart", self.channel)

    def due(self) -> Period | None:
        """Yesterday, once the local time has passed the report time; None before it."""
        daily = self._settings.daily
        if not daily.enabled:
            return None
        local = self._clock().astimezone(self._settings.tz)
        if local.time() < daily.time:
            return None
        return day_period(local.date() - timedelta(days=1), self._settings.tz)

    async def run_if_due(self) -> bool:
        period = self.due()
        return period is not None and await self.post(period)

    async def post(self, period: Period) -> bool:
        """Claim (daily, date); the winner enqueues the report in the same transaction. True if this call posted."""
        extra = None
        if self._performance is not None and not await self._posted(period):
            extra = await self._performance(period)  # HTTP queries: never while holding the claim's transaction
        async with self._sessionmaker.begin() as session:
            runs = ReportRunRepository(session)
            if await runs.exists(DAILY_KIND, period.key):
                return False  # the common case every minute after the report went out: no insert, no error
            if not await runs.claim(DAILY_KIND, period.key, by=self.replica, at=self._clock()):
                log.info("daily report for %s was claimed by another replica", period.key)
                return False
            summary = await self._summaries.summarize(period, session=session)
            text, blocks = build_report_message(self._summaries.render(summary, template=DAILY_TEMPLATE))
            if extra is not None:
                blocks = cap_blocks(blocks + extra.blocks)
            await self._writer.post_message(OutboxRepository(session), channel=self.channel, text=text, blocks=blocks)
        self._writer.wake()
        await self._upload_chart(summary)
        if extra is not None:
            await extra.upload(self._client, self.channel)
        return True

    async def _posted(self, period: Period) -> bool:
        async with self._sessionmaker() as session:
            return await ReportRunRepository(session).exists(DAILY_KIND, period.key)

    async def _upload_chart(self, summary: Summary) -> None:
        if not _CHANNEL_ID.match(self.channel):
            return
        try:
            png = await self._summaries.chart(summary)
            await self._client.files_upload_v2(
                channel=self.channel,
                file=png,
                filename=f"daily-report-{summary.period.key}.png",
                title=self._summaries.chart_title(summary),
            )
        except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            # the figures are posted; the picture is a bonus
            log.warning("daily report chart for %s was not uploaded: %s", summary.period.key, error)
