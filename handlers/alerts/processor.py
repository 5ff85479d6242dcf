"""Received webhooks become issues, alert rows and outbox items, in the order they came, in batches.

The webhook answers 202 once the body is stored (service.py); this processor then reads the stored
bodies oldest first, parses them again (bodies.py) and runs them through Ingestion, many webhooks a
transaction, deleting each stored body in the transaction that commits what it said. So a crash at
any point leaves every accepted alert either processed once or still stored, never lost, never
processed twice; and a storm costs the sender one INSERT a webhook, however much work it makes here.

One processor works at a time across replicas (an advisory lock on PostgreSQL, the write lock on
SQLite), so deliveries about one alert are applied in the order they were accepted. A webhook that
cannot be processed is retried alone, then parked and reported (log, /metrics, /healthz), never
retried for ever and never in the way of the others. A database outage only pauses the processor.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.metrics import Metrics
from delivery.outbox import OutboxWriter
from handlers.alerts.bodies import BodyRefused, parse_body
from handlers.alerts.ingestion import Ingestion, IngestResult
from handlers.alerts.parsers import AlertBatch
from handlers.alerts.settings import AlertRouting
from handlers.alerts.triage import AlertTriage
from handlers.errors import Conflict, NotFound
from handlers.issues.lifecycle import IssueLifecycle
from handlers.issues.service import IssueService
from storage.errors import is_outage
from storage.models import AlertStatus, ReceivedWebhookStatus, utcnow
from storage.repositories.alert import AlertRepository
from storage.repositories.received_webhook import ParkedWebhook, ReceivedWebhookRepository

log = logging.getLogger(__name__)

# On SQLite a processing transaction holds the one connection, so webhooks being stored wait behind it:
# while they keep coming a transaction takes a few (short waits), when they stop it takes more (fewer
# transactions for the same work).
WEBHOOKS_PER_TRANSACTION = 128
WEBHOOKS_PER_TRANSACTION_WHILE_RECEIVING = 48
WEBHOOKS_PER_INGESTION = 64
MAX_ATTEMPTS = 3  # a webhook that failed alone this often is parked
POLL_SECONDS = 5.0  # how often an idle processor looks anyway (another replica may have stored webhooks)
MAX_BACKOFF_SECONDS = 30.0
STATS_INTERVAL_SECONDS = 5.0
OUTCOME_KEPT_SECONDS = 60.0
GIVE_WAY_SECONDS = 0.25  # at most this long between transactions, however many webhooks keep coming
# While a storm lasts, how processing shares the event loop with storing: a pause YIELD_RATIO times
# as long as each transaction while the oldest webhook waiting is at most EASY_LAG old, shrinking to
# none at HARD_LAG, so a burst is taken at the HTTP server's pace and a long one still gets processed.
YIELD_RATIO = 4.0
EASY_LAG_SECONDS = 10.0
HARD_LAG_SECONDS = 60.0


@dataclass
class _Received:
    id: int
    source: str
    received_at: datetime
    acknowledging: bool
    batch: AlertBatch | None = None

    @property
    def keys(self) -> set[tuple[str, str]]:
        assert self.batch is not None
        return {(self.batch.source, alert.fingerprint) for alert in self.batch.alerts}

    @property
    def acknowledges(self) -> bool:
        return self.batch is not None and any(alert.acknowledged for alert in self.batch.alerts)


class WebhookProcessor:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: AlertRouting,
        outbox_writer: OutboxWriter,
        *,
        issues: IssueService,
        lifecycle: IssueLifecycle | None = None,
        triage: AlertTriage | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._config = config
        self._writer = outbox_writer
        self._issues = issues
        self._lifecycle = lifecycle or IssueLifecycle()
        self._triage = triage or AlertTriage(config)
        self._metrics = metrics
        self._clock = clock
        self._wake = asyncio.Event()
        self._outcomes: dict[int, asyncio.Future[IngestResult | None]] = {}
        self._last_stats = -STATS_INTERVAL_SECONDS
        self._storing: Callable[[], bool] = lambda: False
        self._lag_seconds = 0.0  # how old the oldest webhook of the last transaction was
        # As of the last look (every STATS_INTERVAL_SECONDS), for /healthz and /metrics.
        self.stats: dict[str, float] = {"webhooks_waiting": 0, "processing_lag_seconds": 0.0, "webhooks_parked": 0}

    def wake(self) -> None:
        self._wake.set()

    def expect(self, webhook_id: int) -> None:
        """Keep the outcome of this webhook for `outcome` (called before it is committed, so it cannot be missed)."""
        self._outcomes[webhook_id] = asyncio.get_running_loop().create_future()

    def forget(self, webhook_ids: list[int]) -> None:
        for webhook_id in webhook_ids:
            self._outcomes.pop(webhook_id, None)

    async def outcome(self, webhook_id: int, timeout: float) -> IngestResult | None:
        """What processing the webhook did, once done; None if not within `timeout` seconds, or if it was parked."""
        future = self._outcomes.get(webhook_id)
        if future is None:
            return None
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            return None
        finally:
            self._outcomes.pop(webhook_id, None)

    def give_way_to(self, storing: Callable[[], bool]) -> None:
        """`storing()`: whether webhooks are waiting to be stored (AlertService): their senders wait on that."""
        self._storing = storing

    async def run(self, stop: asyncio.Event) -> None:
        """Process until `stop`: at once when woken, every POLL_SECONDS otherwise, backing off in an outage.

        Storing a webhook (what its sender waits for) comes first. While webhooks keep arriving, a
        transaction takes only a few of them, and when it ends with webhooks waiting to be stored, the
        next waits until they are (on SQLite they need the connection this transaction held). When
        they stop arriving, it takes many at a time and catches up.
        """
        await self._requeue_parked()
        backoff = 1.0
        receiving = False
        while not stop.is_set():
            self._wake.clear()
            started = time.monotonic()
            try:
                processed = await self._process_next(WEBHOOKS_PER_TRANSACTION_WHILE_RECEIVING if receiving else None)
                await self._refresh_stats()
            except Exception as error:  # noqa: BLE001 - an outage pauses processing; nothing is lost
                if not is_outage(error):
                    raise
                log.warning("cannot process received webhooks now (%s); again in %.0f s", error, backoff)
                await _wait_for(stop, self._wake, timeout=backoff, wake_counts=False)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = 1.0
            receiving = self._wake.is_set() or self._storing()  # more were stored meanwhile, or are being stored
            if not processed:
                await _wait_for(stop, self._wake, timeout=POLL_SECONDS)
                continue
            if self._storing():
                self._wake.clear()
                await _wait_for(stop, self._wake, timeout=GIVE_WAY_SECONDS)  # the store's commit wakes us
            if receiving and (pause := self._pause_after(time.monotonic() - started)):
                await _wait_for(stop, self._wake, timeout=pause, wake_counts=False)
            await asyncio.sleep(0)

    def _pause_after(self, busy_seconds: float) -> float:
        """How long to leave the event loop to the webhooks after a transaction that took `busy_seconds`:
        YIELD_RATIO times as long while processing is at most EASY_LAG behind, less and less as it falls
        further behind, none from HARD_LAG on (then stores and transactions simply take turns)."""
        lag = self._lag_seconds
        if lag >= HARD_LAG_SECONDS:
            return 0.0
        share = 1.0 if lag <= EASY_LAG_SECONDS else (HARD_LAG_SECONDS - lag) / (HARD_LAG_SECONDS - EASY_LAG_SECONDS)
        return busy_seconds * YIELD_RATIO * share

    async def parked(self, limit: int) -> list[ParkedWebhook]:
        """Webhooks processing gave up on (oldest first), with why: for a person, before re-queueing."""
        async with self._sessionmaker() as session:
            return await ReceivedWebhookRepository(session).parked(limit)

    async def requeue_parked(self, ids: Sequence[int] | None = None) -> int:
        """Give parked webhooks (all, or those of `ids`) their attempts again, once a person fixed the cause."""
        async with self._sessionmaker.begin() as session:
            requeued = await ReceivedWebhookRepository(session).requeue_parked(ids)
        if requeued:
            log.warning("%d parked webhook(s) put back in line for another %d attempts", requeued, MAX_ATTEMPTS)
            self.wake()
        return requeued

    async def _requeue_parked(self) -> None:
        """At start, parked webhooks get their attempts again: a restart is how a fix is deployed."""
        try:
            await self.requeue_parked()
        except Exception as error:  # noqa: BLE001 - an outage: they wait for the next start
            if not is_outage(error):
                raise
            log.warning("could not put parked webhooks back in line (%s)", error)

    async def process_waiting(self) -> int:
        """Process everything waiting now, one transaction after another; how many webhooks were taken."""
        taken = 0
        while True:
            count = await self._process_next()
            taken += count
            if count < WEBHOOKS_PER_TRANSACTION:
                return taken

    async def _process_next(self, limit: int | None = None) -> int:
        limit = limit or WEBHOOKS_PER_TRANSACTION
        try:
            taken, results = await self._process(limit=limit)
        except Exception as error:  # noqa: BLE001 - find the one that fails; an outage is the caller's
            if is_outage(error):
                raise
            async with self._sessionmaker() as session:
                waiting = await ReceivedWebhookRepository(session).oldest_ids(limit)
            log.warning("%d received webhooks failed together; processing them one by one", len(waiting))
            taken, results = [], {}
            for webhook_id in waiting:
                alone, result = await self._process_alone(webhook_id)
                taken += alone
                results.update(result)
        self._writer.wake()
        if taken:
            self._lag_seconds = max(0.0, (self._clock() - taken[0].received_at).total_seconds())
        for item in taken:
            if item.id in results and item.acknowledges:
                try:
                    results[item.id].issues_acknowledged = await self._acknowledge(item)
                except Exception as error:  # noqa: BLE001 - kept as acknowledging: done again next time
                    if is_outage(error):
                        raise
                    log.exception("could not apply the acknowledgements of received webhook %d", item.id)
                    await self._failed(item.id, f"acknowledging: {type(error).__name__}: {error}")
        for item in taken:
            self._settle(item.id, results.get(item.id))
        if self._metrics is not None and results:
            self._metrics.webhooks_processed.inc(len(results))
        return len(taken)

    async def _process(
        self, *, limit: int = WEBHOOKS_PER_TRANSACTION, only: int | None = None
    ) -> tuple[list[_Received], dict[int, IngestResult]]:
        """The oldest webhooks waiting (or only the one named) read and parsed with no transaction open
        (on SQLite the webhooks share its one connection), then one transaction: ingested, and their stored
        bodies deleted (or kept to acknowledge). Returns what was taken and what came of it."""
        async with self._sessionmaker() as session:
            rows = await ReceivedWebhookRepository(session).oldest(limit, only=only)
        read = [
            _Received(row.id, row.source, row.received_at, row.status == ReceivedWebhookStatus.ACKNOWLEDGING,
                      self._read(row.source, row.body))
            for row in rows
        ]
        if not read:
            return [], {}
        results: dict[int, IngestResult] = {}
        async with self._sessionmaker.begin() as session:
            repository = ReceivedWebhookRepository(session)
            if not await repository.lock_for_processing():
                return [], {}  # another replica is processing: it takes ours too
            still_waiting = await repository.still_waiting([item.id for item in read])
            taken = [item for item in read if item.id in still_waiting]  # not those another replica took meanwhile
            for item in taken:
                if item.batch is None:
                    await repository.record_failure(item.id, "the stored body no longer parses", park=True)
                    self._parked(item, "the stored body no longer parses")
            items = [item for item in taken if item.batch is not None]
            with session.no_autoflush:
                for group in _groups(item for item in items if not item.acknowledging):
                    ingestion = Ingestion(
                        session, [item.batch for item in group],  # type: ignore[misc]
                        config=self._config, writer=self._writer, lifecycle=self._lifecycle,
                        now=max(item.received_at for item in group), triage=self._triage,
                    )
                    for item, result in zip(group, await ingestion.run()):
                        results[item.id] = result
                    await session.flush()  # the next group reads what this one wrote
            await repository.delete([item.id for item in items if not item.acknowledges])
            await repository.set_status(
                [item.id for item in items if item.acknowledges and not item.acknowledging],
                ReceivedWebhookStatus.ACKNOWLEDGING,
            )
        for item in items:
            results.setdefault(item.id, IngestResult())  # processed before: only its acknowledgements were left
        return taken, results

    @staticmethod
    def _read(source: str, body: bytes) -> AlertBatch | None:
        try:
            return parse_body(source, body)
        except BodyRefused:
            return None  # it parsed when it came: parked, for a person to look at

    async def _process_alone(self, webhook_id: int) -> tuple[list[_Received], dict[int, IngestResult]]:
        try:
            return await self._process(only=webhook_id)
        except Exception as error:  # noqa: BLE001 - counted against the webhook, parked at MAX_ATTEMPTS
            if is_outage(error):
                raise
            error_id = uuid.uuid4().hex[:12]
            log.exception("could not process received webhook %d (error id %s)", webhook_id, error_id)
            await self._failed(webhook_id, f"{type(error).__name__}: {error} (error id {error_id})")
            return [], {}

    async def _failed(self, webhook_id: int, error: str) -> None:
        """Count a failure against the webhook, parking it once it has failed MAX_ATTEMPTS times."""
        async with self._sessionmaker.begin() as session:
            repository = ReceivedWebhookRepository(session)
            await repository.lock_for_processing()
            parking = await repository.attempts(webhook_id) + 1 >= MAX_ATTEMPTS
            await repository.record_failure(webhook_id, error, park=parking)
        if parking:
            self._parked(_Received(webhook_id, "?", self._clock(), False), error)

    def _parked(self, item: _Received, error: str) -> None:
        log.error("parked received webhook %d from %s: %s", item.id, item.source, error)
        if self._metrics is not None:
            self._metrics.webhooks_parked.inc()
        self._settle(item.id, None)

    async def _acknowledge(self, item: _Received) -> int:
        """Acknowledge the open issues of alerts the sender says were taken (New Relic ACKNOWLEDGED), the
        source as the actor, then forget the stored body; how many. One already acknowledged or no
        longer open is left as it is, so doing this again after a crash changes nothing."""
        batch = item.batch
        assert batch is not None
        fingerprints = [alert.fingerprint for alert in batch.alerts if alert.acknowledged]
        async with self._sessionmaker() as session:
            found = await AlertRepository(session).get_by_fingerprints(batch.source, fingerprints)
        issue_ids = sorted(
            {alert.issue_id for alert in found.values() if alert.issue_id is not None and alert.status == AlertStatus.FIRING}
        )
        acknowledged = 0
        for issue_id in issue_ids:  # each its own transaction: one that fails leaves the others done
            try:
                await self._issues.acknowledge_for_monitoring(issue_id, batch.source)
            except (Conflict, NotFound):
                continue
            acknowledged += 1
        async with self._sessionmaker.begin() as session:
            await ReceivedWebhookRepository(session).delete([item.id])
        return acknowledged

    async def _refresh_stats(self) -> None:
        if time.monotonic() - self._last_stats < STATS_INTERVAL_SECONDS:
            return
        self._last_stats = time.monotonic()
        async with self._sessionmaker() as session:
            waiting, oldest, parked = await ReceivedWebhookRepository(session).backlog()
        lag = max(0.0, (self._clock() - oldest).total_seconds()) if oldest else 0.0
        self.stats = {"webhooks_waiting": waiting, "processing_lag_seconds": round(lag, 1), "webhooks_parked": parked}
        if self._metrics is not None:
            self._metrics.webhooks_waiting.set(waiting)
            self._metrics.webhooks_lag.set(lag)
            self._metrics.webhooks_stored_parked.set(parked)

    def _settle(self, webhook_id: int, result: IngestResult | None) -> None:
        future = self._outcomes.get(webhook_id)
        if future is not None and not future.done():
            future.set_result(result)
            # `outcome` takes it; if its request went away first, it is dropped after a while all the same
            asyncio.get_running_loop().call_later(OUTCOME_KEPT_SECONDS, self._outcomes.pop, webhook_id, None)


def _groups(items: Any) -> Iterator[list[_Received]]:
    """Consecutive runs that one Ingestion can take together: none mentions an alert an earlier one in
    the run does (each must see the other's effect), at most WEBHOOKS_PER_INGESTION."""
    group: list[_Received] = []
    keys: set[tuple[str, str]] = set()
    for item in items:
        item_keys = item.keys
        if group and (keys & item_keys or len(group) >= WEBHOOKS_PER_INGESTION):
            yield group
            group, keys = [], set()
        group.append(item)
        keys |= item_keys
    if group:
        yield group


async def _wait_for(stop: asyncio.Event, wake: asyncio.Event, *, timeout: float, wake_counts: bool = True) -> None:
    """Until `stop` (or `wake`, if it counts) is set, or `timeout` seconds."""
    events = [stop.wait()] + ([wake.wait()] if wake_counts else [])
    tasks = [asyncio.ensure_future(event) for event in events]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
