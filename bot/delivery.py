"""The delivery worker: sends the outbox to Slack, in order per issue, surviving Slack outages.

Retries are data, not sleeps: a 429 or a 5xx reschedules the item (`next_attempt_at`) and releases
it, so nothing is held in memory and a restart resumes exactly where the last process stopped.

Database work is batched so delivery does not starve webhook ingestion on SQLite: one transaction
claims items and reads what they need; outcomes of items finishing together are written together.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.batching import GroupRunner
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
RECORD_ATTEMPTS = 3

ViewLoader = Callable[[AsyncSession, int], Awaitable[IssueMessageView | None]]
Performer = Callable[[OutboxItem], Awaitable[None]]


class PermanentDeliveryError(Exception):
    """Slack refused the call for a reason no retry will change."""


@dataclass
class _Prepared:
    """A claimed item with what its Slack call needs, read in the claiming transaction."""

    item: OutboxItem
    view: IssueMessageView | None = None
    message: tuple[str, str] | None = None  # (channel, ts) of the issue's message, if posted


@dataclass
class _Outcome:
    item_id: int
    done: bool = False
    failed: bool = False
    retry_at: datetime | None = None
    error: str | None = None
    count_attempt: bool = True
    posted: tuple[int, str, str] | None = None  # (issue id, channel, ts) of a newly posted message


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
        self._outcomes: GroupRunner[_Outcome, None] = GroupRunner(self._record_outcomes)
        self._performers: dict[str, Performer] = {}
        self.worker_id = f"{uuid.uuid4().hex[:12]}"

    def handle(self, operation: str, perform: Performer) -> None:
        """Deliver a feature's own outbox operation (e.g. PagerDuty events) with the same ordering and retries.

        `perform` returns when the item is done; raising aiohttp.ClientError reschedules it with
        backoff, like a network failure; PermanentDeliveryError marks it failed.
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
            # Cleared before claiming: a wake-up that lands while the claim runs is not lost.
            self._wakeup.clear()
            claimed = 0
            try:
                free = self._max_in_flight - len(in_flight)
                if free > 0:
                    for prepared in await self._claim(free):
                        task = asyncio.create_task(self._deliver(prepared))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                        claimed += 1
                await self._refresh_stats()
            except Exception:  # noqa: BLE001 - the worker must outlive a bad database moment
                log.exception("delivery loop failed; retrying shortly")
            if claimed and len(in_flight) < self._max_in_flight:
                continue
            waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(self._wakeup.wait())}
            if len(in_flight) >= self._max_in_flight:
                waiters |= set(in_flight)  # a finished item frees a slot
            await asyncio.wait(waiters, timeout=self._settings.poll_interval_seconds, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                if waiter not in in_flight:
                    waiter.cancel()
        if in_flight:
            await asyncio.wait(in_flight, timeout=10)

    async def _claim(self, limit: int) -> list[_Prepared]:
        async with self._sessionmaker.begin() as session:
            items = await OutboxRepository(session).claim(self.worker_id, now=self._clock(), lease=self.lease, limit=limit)
            issue_ids = [item.issue_id for item in items if item.issue_id is not None]
            messages = await SlackMessageRepository(session).get_for_issues(issue_ids)
            prepared = []
            for item in items:
                view = None
                if item.operation == SlackOperation.RENDER_ISSUE and item.issue_id is not None:
                    view = await self._load_view(session, item.issue_id)
                message = messages.get(item.issue_id) if item.issue_id is not None else None
                prepared.append(_Prepared(item, view, (message.channel, message.ts) if message else None))
            return prepared

    async def _deliver(self, prepared: _Prepared) -> None:
        item = prepared.item
        try:
            outcome = await self._perform(prepared)
        except SlackApiError as error:
            outcome = self._after_slack_error(item, error)
        except PermanentDeliveryError as error:
            outcome = self._failed(item, str(error))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            outcome = self._retry_later(item, f"network: {error!r}")
        except Exception as error:  # noqa: BLE001 - a bug must not drop the item
            log.exception("delivering outbox item %s (%s) failed", item.id, item.operation)
            outcome = self._retry_later(item, f"unexpected: {error!r}")
        try:
            await self._outcomes.submit(outcome)
        except Exception:  # noqa: BLE001 - the lease expires and the item is retried
            log.exception("could not record the outcome of outbox item %s", item.id)
            return
        if outcome.done:
            self._metrics.delivery_latency.observe(max(0.0, (self._clock() - item.created_at).total_seconds()))

    async def _perform(self, prepared: _Prepared) -> _Outcome:
        item = prepared.item
        performer = self._performers.get(item.operation)
        if performer is not None:
            await performer(item)
            return _Outcome(item.id, done=True)
        operation = SlackOperation(item.operation)
        if operation is SlackOperation.RENDER_ISSUE:
            return await self._render_issue(prepared)
        if operation is SlackOperation.THREAD_REPLY:
            if prepared.message is None:
                raise PermanentDeliveryError("the issue's message was never posted, so it has no thread")
            channel, ts = prepared.message
            await self._post(channel, item.payload, thread_ts=ts)
        elif operation is SlackOperation.POST_MESSAGE:
            await self._post(item.payload["channel"], item.payload, thread_ts=item.payload.get("thread_ts"))
        elif operation is SlackOperation.DIRECT_MESSAGE:
            opened = await self._call("conversations.open", self._client.conversations_open, users=item.payload["user"])
            await self._post(opened["channel"]["id"], item.payload)
        return _Outcome(item.id, done=True)

    async def _render_issue(self, prepared: _Prepared) -> _Outcome:
        item, view = prepared.item, prepared.view
        if view is None or item.issue_id is None:
            return _Outcome(item.id, done=True)  # the issue is gone; nothing to show
        text, blocks = build_issue_message(view)
        if prepared.message is not None:
            channel, ts = prepared.message
            try:
                await self._call("chat.update", self._client.chat_update, channel=channel, ts=ts, text=text, blocks=blocks)
                return _Outcome(item.id, done=True)
            except SlackApiError as error:
                if error.response.get("error") != "message_not_found":
                    raise
                log.warning("message for issue %s was deleted in Slack; posting it again", item.issue_id)
        if not view.issue.channel:
            raise PermanentDeliveryError(f"issue {item.issue_id} has no channel")
        await self._pacer.wait(view.issue.channel)
        response = await self._call(
            "chat.postMessage",
            self._client.chat_postMessage,
            channel=view.issue.channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        return _Outcome(item.id, done=True, posted=(item.issue_id, response["channel"], response["ts"]))

    async def _post(self, channel: str, payload: dict[str, Any], *, thread_ts: str | None = None) -> None:
        await self._pacer.wait(channel)
        await self._call(
            "chat.postMessage",
            self._client.chat_postMessage,
            channel=channel,
            text=payload["text"],
            blocks=payload.get("blocks"),
            thread_ts=thread_ts,
            unfurl_links=False,
        )

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

    def _after_slack_error(self, item: OutboxItem, error: SlackApiError) -> _Outcome:
        status = error.response.status_code
        data = error.response.data
        code = data.get("error", "") if isinstance(data, dict) else ""
        if status == 429:
            headers = error.response.headers
            retry_after = float(headers.get("Retry-After", headers.get("retry-after", 1)))
            channel = item.payload.get("channel") or ""
            if channel:
                self._pacer.push_back(channel, retry_after)
            return _Outcome(item.id, retry_at=self._clock() + timedelta(seconds=retry_after), error="ratelimited",
                            count_attempt=False)
        if status >= 500 or code in RETRYABLE_ERRORS:
            return self._retry_later(item, f"slack {status}: {code or 'server error'}")
        return self._failed(item, f"slack refused: {code or status}")

    def _retry_later(self, item: OutboxItem, error: str) -> _Outcome:
        if self._settings.max_attempts and item.attempts + 1 >= self._settings.max_attempts:
            return self._failed(item, f"gave up after {item.attempts + 1} attempts: {error}")
        backoff = min(MAX_BACKOFF_SECONDS, 2.0**item.attempts) * random.uniform(0.5, 1.0)
        return _Outcome(item.id, retry_at=self._clock() + timedelta(seconds=backoff), error=error)

    def _failed(self, item: OutboxItem, error: str) -> _Outcome:
        log.error("outbox item %s (%s, %s) failed for good: %s", item.id, item.operation, item.ordering_key, error)
        return _Outcome(item.id, failed=True, error=error)

    async def _record_outcomes(self, outcomes: list[_Outcome]) -> list[None]:
        """Write outcomes together; retried on a deadlock, since losing them would resend the messages."""
        for attempt in range(RECORD_ATTEMPTS):
            try:
                await self._write_outcomes(outcomes)
                return [None] * len(outcomes)
            except DBAPIError:
                if attempt == RECORD_ATTEMPTS - 1:
                    raise
                log.warning("recording %d delivery outcomes failed; retrying", len(outcomes), exc_info=True)
                await asyncio.sleep(0.05 * (attempt + 1))
        return [None] * len(outcomes)

    async def _write_outcomes(self, outcomes: list[_Outcome]) -> None:
        async with self._sessionmaker.begin() as session:
            outbox = OutboxRepository(session)
            messages = SlackMessageRepository(session)
            for outcome in outcomes:
                if outcome.posted is not None:
                    await messages.save(*outcome.posted)
            await outbox.mark_done_many([outcome.item_id for outcome in outcomes if outcome.done])
            for outcome in outcomes:
                if outcome.failed:
                    await outbox.mark_failed(outcome.item_id, error=outcome.error or "failed")
                elif outcome.retry_at is not None:
                    await outbox.reschedule(
                        outcome.item_id, at=outcome.retry_at, error=outcome.error or "", count_attempt=outcome.count_attempt
                    )

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
