"""What became of each outbox item, decided (RetryPolicy) and written (DeliveryRecorder).

Retries stop: an item that keeps failing for `give_up_after` (or `max_attempts`, when set) is
parked, like one that cannot be rendered; one Slack refused is failed. Both stay in the outbox,
logged and counted, for someone to look at, and neither blocks the items behind it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from delivery.settings import DeliverySettings
from storage.models import OutboxItem, OutboxStatus
from storage.repositories.outbox import OutboxRepository
from storage.repositories.slack import SlackMessageRepository
from storage.repositories.outbox import DeliveryClaimRepository
from storage.repositories.slack import SlackPostAttemptRepository, SlackRateLimitRepository

log = logging.getLogger(__name__)

RETRYABLE_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
MAX_BACKOFF_SECONDS = 300.0
RECORD_ATTEMPTS = 3


@dataclass
class Outcome:
    item: OutboxItem
    done: bool = False
    status: str | None = None  # FAILED or PARKED: never retried by itself
    reason: str = ""  # why it was given up, for the metric: render, refused, exhausted
    retry_at: datetime | None = None
    error: str | None = None
    count_attempt: bool = True
    posted: tuple[int, str, str] | None = None  # (issue id, channel, ts) of the message
    settled: str | None = None  # the post attempt whose outcome is now known
    pauses: list[tuple[str, str, datetime]] = field(default_factory=list)  # 429s to share: (method, channel, until)


class RetryPolicy:
    def __init__(self, settings: DeliverySettings, clock: Callable[[], datetime]) -> None:
        self._settings = settings
        self._clock = clock

    def after_slack_error(self, item: OutboxItem, error: SlackApiError) -> Outcome:
        status = error.response.status_code
        data = error.response.data
        code = data.get("error", "") if isinstance(data, dict) else ""
        if status >= 500 or code in RETRYABLE_ERRORS:
            return self.retry_later(item, f"slack {status}: {code or 'server error'}")
        return self.give_up(item, f"slack refused: {code or status}", status=OutboxStatus.FAILED, reason="refused")

    def retry_later(self, item: OutboxItem, error: str, *, at_least: float = 0.0) -> Outcome:
        """Backoff doubling to 5 minutes, at least `at_least` seconds; parked once failing too long."""
        now = self._clock()
        attempts = item.attempts + 1
        if self._settings.max_attempts and attempts >= self._settings.max_attempts:
            return self.give_up(item, f"gave up after {attempts} attempts: {error}", status=OutboxStatus.PARKED,
                                reason="exhausted")
        failing_for = now - (item.first_failed_at or now)
        if failing_for >= self._settings.give_up_after:
            return self.give_up(item, f"gave up after failing for {failing_for} ({attempts} attempts): {error}",
                                status=OutboxStatus.PARKED, reason="exhausted")
        backoff = min(MAX_BACKOFF_SECONDS, 2.0 ** min(item.attempts, 16)) * random.uniform(0.5, 1.0)
        return Outcome(item, retry_at=now + timedelta(seconds=max(backoff, at_least)), error=error)

    def give_up(self, item: OutboxItem, error: str, *, status: str, reason: str) -> Outcome:
        log.error("outbox item %s (%s, %s) %s: %s", item.id, item.operation, item.ordering_key, status, error)
        return Outcome(item, status=status, reason=reason, error=error)


class DeliveryRecorder:
    """The worker's writes besides claiming: post attempts (with the claim fence) and outcomes."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        worker_id: str,
        lease: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessionmaker = sessionmaker
        self._worker_id = worker_id
        self._lease = lease
        self._clock = clock

    async def record_attempts(self, attempts: list[tuple[str, str, str, str | None]]) -> list[bool]:
        """Before posting, for each (ordering key, attempt key, channel, thread_ts): is the key still ours?

        If so the claim is extended (a fence: a worker whose claim was taken over never posts) and
        the attempt recorded, so a retry or a restart looks for the message before posting again.
        """
        now = self._clock()
        results = []
        async with self._sessionmaker.begin() as session:
            claims, recorded = DeliveryClaimRepository(session), SlackPostAttemptRepository(session)
            for ordering_key, key, channel, thread_ts in attempts:
                ours = await claims.renew([ordering_key], self._worker_id, until=now + self._lease)
                if ours:
                    await recorded.record(key, channel=channel, thread_ts=thread_ts, at=now)
                results.append(bool(ours))
        return results

    async def record_outcomes(self, outcomes: list[Outcome]) -> list[None]:
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

    async def _write_outcomes(self, outcomes: list[Outcome]) -> None:
        now = self._clock()
        pauses: dict[tuple[str, str], datetime] = {}
        for outcome in outcomes:
            for method, channel, until in outcome.pauses:
                pauses[(method, channel)] = max(until, pauses.get((method, channel), until))
        async with self._sessionmaker.begin() as session:
            # Claims first, then outbox rows: the heartbeat (OutboxClaimer.renew) locks them in that
            # order, and an outcome taking the other order deadlocked with it on PostgreSQL.
            await DeliveryClaimRepository(session).release(sorted({o.item.ordering_key for o in outcomes}), self._worker_id)
            outbox = OutboxRepository(session)
            messages = SlackMessageRepository(session)
            for outcome in outcomes:
                if outcome.posted is not None:
                    await messages.save(*outcome.posted)
            await SlackPostAttemptRepository(session).forget([o.settled for o in outcomes if o.settled])
            limits = SlackRateLimitRepository(session)
            for (method, channel), until in sorted(pauses.items()):  # one order: no deadlock between replicas
                await limits.pause(method, channel, until)
            await outbox.mark_done_many([outcome.item.id for outcome in outcomes if outcome.done])
            for outcome in outcomes:
                if outcome.status is not None:
                    await outbox.mark_failed(outcome.item.id, error=outcome.error or "failed", status=outcome.status)
                elif outcome.retry_at is not None:
                    await outbox.reschedule(
                        outcome.item.id, at=outcome.retry_at, error=outcome.error or "",
                        count_attempt=outcome.count_attempt, failed_at=now,
                    )  # fmt: skip
