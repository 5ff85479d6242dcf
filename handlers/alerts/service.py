"""Alert ingestion: webhook deliveries become issues, alert rows and outbox items, durably.

Each alert is upserted by (source, fingerprint); new ones open issues (or join a storm's grouped
issue, see storms.py), repeats refresh the existing message, resolutions resolve the issue. All
Slack work is written to the outbox in the same transaction, so an accepted webhook is never lost.

Deliveries that arrive while a transaction runs are committed together (group commit) and written
with one multi-row statement per table (ingestion.py): on SQLite every statement costs a thread hop,
so this is what makes a thousand alerts a second possible.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.alerts.ingestion import Ingestion, IngestResult
from handlers.alerts.parsers import AlertBatch
from handlers.alerts.settings import AlertRouting
from handlers.alerts.triage import AlertTriage
from handlers.errors import Conflict, NotFound
from handlers.issues.lifecycle import IssueLifecycle
from handlers.issues.service import IssueService
from delivery.outbox import OutboxWriter
from storage.database import describe_storage_error
from storage.errors import StorageUnavailable
from storage.models import AlertStatus, utcnow
from storage.repositories.alert import AlertRepository

log = logging.getLogger(__name__)

MAX_DELIVERIES_PER_TRANSACTION = 64
WRITER_WAIT_SECONDS = 2.0  # how long a webhook waits for the writer before answering 503


@dataclass
class _Pending:
    batch: AlertBatch
    done: asyncio.Future[IngestResult]

    @property
    def keys(self) -> set[tuple[str, str]]:
        return {(self.batch.source, alert.fingerprint) for alert in self.batch.alerts}


def _settle(
    future: asyncio.Future[IngestResult], *, result: IngestResult | None = None, error: BaseException | None = None
) -> None:
    """Hand the outcome to the waiting request, unless it already gave up (withdrawn or cancelled)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]


def _is_outage(error: BaseException) -> bool:
    """Whether the database failed as a whole, rather than over one delivery's data."""
    return isinstance(error, (OperationalError, InterfaceError, OSError, TimeoutError, StorageUnavailable))


def _as_unavailable(error: BaseException) -> BaseException:
    if isinstance(error, StorageUnavailable) or not _is_outage(error):
        return error
    unavailable = StorageUnavailable(describe_storage_error(error))
    unavailable.__cause__ = error
    return unavailable


class AlertService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: AlertRouting,
        outbox_writer: OutboxWriter,
        *,
        issues: IssueService,
        lifecycle: IssueLifecycle | None = None,
        triage: AlertTriage | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`issues`: the app's issue service, through which monitoring systems acknowledge; `triage`:
        how a new issue gets its category and class (default: the config's rules and the built-in ones)."""
        self._sessionmaker = sessionmaker
        self._config = config
        self._writer = outbox_writer
        self._issues = issues
        self._lifecycle = lifecycle or IssueLifecycle()
        self._triage = triage or AlertTriage(config)
        self._clock = clock
        self._queue: list[_Pending] = []
        self._committer: asyncio.Task[None] | None = None

    async def ingest(self, batch: AlertBatch, *, writer_wait_seconds: float = WRITER_WAIT_SECONDS) -> IngestResult:
        """Store one delivery; returns once it is committed (possibly together with others).

        A delivery still queued for the writer after `writer_wait_seconds` is withdrawn and refused
        with StorageUnavailable (the webhook answers 503, the sender retries): a held lock or a
        stuck disk must not hold every sender's connection open. Once its transaction has begun it
        is awaited to the end, so an answer never contradicts what was stored.
        """
        loop = asyncio.get_running_loop()
        pending = _Pending(batch, loop.create_future())
        self._queue.append(pending)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued(), name="opsbot-alert-commit")
        # A timer rather than wait_for and shield: the same outcome, without two more futures a delivery.
        # Cancelling the waiting request cancels only its own answer; the committer skips a settled one.
        withdrawal = loop.call_later(writer_wait_seconds, self._withdraw, pending)
        try:
            return await pending.done
        finally:
            withdrawal.cancel()

    def _withdraw(self, pending: _Pending) -> None:
        """Still queued after the writer wait: refuse it (503) and forget it; once taken, it is awaited."""
        if pending in self._queue:
            self._queue.remove(pending)
            _settle(
                pending.done,
                error=StorageUnavailable("the database did not take the write in time", retry_after_seconds=2),
            )

    async def acknowledge_for_source(self, batch: AlertBatch) -> int:
        """Acknowledge the open issues of alerts the sender says were taken (New Relic ACKNOWLEDGED),
        the source as the actor; returns how many. Call after `ingest` stored the delivery.

        One already acknowledged (by a person, or by an earlier delivery of the same news) or no
        longer open is left as it is."""
        fingerprints = [alert.fingerprint for alert in batch.alerts if alert.acknowledged]
        if not fingerprints:
            return 0
        async with self._sessionmaker() as session:
            found = await AlertRepository(session).get_by_fingerprints(batch.source, fingerprints)
        issue_ids = sorted(
            {alert.issue_id for alert in found.values() if alert.issue_id is not None and alert.status == AlertStatus.FIRING}
        )
        acknowledged = 0
        for issue_id in issue_ids:
            try:
                await self._issues.acknowledge_for_monitoring(issue_id, batch.source)
            except (Conflict, NotFound):
                continue
            acknowledged += 1
        return acknowledged

    def _take_group(self) -> list[_Pending]:
        """The next deliveries to commit together: in arrival order, stopping before one that
        mentions an alert an earlier one in the group does (so each sees the other's effect)."""
        group: list[_Pending] = []
        keys: set[tuple[str, str]] = set()
        while self._queue and len(group) < MAX_DELIVERIES_PER_TRANSACTION:
            candidate_keys = self._queue[0].keys
            if group and keys & candidate_keys:
                break
            keys |= candidate_keys
            group.append(self._queue.pop(0))
        return group

    async def _commit_queued(self) -> None:
        while self._queue:
            group = self._take_group()
            try:
                results = await self._commit(group)
            except Exception as error:  # noqa: BLE001 - isolate the delivery that failed from the others
                if len(group) == 1 or _is_outage(error):
                    # The database itself failed (down, locked, full): retrying one by one would
                    # only make each sender wait longer for the same 503.
                    for pending in group:
                        _settle(pending.done, error=_as_unavailable(error))
                    continue
                log.warning("%d deliveries failed together; retrying them one by one", len(group))
                for pending in group:
                    await self._commit_alone(pending)
                continue
            self._writer.wake()
            for pending, result in zip(group, results):
                _settle(pending.done, result=result)

    async def _commit_alone(self, pending: _Pending) -> None:
        try:
            [result] = await self._commit([pending])
        except Exception as error:  # noqa: BLE001 - handed to the waiting request, which answers 503
            _settle(pending.done, error=_as_unavailable(error))
        else:
            self._writer.wake()
            _settle(pending.done, result=result)

    async def _commit(self, group: list[_Pending]) -> list[IngestResult]:
        async with self._sessionmaker.begin() as session:
            with session.no_autoflush:
                batches = [pending.batch for pending in group]
                ingestion = Ingestion(
                    session, batches, config=self._config, writer=self._writer, lifecycle=self._lifecycle,
                    now=self._clock(), triage=self._triage,
                )
                return await ingestion.run()
