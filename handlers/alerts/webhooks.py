"""HTTP endpoints monitoring systems post to. Authenticate, parse, store in one transaction, answer.

Bad input gets a 4xx naming the problem; a database outage gets a 503 so the sender retries.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any, Callable

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.metrics import Metrics
from handlers.alerts.parsers import (
    AlertBatch,
    PayloadError,
    parse_alertmanager,
    parse_generic,
    parse_grafana,
)
from handlers.alerts.service import AlertService

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
PARSERS: dict[str, Callable[[Any], AlertBatch]] = {
    "alertmanager": parse_alertmanager,
    "grafana": parse_grafana,
    "generic": parse_generic,
}


def _problem(status: int, problem: str, **extra: Any) -> web.Response:
    return web.json_response({"error": problem, **extra}, status=status)


class AlertWebhooks:
    def __init__(self, service: AlertService, bearer_token: str, metrics: Metrics) -> None:
        self._service = service
        self._expected = f"Bearer {bearer_token}".encode()
        self._metrics = metrics

    def routes(self) -> list[web.RouteDef]:
        return [web.post(f"/webhooks/{source}", self._handler(source)) for source in PARSERS]

    def _handler(self, source: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.Response:
            response = await self._handle(source, request)
            self._metrics.webhook_requests.labels(source, str(response.status)).inc()
            return response

        return handle

    async def _handle(self, source: str, request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, self._expected):
            return _problem(401, "missing or wrong Authorization: Bearer token", hint="set ALERT_WEBHOOK_TOKEN")
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return _problem(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            raw = await request.content.read(MAX_BODY_BYTES + 1)
        except (ConnectionError, OSError):
            return _problem(400, "could not read the request body")
        if len(raw) > MAX_BODY_BYTES:
            return _problem(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return _problem(400, f"malformed JSON: {error}")
        try:
            batch = PARSERS[source](body)
        except PayloadError as error:
            return _problem(422, f"unexpected {source} payload: {error.problem}")
        try:
            result = await self._service.ingest(batch)
        except SQLAlchemyError:
            log.exception("could not store a %s webhook", source)
            return web.json_response(
                {"error": "storage unavailable, retry later"}, status=503, headers={"Retry-After": "5"}
            )
        for alert in batch.alerts:
            self._metrics.alerts_received.labels(source, alert.status.value).inc()
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
            },
            status=202,
        )
