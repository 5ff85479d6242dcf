"""Each Slack delivery is acted on once, across replicas: Events API retries and replayed requests.

Slack retries an event (same `event_id`, header `X-Slack-Retry-Num`, or over Socket Mode a new envelope
with `retry_attempt`) when our 200 or ack is late or lost,
and anyone who captured a signed request can send its exact bytes again within the five minutes the
signature stays fresh. Both must be acknowledged without a second answer, question row or click.
Receipts live in the database so every replica behind a load balancer agrees.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import utcnow
from storage.repositories.slack import SlackReceiptRepository

# Slack's signatures are accepted for five minutes and its event retries come within about an
# hour at most; receipts are kept longer than both.
RECEIPT_RETENTION = timedelta(hours=2)


def receipt_key(body: bytes, content_type: str, signature: str) -> str | None:
    """What identifies this delivery: the event id for Events API callbacks, else the signature.

    None for requests that must always be answered (url_verification has no side effects).
    """
    if content_type.startswith("application/json"):
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            payload = None
        if isinstance(payload, dict):
            if payload.get("type") == "url_verification":
                return None
            event_id = payload.get("event_id")
            if isinstance(event_id, str) and event_id:
                return f"event:{event_id[:100]}"
    if not signature:
        return None
    # The signature covers the timestamp and the exact body: the same value means the same bytes again.
    return "request:" + hashlib.sha256(signature.encode("utf-8", "replace")).hexdigest()


def envelope_receipt_key(envelope_type: str, payload: dict[str, Any], envelope_id: str) -> str | None:
    """What identifies a Socket Mode envelope: the event id for events (a retry carries the same one,
    in a new envelope, with retry_attempt), else the envelope id (a redelivery of a click keeps it).

    Events share their key with Events API callbacks over HTTP, so switching transports mid-retry is safe.
    """
    if envelope_type == "events_api":
        event_id = payload.get("event_id")
        if isinstance(event_id, str) and event_id:
            return f"event:{event_id[:100]}"
    return f"envelope:{envelope_id[:100]}" if envelope_id else None


class SlackReceipts:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock

    async def first_time(self, key: str) -> bool:
        """Record the delivery; False when this replica or another already took it."""
        async with self._sessionmaker.begin() as session:
            return await SlackReceiptRepository(session).add(key, self._clock())

    async def forget(self, key: str) -> None:
        """The delivery was not handled (we answered an error): let Slack's retry through."""
        async with self._sessionmaker.begin() as session:
            await SlackReceiptRepository(session).forget(key)

    async def purge(self) -> int:
        async with self._sessionmaker.begin() as session:
            return await SlackReceiptRepository(session).purge_older_than(self._clock() - RECEIPT_RETENTION)

