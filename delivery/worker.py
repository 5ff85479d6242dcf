"""The delivery worker: sends the outbox to Slack, each issue's messages once and in order, on any replica.

* One worker at a time per ordering key (an issue): the head item of a key is taken with a claim on
  the key (`delivery_claims`), renewed while it is in flight and checked again just before a post.
* A post is recorded as attempted before it is made and carries a metadata marker; a retry after a
  timeout, a 5xx or a crash looks for the marker in the channel first (`delivery.posts`).
* Retries are data, not sleeps: a failure reschedules the item (`next_attempt_at`) and releases it,
  so nothing is held in memory and a restart resumes where the last process stopped. Network and
  5xx failures stop after `give_up_after`: the item is parked, logged and counted.
* A 429 pauses its method (and channel) for every replica (`delivery.rate_limits`); paused items are
  deferred at claim time, not called. Posts and updates are paced per channel.
* Claiming an issue's render supersedes its other pending renders: the latest state is shown once.
* An item that cannot be rendered is parked at once: no retry makes a builder stop raising.

Database work is batched so delivery does not starve webhook ingestion on SQLite (claims, attempts, outcomes).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable

import aiohttp
from prometheus_client import Counter
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from delivery.settings import DeliverySettings
from delivery.channels import ChannelDirectory, ChannelFallback, ChannelRescue, prepend_notice
from delivery.claims import IssueRenderer, OutboxClaimer, Prepared, ViewLoader
from delivery.outcomes import DeliveryRecorder, Outcome, RetryPolicy
from delivery.rate_limits import ChannelPacer, RateLimited, RateLimitPaused, RateLimits, retry_after_seconds
from delivery.posts import PostFinder, attempt_key, issue_marker, item_marker
from core.group_commit import GroupRunner
from core.metrics import Metrics
from delivery.outbox import SlackOperation
from storage.models import OutboxItem, OutboxStatus, utcnow
from storage.repositories.outbox import DeliveryClaimRepository, OutboxRepository
from storage.repositories.slack import SlackPostAttemptRepository, SlackRateLimitRepository

log = logging.getLogger(__name__)

STATS_INTERVAL_SECONDS = 1.0
DONE_RETENTION = timedelta(days=1)
ATTEMPT_RETENTION = timedelta(days=7)
SHUTDOWN_GRACE_SECONDS = 10.0

Performer = Callable[[OutboxItem], Awaitable[None]]


class PermanentDeliveryError(Exception):
    """Slack refused the call for a reason no retry will change."""


class _RenderFailed(Exception):
    """The issue's message could not be built: parked, since no retry changes that."""


class _LostClaim(Exception):
    """Another worker took over this key (ours expired): it delivers the item, we must not."""


class DeliveryWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: AsyncWebClient,
        settings: DeliverySettings,
        load_view: ViewLoader,
        render_issue: IssueRenderer,
        metrics: Metrics,
        *,
        clock: Callable[[], datetime] = utcnow,
        max_in_flight: int | None = None,
        channel_fallback: ChannelFallback | None = None,
        channel_directory: ChannelDirectory | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._render_issue_message = render_issue
        self._client = client
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._max_in_flight = max_in_flight or settings.max_in_flight
        self._pacer = ChannelPacer(settings.channel_messages_per_second)
        self._limits = RateLimits()
        self._wakeup = asyncio.Event()
        self._last_stats = 0.0
        self._last_renewal = 0.0
        self._held: dict[str, int] = {}  # ordering key -> item id, for the claims in flight here
        self._channel_ids: dict[str, str] = {}  # "#alerts" -> "C0123", from Slack's answers
        self.worker_id = f"{uuid.uuid4().hex[:12]}"
        self._retries = RetryPolicy(settings, clock)
        recorder = DeliveryRecorder(sessionmaker, self.worker_id, self.lease, clock)
        self._outcomes: GroupRunner[Outcome, None] = GroupRunner(recorder.record_outcomes)
        self._attempts: GroupRunner[tuple[str, str, str, str | None], bool] = GroupRunner(recorder.record_attempts)
        self._performers: dict[str, Performer] = {}
        self._finder = PostFinder(self._call, client, clock, settings.slack_timeout_seconds)
        self._claimer = OutboxClaimer(sessionmaker, self.worker_id, self.lease, load_view, self._limits,
                                      self._performers.keys(), self._channel_ids, clock)
        self._parked = Counter(
            "opsbot_outbox_parked",
            "Outbox items given up on (kept for inspection), by operation and reason: render, refused, exhausted.",
            ["operation", "reason"],
            registry=metrics.registry,
        )
        # Posts go to channel ids once the directory was read (a rename keeps the route); a channel without
        # the bot is joined, or its messages go to the default channel (delivery.channels).
        self._directory = channel_directory or ChannelDirectory(client, call=self._call)
        self._channels = (
            ChannelRescue(channel_fallback, self._directory, self._call, client, metrics.channel_fallbacks)
            if channel_fallback is not None
            else None
        )

    def handle(self, operation: str, perform: Performer) -> None:
        """Deliver a feature's own outbox operation (e.g. PagerDuty events) with the same ordering and retries.

        `perform` returns when the item is done; aiohttp.ClientError reschedules it with backoff,
        PermanentDeliveryError marks it failed."""
        self._performers[operation] = perform

    def wake(self) -> None:
        self._wakeup.set()

    @property
    def lease(self) -> timedelta:
        """How long a key stays ours without renewal: a crashed worker's keys are free after this."""
        return timedelta(seconds=self._settings.lease_seconds)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, up to `max_in_flight` items at once (one per ordering key).

        Cancelled, it cancels its deliveries too: like a crash, their outcomes are not recorded,
        their claims expire, and the post attempts recorded make the next worker look before posting.
        """
        in_flight: set[asyncio.Task[None]] = set()
        renew_every = self.lease.total_seconds() / 3
        try:
            while not stop.is_set():
                # Cleared before claiming: a wake-up that lands while the claim runs is not lost.
                self._wakeup.clear()
                claimed = 0
                try:
                    await self._renew_claims(renew_every)
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
                timeout = min(self._settings.poll_interval_seconds, renew_every)
                await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    if waiter not in in_flight:
                        waiter.cancel()
            if in_flight:
                await asyncio.wait(in_flight, timeout=SHUTDOWN_GRACE_SECONDS)
        finally:
            for task in in_flight:
                task.cancel()

    async def _claim(self, limit: int) -> list[Prepared]:
        # Never a second delivery of a key still in flight here: a claim whose heartbeat was lost runs
        # out mid-delivery, this worker may win it again, and the fence (the claim's worker) passes both.
        fresh = [entry for entry in await self._claimer.claim(limit) if entry.item.ordering_key not in self._held]
        self._held.update({entry.item.ordering_key: entry.item.id for entry in fresh})
        return fresh

    async def _renew_claims(self, every: float) -> None:
        """Heartbeat: the keys in flight here stay ours however long Slack (or the pacer) takes."""
        if not self._held or time.monotonic() - self._last_renewal < every:
            return
        self._last_renewal = time.monotonic()
        held = dict(self._held)
        for key in set(held) - await self._claimer.renew(held):
            log.warning("the claim on %s expired and was taken over; a post from here would be refused", key)

    # delivering ----------------------------------------------------------------------------------

    async def _deliver(self, prepared: Prepared) -> None:
        item = prepared.item
        try:
            try:
                outcome = await self._perform(prepared)
            except _LostClaim:
                log.warning("outbox item %s (%s): another worker holds its key now; leaving it", item.id, item.ordering_key)
                return
            except RateLimited as limited:
                outcome = Outcome(item, retry_at=limited.until, error="ratelimited", count_attempt=False,
                                   pauses=[(limited.method, limited.channel, limited.until)], settled=limited.settles)
            except RateLimitPaused as paused:
                outcome = Outcome(item, retry_at=paused.until, error="paused: rate limited", count_attempt=False)
            except _RenderFailed as error:
                outcome = self._retries.give_up(item, str(error), status=OutboxStatus.PARKED, reason="render")
            except SlackApiError as error:
                outcome = self._retries.after_slack_error(item, error)
            except PermanentDeliveryError as error:
                outcome = self._retries.give_up(item, str(error), status=OutboxStatus.FAILED, reason="refused")
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
                # A Slack call may have landed: look for it no sooner than Slack had to answer it.
                # Other services' items (PagerDuty) keep the plain backoff: they dedupe on their side.
                settle = 0.0 if item.operation in self._performers else self._settings.slack_timeout_seconds
                outcome = self._retries.retry_later(item, f"network: {error!r}", at_least=settle)
            except Exception as error:  # noqa: BLE001 - a bug must not drop the item
                log.exception("delivering outbox item %s (%s) failed", item.id, item.operation)
                outcome = self._retries.retry_later(item, f"unexpected: {error!r}")
            try:
                await self._outcomes.submit(outcome)
            except Exception:  # noqa: BLE001 - the claim expires and the item is retried
                log.exception("could not record the outcome of outbox item %s", item.id)
                return
        finally:
            self._held.pop(item.ordering_key, None)
        if outcome.status is not None:
            self._parked.labels(item.operation, outcome.reason).inc()
        if outcome.done:
            self._metrics.delivery_latency.observe(max(0.0, (self._clock() - item.created_at).total_seconds()))

    async def _perform(self, prepared: Prepared) -> Outcome:
        item = prepared.item
        performer = self._performers.get(item.operation)
        if performer is not None:
            await performer(item)
            return Outcome(item, done=True)
        operation = SlackOperation(item.operation)
        if operation is SlackOperation.RENDER_ISSUE:
            return await self._render_issue(prepared)
        if operation is SlackOperation.THREAD_REPLY:
            if prepared.message is None:
                raise PermanentDeliveryError("the issue's message was never posted, so it has no thread")
            channel, ts = prepared.message
            await self._post_once(prepared, channel, item.payload, item_marker(item), thread_ts=ts)
        elif operation is SlackOperation.POST_MESSAGE:
            channel, thread_ts = item.payload["channel"], item.payload.get("thread_ts")
            await self._post_once(prepared, channel, item.payload, item_marker(item), thread_ts=thread_ts)
        elif operation is SlackOperation.DIRECT_MESSAGE:
            opened = await self._call("conversations.open", "", self._client.conversations_open, users=item.payload["user"])
            await self._post_once(prepared, opened["channel"]["id"], item.payload, item_marker(item))
        return Outcome(item, done=True, settled=attempt_key(item))

    async def _render_issue(self, prepared: Prepared) -> Outcome:
        item, view = prepared.item, prepared.view
        if prepared.render_error:
            raise _RenderFailed(prepared.render_error)
        if view is None or item.issue_id is None:
            return Outcome(item, done=True)  # the issue is gone; nothing to show
        try:
            text, blocks = self._render_issue_message(view)
        except Exception as error:  # noqa: BLE001 - parked with the reason, the other items go on
            log.exception("building the message of issue %s failed", item.issue_id)
            raise _RenderFailed(f"render failed: {error!r}") from error
        if prepared.message is not None:
            channel, ts = prepared.message
            notice = self._channels.notice_for(view.issue.channel) if self._channels and view.issue.channel else None
            if notice is not None:  # the message stands in the default channel: it keeps saying why
                moved = prepend_notice({"text": text, "blocks": blocks}, notice)
                text, blocks = moved["text"], moved["blocks"]
            try:
                await self._pace("chat.update", channel)
                await self._call("chat.update", channel, self._client.chat_update, channel=channel, ts=ts, text=text,
                                 blocks=blocks)
                return Outcome(item, done=True)
            except SlackApiError as error:
                if error.response.status_code != 200 or error.response.get("error") != "message_not_found":
                    raise
                log.warning("message for issue %s was deleted in Slack; posting it again", item.issue_id)
        if not view.issue.channel:
            raise PermanentDeliveryError(f"issue {item.issue_id} has no channel")
        payload = {"text": text, "blocks": blocks}
        channel, ts, found = await self._post_once(prepared, view.issue.channel, payload, issue_marker(view.issue))
        posted = (item.issue_id, channel, ts)
        if found:
            # An earlier attempt landed: recorded now, and this render runs again to update it.
            return Outcome(item, retry_at=self._clock(), count_attempt=False, posted=posted, settled=attempt_key(item))
        return Outcome(item, done=True, posted=posted, settled=attempt_key(item))

    async def _post_once(
        self,
        prepared: Prepared,
        channel: str,
        payload: dict[str, Any],
        marker: dict[str, Any],
        *,
        thread_ts: str | None = None,
    ) -> tuple[str, str, bool]:
        """(channel, ts, found): the message an earlier attempt left, else a new post made after recording it."""
        item = prepared.item
        if prepared.attempt is not None:
            where = prepared.attempt_channel or prepared.attempt.channel
            ts = await self._finder.find(prepared.attempt, marker, channel=where)
            if ts is not None:
                log.info("outbox item %s: found the message an earlier attempt posted (%s %s)", item.id, where, ts)
                return where, ts, True
        await self._pace("chat.postMessage", channel)
        # Recorded by id where known: a retry reads that channel's history, whatever it is called by then.
        where = self._directory.resolve(channel)
        if not await self._attempts.submit((item.ordering_key, attempt_key(item), where, thread_ts)):
            raise _LostClaim(item.ordering_key)

        posted_to = [channel]

        async def send(target: str, body: dict[str, Any]) -> Any:
            posted_to[0] = target
            target_id = self._directory.resolve(target)  # the route's name, pinned to its channel's id
            if target != channel:  # moved to the default channel: a retry looks for the marker there
                await self._pace("chat.postMessage", target)
                if not await self._attempts.submit((item.ordering_key, attempt_key(item), target_id, thread_ts)):
                    raise _LostClaim(item.ordering_key)
            return await self._call(
                "chat.postMessage",
                target,
                self._client.chat_postMessage,
                channel=target_id,
                text=body["text"],
                blocks=body.get("blocks"),
                thread_ts=thread_ts,
                metadata=marker,
                unfurl_links=False,
                unfurl_media=False,
            )

        try:
            try:
                response = await send(channel, payload)
            except SlackApiError as error:
                if self._channels is None or thread_ts is not None or item.operation == SlackOperation.DIRECT_MESSAGE:
                    raise
                response = await self._channels.rescue(channel, error, payload, send)
        except RateLimited as limited:
            if prepared.attempt is None:
                limited.settles = attempt_key(item)  # a 429 stored nothing, and no earlier attempt is pending
            raise
        if posted_to[0] == channel:
            self._channel_ids[channel] = response["channel"]
        return response["channel"], response["ts"], False

    async def _pace(self, method: str, channel: str) -> None:
        """Wait for the channel's next slot, unless the method is paused there (checked again by the call)."""
        self._limits.check(method, channel, self._clock())
        await self._pacer.wait(self._pace_key(method, channel))

    def _pace_key(self, method: str, channel: str) -> tuple[str, str]:
        """Posts by name ("#alerts") and by id (thread replies) share the channel's pace once its id is known."""
        return method, self._channel_ids.get(channel, channel)

    async def _call(self, method: str, scope: str, function: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        """One Web API call, unless a 429 paused `method` in `scope` (a channel, or "" for everywhere).

        A 429 starts the pause here at once, and the outcome shares it with every replica.
        """
        self._limits.check(method, scope, self._clock())
        try:
            response = await function(**kwargs)
        except SlackApiError as error:
            status = error.response.status_code
            outcome = "ratelimited" if status == 429 else "server_error" if status >= 500 else "error"
            self._metrics.slack_calls.labels(method, outcome).inc()
            if status == 429:
                seconds = retry_after_seconds(error)
                until = self._clock() + timedelta(seconds=seconds)
                self._limits.pause(method, scope, until)
                raise RateLimited(method, scope, until) from error
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            self._metrics.slack_calls.labels(method, "network_error").inc()
            raise
        self._metrics.slack_calls.labels(method, "ok").inc()
        return response

    # outcomes ------------------------------------------------------------------------------------

    async def _refresh_stats(self) -> None:
        if time.monotonic() - self._last_stats < STATS_INTERVAL_SECONDS:
            return
        self._last_stats = time.monotonic()
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            outbox = OutboxRepository(session)
            depth, oldest = await outbox.pending_stats()
            await outbox.purge_done(now - DONE_RETENTION)
            await DeliveryClaimRepository(session).purge_expired(now - DONE_RETENTION)
            await SlackRateLimitRepository(session).purge(now - timedelta(hours=1))
            await SlackPostAttemptRepository(session).purge(now - ATTEMPT_RETENTION)
        self._metrics.outbox_depth.set(depth)
        self._metrics.delivery_lag.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
