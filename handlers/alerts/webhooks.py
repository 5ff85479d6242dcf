"""HTTP endpoints monitoring systems post to. Authenticate, read, parse, store in one transaction, answer.

Every outcome is one of three, so a sender always knows what to do and no accepted alert is lost:
202 (stored and committed); 4xx naming the problem (the body will never be accepted: do not
retry); 503 with Retry-After (the database could not take it now: send it again). Nothing is
stored before the body has been read, decoded and parsed whole, so a refused body writes nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from typing import Any, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from sqlalchemy.exc import SQLAlchemyError

from core.metrics import Metrics
from handlers.alerts.parsers import (
    AlertBatch,
    PayloadError,
    parse_alertmanager,
    parse_generic,
    parse_grafana,
)
from handlers.alerts.sanitising import UnsafeBody, decode_json
from handlers.alerts.service import AlertService
from handlers.alerts.vendors import parse_datadog, parse_newrelic
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
BODY_TIMEOUT_SECONDS = 30.0  # for the whole body: a sender trickling bytes must not hold a connection for ever
DEFAULT_RETRY_AFTER_SECONDS = 5
PARSERS: dict[str, Callable[[Any], AlertBatch]] = {
    "alertmanager": parse_alertmanager,
    "grafana": parse_grafana,
    "datadog": parse_datadog,
    "newrelic": parse_newrelic,
    "generic": parse_generic,
}
# Besides StorageUnavailable (which says when to retry), what "the database cannot take this now"
# looks like from here, whatever the driver: SQLAlchemy's errors, a refused or reset connection
# (asyncpg raises ConnectionRefusedError, an OSError, as is) and a timeout. asyncio.TimeoutError is
# TimeoutError, an OSError, since 3.11; named for the reader.
STORAGE_FAILURES = (SQLAlchemyError, OSError, asyncio.TimeoutError)


class Refused(Exception):
    """A body the webhook will not take; answered with `status` and `problem`, nothing stored."""

    def __init__(self, status: int, problem: str) -> None:
        super().__init__(problem)
        self.status = status
        self.problem = problem


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
    too_large = Refused(413, f"body larger than {limit} bytes")
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
        raise Refused(408, f"body not received within {timeout:g} seconds") from None
    except (OSError, HttpProcessingError, RequestPayloadError) as error:
        raise Refused(400, f"could not read the request body: {error}") from None
    return b"".join(chunks)


class AlertWebhooks:
    def __init__(
        self,
        service: AlertService,
        bearer_token: str,
        metrics: Metrics,
        *,
        body_timeout_seconds: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        self._service = service
        self._expected = f"Bearer {bearer_token}".encode()
        self._metrics = metrics
        self._body_timeout = body_timeout_seconds
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
            batch = self._parse(source, await read_body(request, timeout=self._body_timeout))
        except Refused as refusal:
            response = _problem(refusal.status, refusal.problem)
            if refusal.status in (408, 413):
                response.force_close()  # the rest of the body may still be on its way: no keep-alive after it
            return response
        try:
            result = await self._service.ingest(batch)
            acknowledged = await self._service.acknowledge_for_source(batch)
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
        return web.json_response(
            {
                "status": "accepted",
                "alerts": len(batch.alerts),
                "new": result.new,
                "repeated": result.repeated,
                "resolved": result.resolved,
                "ignored": result.ignored,
                "issues_opened": result.issues_opened,
                "issues_resolved": result.issues_resolved,
                "issues_acknowledged": acknowledged,
            },
            status=202,
        )

    def _count(self, counter: Any, *labels: Any) -> None:
        child = self._counters.get((id(counter), *labels))
        if child is None:
            child = self._counters[(id(counter), *labels)] = counter.labels(*(str(label) for label in labels))
        child.inc()

    @staticmethod
    def _parse(source: str, raw: bytes) -> AlertBatch:
        """Decode and parse, every failure a Refused: malformed or unsafe JSON 400, wrong shape 422."""
        try:
            body = decode_json(raw)
        except UnsafeBody as error:
            raise Refused(400, error.problem) from None
        try:
            return PARSERS[source](body)
        except PayloadError as error:
            raise Refused(422, f"unexpected {source} payload: {error.problem}") from None
        except Exception as error:  # noqa: BLE001 - a body no rule foresaw is still the sender's to fix
            error_id = uuid.uuid4().hex[:12]
            log.exception("could not parse a %s webhook (error id %s)", source, error_id)
            raise Refused(
                422, f"unexpected {source} payload: {type(error).__name__} (error id {error_id})"
            ) from None
