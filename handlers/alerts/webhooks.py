"""HTTP endpoints monitoring systems post to. Authenticate, read, parse, store, answer.

Every outcome is one of three, so a sender always knows what to do and no accepted alert is lost:
202 (the body is committed; the processor turns it into issues right after, see processor.py);
4xx naming the problem (the body will never be accepted: do not retry); 503 with Retry-After (the
database could not take it now: send it again). Nothing is stored before the body has been read,
decoded and parsed whole, so a refused body writes nothing. A sender that wants to know what its
alerts did (new, repeated, resolved, issues opened...) asks with `Prefer: return=representation`
and gets the 202 once they are processed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import logging
import uuid
from typing import Any, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from sqlalchemy.exc import SQLAlchemyError

from core.metrics import Metrics
from handlers.alerts.bodies import PARSERS, BodyRefused, parse_body
from handlers.alerts.service import AlertService
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
BODY_TIMEOUT_SECONDS = 30.0  # for the whole body: a sender trickling bytes must not hold a connection for ever
DEFAULT_RETRY_AFTER_SECONDS = 5
OUTCOME_WAIT_SECONDS = 10.0  # how long `Prefer: return=representation` waits for processing
# Besides StorageUnavailable (which says when to retry), what "the database cannot take this now"
# looks like from here, whatever the driver: SQLAlchemy's errors, a refused or reset connection
# (asyncpg raises ConnectionRefusedError, an OSError, as is) and a timeout. asyncio.TimeoutError is
# TimeoutError, an OSError, since 3.11; named for the reader.
STORAGE_FAILURES = (SQLAlchemyError, OSError, asyncio.TimeoutError)


def _problem(status: int, problem: str, **extra: Any) -> web.Response:
    return web.json_response({"error": problem, **extra}, status=status)


def _retry_later(problem: str, retry_after_seconds: int) -> web.Response:
    return web.json_response(
        {"error": f"{problem}, retry later"},
        status=503,
        headers={"Retry-After": str(max(1, int(retry_after_seconds)))},
    )


async def read_body(
    request: web.Request, limit: int = MAX_BODY_BYTES, timeout: float = BODY_TIMEOUT_SECONDS
) -> bytes:
    """The whole body however it arrives (Content-Length or chunked, in one piece or several over
    time), refused with 413 as soon as it passes `limit`, without reading the rest, and with 408
    if it has not all arrived within `timeout` seconds.

    `request.content.read(n)` returns only what happens to be buffered, so the stream is read to
    its end here. Bytes are counted after aiohttp undoes any Content-Encoding, so a compressed
    body cannot expand past the limit either. A body that has all arrived already (most do, in
    the packet of the request line) is taken at once, without a timer.
    """
    too_large = BodyRefused(413, f"body larger than {limit} bytes")
    if (request.content_length or 0) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        if request.content.is_eof():
            body = request.content.read_nowait(-1)
            if len(body) > limit:
                raise too_large
            return body
        async with asyncio.timeout(timeout):
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
    except TimeoutError:
        raise BodyRefused(408, f"body not received within {timeout:g} seconds") from None
    except (OSError, HttpProcessingError, RequestPayloadError) as error:
        raise BodyRefused(400, f"could not read the request body: {error}") from None
    return b"".join(chunks)


class AlertWebhooks:
    def __init__(
        self,
        service: AlertService,
        bearer_token: str,
        metrics: Metrics,
        *,
        body_timeout_seconds: float = BODY_TIMEOUT_SECONDS,
        outcome_wait_seconds: float = OUTCOME_WAIT_SECONDS,
    ) -> None:
        self._service = service
        self._expected = f"Bearer {bearer_token}".encode()
        self._metrics = metrics
        self._body_timeout = body_timeout_seconds
        self._outcome_wait = outcome_wait_seconds
        self._counters: dict[tuple[Any, ...], Any] = {}  # prometheus children, looked up once per label set

    def routes(self) -> list[web.RouteDef]:
        return [web.post(f"/webhooks/{source}", self._handler(source)) for source in PARSERS]

    def _handler(self, source: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.Response:
            response = await self._handle(source, request)
            self._count(self._metrics.webhook_requests, source, response.status)
            return response

        return handle

    async def _handle(self, source: str, request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, self._expected):
            return _problem(401, "missing or wrong Authorization: Bearer token", hint="set ALERT_WEBHOOK_TOKEN")
        try:
            raw = await read_body(request, timeout=self._body_timeout)
            batch = parse_body(source, raw)
        except BodyRefused as refusal:
            response = _problem(refusal.status, refusal.problem)
            if refusal.status in (408, 413):
                response.force_close()  # the rest of the body may still be on its way: no keep-alive after it
            return response
        wants_outcome = _prefers_representation(request)
        try:
            webhook_id = await self._service.receive(source, raw, wants_outcome=wants_outcome)
        except StorageUnavailable as error:
            log.warning("could not store a %s webhook: %s", source, error.reason)
            return _retry_later("storage unavailable", error.retry_after_seconds)
        except STORAGE_FAILURES:
            log.exception("could not store a %s webhook", source)
            return _retry_later("storage unavailable", DEFAULT_RETRY_AFTER_SECONDS)
        except Exception:  # noqa: BLE001 - a bug must not lose the alert: the sender keeps it and retries
            error_id = uuid.uuid4().hex[:12]
            log.exception("could not store a %s webhook (error id %s)", source, error_id)
            return _retry_later(f"could not store the alerts (error id {error_id})", DEFAULT_RETRY_AFTER_SECONDS)
        for alert in batch.alerts:
            self._count(self._metrics.alerts_received, source, alert.status.value)
        answer: dict[str, Any] = {"status": "accepted", "alerts": len(batch.alerts)}
        if webhook_id is None:
            return web.json_response(answer, status=202)
        answer["webhook_id"] = webhook_id
        result = await self._service.outcome(webhook_id, self._outcome_wait)
        answer["processed"] = result is not None
        if result is not None:
            answer.update(dataclasses.asdict(result))
        return web.json_response(answer, status=202, headers={"Preference-Applied": "return=representation"})

    def _count(self, counter: Any, *labels: Any) -> None:
        child = self._counters.get((id(counter), *labels))
        if child is None:
            child = self._counters[(id(counter), *labels)] = counter.labels(*(str(label) for label in labels))
        child.inc()


def _prefers_representation(request: web.Request) -> bool:
    """`Prefer: return=representation` (RFC 7240): the sender wants what processing did, not just "stored"."""
    return any(
        token.strip().lower() == "return=representation"
        for header in request.headers.getall("Prefer", ())
        for token in header.split(",")
    )
