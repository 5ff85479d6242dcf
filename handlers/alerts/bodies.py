"""A webhook body to an AlertBatch, the one way: the webhook reads bodies with it before storing
them, and the processor reads the stored body with it again, so both see the same alerts."""

from __future__ import annotations

import logging
import uuid
from typing import Any, Callable

from handlers.alerts.parsers import (
    AlertBatch,
    PayloadError,
    parse_alertmanager,
    parse_generic,
    parse_grafana,
)
from handlers.alerts.sanitising import UnsafeBody, decode_json
from handlers.alerts.vendors import parse_datadog, parse_newrelic

log = logging.getLogger(__name__)

PARSERS: dict[str, Callable[[Any], AlertBatch]] = {
    "alertmanager": parse_alertmanager,
    "grafana": parse_grafana,
    "datadog": parse_datadog,
    "newrelic": parse_newrelic,
    "generic": parse_generic,
}


class BodyRefused(Exception):
    """A body that will never be accepted; `status` is the HTTP answer (400 unreadable, 422 wrong shape)."""

    def __init__(self, status: int, problem: str) -> None:
        super().__init__(problem)
        self.status = status
        self.problem = problem


def parse_body(source: str, raw: bytes) -> AlertBatch:
    """Decode and parse, every failure a BodyRefused: malformed or unsafe JSON 400, wrong shape 422."""
    try:
        body = decode_json(raw)
    except UnsafeBody as error:
        raise BodyRefused(400, error.problem) from None
    try:
        return PARSERS[source](body)
    except PayloadError as error:
        raise BodyRefused(422, f"unexpected {source} payload: {error.problem}") from None
    except Exception as error:  # noqa: BLE001 - a body no rule foresaw is still the sender's to fix
        error_id = uuid.uuid4().hex[:12]
        log.exception("could not parse a %s webhook (error id %s)", source, error_id)
        raise BodyRefused(
            422, f"unexpected {source} payload: {type(error).__name__} (error id {error_id})"
        ) from None
