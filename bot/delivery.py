"""The delivery worker: sends the outbox to Slack, in order per issue, surviving Slack outages.

Retries are data, not sleeps: a 429 or a 5xx reschedules the item (`next_attempt_at`) and releases
it, so nothing is held in memory and a restart resumes exactly where the last process stopped.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import DeliverySettings
from bot.metrics import Metrics
from handlers.alerts.blocks import IssueMessageView, build_issue_message
from handlers.outbox import SlackOperation
from storage.models import OutboxItem, utcnow
from storage.repositories import OutboxRepository, SlackMessageRepository

log = logging.getLogger(__name__)

RETRYABLE_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
MAX_BACKOFF_SECONDS = 300.0
STATS_INTERVAL_SECONDS = 1.0
DONE_RETENTION = timedelta(days=1)

ViewLoader = Callable[[AsyncSession, int], Awaitable[IssueMessageView | None]]
Performer = Callable[[OutboxItem], Awaitable[None]]


class PermanentDeliveryError(Exception):
    """Slack refused the call for a reason no retry will change."""


class _ChannelPacer:
    """Spaces chat.postMessage per channel near Slack's 1 message/s instead of bursting into 429s."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next_slot: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        now = time.monotonic()
        slot = max(now, self._next_slot.get(channel, 0.0))
        self._next_slot[channel] = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def push_back(self, channel: str, seconds: float) -> None:
        self._next_slot[channel] = max(self._next_slot.get(channel, 0.0), time.monotonic() + seconds)


class DeliveryWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: AsyncWebClient,
        settings: DeliverySettings,
        load_view: ViewLoader,
        metrics: Metrics,
        *,
        clock: Callable[[], datetime] = utcnow,
        max_in_flight: int = 32,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._client = client
        self._settings = settings
        self._load_view = load_view
        self._metrics = metrics
        self._clock = clock
        self._max_in_flight = max_in_flight
        self._pacer = _ChannelPacer(settings.channel_messages_per_second)
        self._wakeup = asyncio.Event()
        self._last_stats = 0.0
        self.worker_id = f"{uuid.uuid4().hex[:12]}"
        self._performers: dict[str, Performer] = {}

    def handle(self, operation: str, perform: Performer) -> None:
        """Deliver a feature's own outbox operation (e.g. PagerDuty events) with the same ordering and retries.

        `perform` returns when the item is done (its outcome recorded); raising aiohttp.ClientError
        reschedules it with backoff, like a network failure.
        """
        self._performers[operation] = perform

    def wake(self) -> None:
        self._wakeup.set()

    @property
    def lease(self) -> timedelta:
        """Long enough that items waiting on a channel's pace are never taken over by another replica."""
        paced_wait = self._max_in_flight / self._settings.channel_messages_per_second
        return timedelta(seconds=max(self._settings.lease_seconds, paced_wait + 30))

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, up to `max_in_flight` items at once (one per ordering key)."""
        in_flight: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            claimed = 0
            try:
                free = self._max_in_flight - len(in_flight)
                if free > 0:
                    for item in await self._claim(free):
                        task = asyncio.create_task(self._deliver(item))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                        claimed += 1
                await self._refresh_stats()
            except Exception:  # noqa: BLE001 - the worker must outlive a bad database moment
                log.exception("delivery loop failed; retrying shortly")
            if claimed and len(in_flight) < self._max_in_flight:
                continue
            self._wakeup.clear()
            waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(self._wakeup.wait())}
            if len(in_flight) >= self._max_in_flight:
                waiters |= set(in_flight)  # a finished item frees a slot
            await asyncio.wait(waiters, timeout=self._settings.poll_interval_seconds, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                if waiter not in in_flight:
                    waiter.cancel()
        if in_flight:
            await asyncio.wait(in_flight, timeout=10)

    async def _claim(self, limit: int) -> list[OutboxItem]:
        async with self._sessionmaker.begin() as session:
            return await OutboxRepository(session).claim(self.worker_id, now=self._clock(), lease=self.lease, limit=limit)

    async def _deliver(self, item: OutboxItem) -> None:
        try:
            await self._perform(item)
        except SlackApiError as error:
            await self._handle_slack_error(item, error)
        except PermanentDeliveryError as error:
            await self._fail(item, str(error))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            await self._retry_later(item, f"network: {error!r}")
        except Exception as error:  # noqa: BLE001 - a bug must not drop the item
            log.exception("delivering outbox item %s (%s) failed", item.id, item.operation)
            await self._retry_later(item, f"unexpected: {error!r}")
        else:
            self._metrics.delivery_latency.observe(max(0.0, (self._clock() - item.created_at).total_seconds()))

    async def _perform(self, item: OutboxItem) -> None:
        performer = self._performers.get(item.operation)
        if performer is not None:
            await performer(item)
            await self._finish(item)
            return
        operation = SlackOperation(item.operation)
        if operation is SlackOperation.RENDER_ISSUE:
            await self._render_issue(item)
        elif operation is SlackOperation.THREAD_REPLY:
            await self._thread_reply(item)
        elif operation is SlackOperation.POST_MESSAGE:
            await self._post(item, item.payload["channel"])
        elif operation is SlackOperation.DIRECT_MESSAGE:
            opened = await self._call("conversations.open", self._client.conversations_open, users=item.payload["user"])
            await self._post(item, opened["channel"]["id"])

    async def _render_issue(self, item: OutboxItem) -> None:
        assert item.issue_id is not None
        async with self._sessionmaker() as session:
            view = await self._load_view(session, item.issue_id)
            message = await SlackMessageRepository(session).get_for_issue(item.issue_id)
        if view is None:
            await self._finish(item)  # the issue is gone; nothing to show
            return
        text, blocks = build_issue_message(view)
        if message is not None:
            try:
                await self._call(
                    "chat.update", self._client.chat_update, channel=message.channel, ts=message.ts, text=text, blocks=blocks
                )
                await self._finish(item)
                return
            except SlackApiError as error:
                if error.response.get("error") != "message_not_found":
                    raise
                log.warning("message for issue %s was deleted in Slack; posting it again", item.issue_id)
        channel = view.issue.channel
        if not channel:
            raise PermanentDeliveryError(f"issue {item.issue_id} has no channel")
        await self._pacer.wait(channel)
        response = await self._call(
            "chat.postMessage",
            self._client.chat_postMessage,
            channel=channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        async with self._sessionmaker.begin() as session:
            await SlackMessageRepository(session).save(item.issue_id, response["channel"], response["ts"])
            await OutboxRepository(session).mark_done(item.id)

    async def _thread_reply(self, item: OutboxItem) -> None:
        assert item.issue_id is not None
        async with self._sessionmaker() as session:
            message = await SlackMessageRepository(session).get_for_issue(item.issue_id)
        if message is None:
            raise PermanentDeliveryError("the issue's message was never posted, so it has no thread")
        await self._pacer.wait(message.channel)
        await self._call(
            "chat.postMessage",
            self._client.chat_postMessage,
            channel=message.channel,
            thread_ts=message.ts,
            text=item.payload["text"],
            blocks=item.payload.get("blocks"),
            unfurl_links=False,
        )
        await self._finish(item)

    async def _post(self, item: OutboxItem, channel: str) -> None:
        await self._pacer.wait(channel)
        await self._call(
            "chat.postMessage",
            self._client.chat_postMessage,
            channel=channel,
            text=item.payload["text"],
            blocks=item.payload.get("blocks"),
            thread_ts=item.payload.get("thread_ts"),
            unfurl_links=False,
        )
        await self._finish(item)

    async def _call(self, method: str, function: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        try:
            response = await function(**kwargs)
        except SlackApiError as error:
            status = error.response.status_code
            outcome = "ratelimited" if status == 429 else "server_error" if status >= 500 else "error"
            self._metrics.slack_calls.labels(method, outcome).inc()
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            self._metrics.slack_calls.labels(method, "network_error").inc()
            raise
        self._metrics.slack_calls.labels(method, "ok").inc()
        return response

    async def _handle_slack_error(self, item: OutboxItem, error: SlackApiError) -> None:
        status = error.response.status_code
        code = (error.response.data or {}).get("error", "") if isinstance(error.response.data, dict) else ""
        if status == 429:
            retry_after = float(error.response.headers.get("Retry-After", error.response.headers.get("retry-after", 1)))
            channel = item.payload.get("channel") or ""
            if channel:
                self._pacer.push_back(channel, retry_after)
            await self._reschedule(item, delay=retry_after, error="ratelimited", count_attempt=False)
        elif status >= 500 or code in RETRYABLE_ERRORS:
            await self._retry_later(item, f"slack {status}: {code or 'server error'}")
        else:
            await self._fail(item, f"slack refused: {code or status}")

    async def _retry_later(self, item: OutboxItem, error: str) -> None:
        if self._settings.max_attempts and item.attempts + 1 >= self._settings.max_attempts:
            await self._fail(item, f"gave up after {item.attempts + 1} attempts: {error}")
            return
        backoff = min(MAX_BACKOFF_SECONDS, 2.0**item.attempts) * random.uniform(0.5, 1.0)
        await self._reschedule(item, delay=backoff, error=error, count_attempt=True)

    async def _reschedule(self, item: OutboxItem, *, delay: float, error: str, count_attempt: bool) -> None:
        at = self._clock() + timedelta(seconds=delay)
        async with self._sessionmaker.begin() as session:
            await OutboxRepository(session).reschedule(item.id, at=at, error=error, count_attempt=count_attempt)

    async def _fail(self, item: OutboxItem, error: str) -> None:
        log.error("outbox item %s (%s, %s) failed for good: %s", item.id, item.operation, item.ordering_key, error)
        async with self._sessionmaker.begin() as session:
            await OutboxRepository(session).mark_failed(item.id, error=error)

    async def _finish(self, item: OutboxItem) -> None:
        async with self._sessionmaker.begin() as session:
            await OutboxRepository(session).mark_done(item.id)

    async def _refresh_stats(self) -> None:
        if time.monotonic() - self._last_stats < STATS_INTERVAL_SECONDS:
            return
        self._last_stats = time.monotonic()
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            outbox = OutboxRepository(session)
            depth, oldest = await outbox.pending_stats()
            await outbox.purge_done(now - DONE_RETENTION)
        self._metrics.outbox_depth.set(depth)
        self._metrics.delivery_lag.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
