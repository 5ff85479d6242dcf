"""HTTP endpoints to see parked work and put it back in line once the cause is fixed, no restart needed.

`/webhooks/parked` (deliveries the processor could not turn into issues) and `/outbox/parked` (Slack
calls the delivery worker gave up on), each with `/requeue`. They take the alert webhooks' bearer
token: whoever runs the monitoring runs these. The listings name the error, never a body or a payload.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any, Awaitable, Callable

from aiohttp import web

from delivery.parked import ParkedDeliveries
from handlers.alerts.bodies import BodyRefused
from handlers.alerts.processor import WebhookProcessor
from handlers.alerts.webhooks import STORAGE_FAILURES, read_body
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

LISTED_AT_MOST = 100  # each listing shows the oldest this many
MAX_REQUEUE_BODY_BYTES = 64 * 1024
MAX_REQUEUE_IDS = 1000
RETRY_AFTER_SECONDS = 5


def parse_requeue_body(body: bytes) -> list[int] | None:
    """None (everything parked) for an empty body, `{}` or `{"ids": null}`; else the ids of `{"ids": [1, 2]}`."""
    if not body.strip():
        return None
    try:
        asked = json.loads(body)
    except (ValueError, RecursionError):
        raise BodyRefused(400, 'the body is not JSON: send {"ids": [...]} or nothing') from None
    if not isinstance(asked, dict) or set(asked) - {"ids"}:
        raise BodyRefused(422, 'expected {"ids": [...]} or an empty body')
    ids = asked.get("ids")
    if ids is None:
        return None
    if not isinstance(ids, list) or len(ids) > MAX_REQUEUE_IDS or not all(type(i) is int and 0 < i < 2**63 for i in ids):
        raise BodyRefused(422, f"ids: a list of at most {MAX_REQUEUE_IDS} ids (positive integers)")
    return ids


class ParkedRoutes:
    def __init__(self, processor: WebhookProcessor, deliveries: ParkedDeliveries, bearer_token: str) -> None:
        self._processor = processor
        self._deliveries = deliveries
        self._expected = f"Bearer {bearer_token}".encode()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/webhooks/parked", self._guarded(self._webhooks)),
            web.post("/webhooks/parked/requeue", self._guarded(self._requeue_webhooks)),
            web.get("/outbox/parked", self._guarded(self._outbox)),
            web.post("/outbox/parked/requeue", self._guarded(self._requeue_outbox)),
        ]

    def _guarded(self, handler: Callable[[web.Request], Awaitable[Any]]) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The bearer token first; a storage failure is a 503 with Retry-After, a bad body its 4xx."""

        async def guarded(request: web.Request) -> web.Response:
            if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), self._expected):
                return _problem(401, "missing or wrong Authorization: Bearer token", hint="set ALERT_WEBHOOK_TOKEN")
            try:
                return web.json_response(await handler(request))
            except BodyRefused as refusal:
                return _problem(refusal.status, refusal.problem)
            except (StorageUnavailable, *STORAGE_FAILURES):
                log.exception("%s %s failed on storage", request.method, request.path)
                return web.json_response(
                    {"error": "storage unavailable, retry later"}, status=503,
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )  # fmt: skip

        return guarded

    async def _webhooks(self, request: web.Request) -> dict[str, Any]:
        parked = await self._processor.parked(LISTED_AT_MOST)
        return {"parked": [
            {"id": item.id, "source": item.source, "received_at": item.received_at.isoformat(),
             "attempts": item.attempts, "error": item.last_error, "bytes": item.body_bytes}
            for item in parked
        ], "listed_at_most": LISTED_AT_MOST}  # fmt: skip

    async def _requeue_webhooks(self, request: web.Request) -> dict[str, Any]:
        return {"requeued": await self._processor.requeue_parked(await _requeue_ids(request))}

    async def _outbox(self, request: web.Request) -> dict[str, Any]:
        parked = await self._deliveries.oldest(LISTED_AT_MOST)
        return {"parked": [
            {"id": item.id, "operation": item.operation, "ordering_key": item.ordering_key, "issue_id": item.issue_id,
             "attempts": item.attempts, "error": item.last_error, "created_at": item.created_at.isoformat(),
             "parked_at": item.done_at.isoformat() if item.done_at else None}
            for item in parked
        ], "listed_at_most": LISTED_AT_MOST}  # fmt: skip

    async def _requeue_outbox(self, request: web.Request) -> dict[str, Any]:
        return {"requeued": await self._deliveries.requeue(await _requeue_ids(request))}


async def _requeue_ids(request: web.Request) -> list[int] | None:
    return parse_requeue_body(await read_body(request, limit=MAX_REQUEUE_BODY_BYTES))


def _problem(status: int, problem: str, **extra: Any) -> web.Response:
    return web.json_response({"error": problem, **extra}, status=status)
