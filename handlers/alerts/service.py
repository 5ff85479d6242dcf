"""Alert webhooks stored durably before the sender gets its 202, then processed (processor.py).

Storing is all a webhook waits for: one row of the raw body. Webhooks that arrive while a
transaction runs are stored together (group commit), with one multi-row INSERT, so a storm costs a
round trip per group, not per webhook. What the body says (alerts, issues, outbox items) is worked
out by the processor right after, in batches, in the order the webhooks were stored.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.alerts.ingestion import IngestResult
from handlers.alerts.processor import WebhookProcessor
from storage.database import describe_storage_error
from storage.errors import StorageUnavailable, is_outage
from storage.models import utcnow
from storage.repositories.received_webhook import store_received

log = logging.getLogger(__name__)

MAX_WEBHOOKS_PER_TRANSACTION = 256
WRITER_WAIT_SECONDS = 2.0  # how long a webhook waits for the writer before answering 503


@dataclass
class _Pending:
    source: str
    body: bytes
    wants_outcome: bool
    stored: asyncio.Future[int | None]


def _settle(future: asyncio.Future[int | None], *, webhook_id: int | None = None, error: BaseException | None = None) -> None:
    """Hand the outcome to the waiting request, unless it already gave up (withdrawn or cancelled)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(webhook_id)  # type: ignore[arg-type]


def _as_unavailable(error: BaseException) -> BaseException:
    if isinstance(error, StorageUnavailable) or not is_outage(error):
        return error
    unavailable = StorageUnavailable(describe_storage_error(error))
    unavailable.__cause__ = error
    return unavailable


class AlertService:
    def __init__(
        self,
        engine: AsyncEngine,
        processor: WebhookProcessor,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._processor = processor
        self._clock = clock
        self._queue: list[_Pending] = []
        self._committer: asyncio.Task[None] | None = None
        processor.give_way_to(lambda: bool(self._queue))

    async def receive(
        self, source: str, body: bytes, *, wants_outcome: bool = False, writer_wait_seconds: float = WRITER_WAIT_SECONDS
    ) -> int | None:
        """Store one webhook's body (already parsed once: it is known to be readable); its id, once committed.

        A webhook still queued for the writer after `writer_wait_seconds` is withdrawn and refused
        with StorageUnavailable (the webhook answers 503, the sender retries): a held lock or a
        stuck disk must not hold every sender's connection open. Once its transaction has begun it
        is awaited to the end, so an answer never contradicts what was stored. `wants_outcome`:
        the processor keeps what processing did, for `outcome` (and the id comes back; else None).
        """
        loop = asyncio.get_running_loop()
        pending = _Pending(source, body, wants_outcome, loop.create_future())
        self._queue.append(pending)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued(), name="opsbot-webhook-store")
        # A timer rather than wait_for and shield: the same outcome, without two more futures a webhook.
        # Cancelling the waiting request cancels only its own answer; the committer skips a settled one.
        withdrawal = loop.call_later(writer_wait_seconds, self._withdraw, pending)
        try:
            return await pending.stored
        finally:
            withdrawal.cancel()

    async def outcome(self, webhook_id: int, timeout: float) -> IngestResult | None:
        """What processing the webhook (stored with `wants_outcome`) did; None if not done within `timeout`."""
        return await self._processor.outcome(webhook_id, timeout)

    def _withdraw(self, pending: _Pending) -> None:
        """Still queued after the writer wait: refuse it (503) and forget it; once taken, it is awaited."""
        if pending in self._queue:
            self._queue.remove(pending)
            _settle(
                pending.stored,
                error=StorageUnavailable("the database did not take the write in time", retry_after_seconds=2),
            )

    async def _commit_queued(self) -> None:
        while self._queue:
            group = self._queue[:MAX_WEBHOOKS_PER_TRANSACTION]
            del self._queue[:MAX_WEBHOOKS_PER_TRANSACTION]
            try:
                ids = await self._store(group)
            except Exception as error:  # noqa: BLE001 - handed to the waiting requests, which answer 503
                for pending in group:
                    _settle(pending.stored, error=_as_unavailable(error))
                continue
            self._processor.wake()
            for pending, webhook_id in zip(group, ids):
                _settle(pending.stored, webhook_id=webhook_id)

    async def _store(self, group: list[_Pending]) -> list[int | None]:
        expected: list[int] = []
        try:
            async with self._engine.begin() as connection:
                ids = await store_received(
                    connection, [(pending.source, pending.body) for pending in group], self._clock(),
                    with_ids=any(pending.wants_outcome for pending in group),
                )
                if ids is None:
                    return [None] * len(group)
                expected = [webhook_id for pending, webhook_id in zip(group, ids) if pending.wants_outcome]
                for webhook_id in expected:  # before the commit: the processor cannot have taken them yet
                    self._processor.expect(webhook_id)
        except BaseException:
            self._processor.forget(expected)
            raise
        return ids
