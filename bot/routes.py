"""The app's own HTTP endpoints beside the webhooks: Slack's requests (checked, de-duplicated, then
handed to Bolt), /healthz and /metrics. Handlers read what they need from the app's Opsbot."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from sqlalchemy.exc import SQLAlchemyError

from bot.opsbot import OPSBOT, Opsbot
from handlers.slack.receipts import receipt_key
from storage.database import check_writable
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 0.9  # load balancers give up on a health check after about a second
ALREADY_TAKEN = "already taken"


async def slack_events(request: web.Request) -> web.Response:
    if not await _verifiable(request):
        return web.json_response({"error": "invalid request"}, status=401)  # as Bolt refuses a bad signature
    opsbot = request.app[OPSBOT]
    receipt = await _take_receipt(request, opsbot)
    if receipt == ALREADY_TAKEN:
        opsbot.metrics.slack_duplicates.inc()
        return web.Response(status=200)  # Slack stops retrying; nothing is done twice
    bolt_request = await to_bolt_request(request)
    bolt_response = await opsbot.slack_app.async_dispatch(bolt_request)
    if receipt and bolt_response.status >= 400:
        await forget_receipt(opsbot, receipt)  # not handled: Slack's retry must be acted on
    return await to_aiohttp_response(bolt_response)


async def _take_receipt(request: web.Request, opsbot: Opsbot) -> str | None:
    """The delivery's receipt key once recorded, `ALREADY_TAKEN` for a retry or replay, None if unkeyed.

    Only a correctly signed request gets a receipt, so a forger cannot use up a real event's id.
    """
    body = await request.read()
    signature = request.headers.get("X-Slack-Signature", "")
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not opsbot.signature_verifier.is_valid(body, timestamp, signature):
        return None  # Bolt refuses it with 401
    return await take_receipt(opsbot, receipt_key(body, request.headers.get("Content-Type", ""), signature))


async def take_receipt(opsbot: Opsbot, key: str | None) -> str | None:
    """`key` once recorded, `ALREADY_TAKEN` if this or another replica took it, None if unkeyed.

    If the database cannot record it, the delivery is handled anyway: a rare duplicate beats a lost click.
    Shared by /slack/events and Socket Mode (bot.socket_mode).
    """
    if key is None:
        return None
    try:
        return key if await opsbot.receipts.first_time(key) else ALREADY_TAKEN
    except (SQLAlchemyError, OSError, StorageUnavailable):
        log.warning("could not record Slack receipt %s; handling the request anyway", key, exc_info=True)
        return None


async def forget_receipt(opsbot: Opsbot, key: str) -> None:
    try:
        await opsbot.receipts.forget(key)
    except (SQLAlchemyError, OSError, StorageUnavailable):
        log.warning("could not forget Slack receipt %s", key, exc_info=True)


async def _verifiable(request: web.Request) -> bool:
    """Whether Bolt can check this request's signature at all: it calls int() on the timestamp and
    decodes the body as text, and lets the ValueError or UnicodeDecodeError become a 500. Slack sends
    neither a non-numeric timestamp nor an undecodable body, so such a request is refused as forged."""
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    try:
        await request.text()  # aiohttp keeps the bytes: Bolt's adapter reads them again for free
    except (UnicodeDecodeError, LookupError):  # LookupError: a charset Python does not know
        return False
    return True


async def healthz(request: web.Request) -> web.Response:
    """Healthy means a write can commit now: what webhooks need to accept an alert. How far processing
    is behind (and what it parked) is shown beside it, as of its last look: a backlog is no reason to
    take a replica out of rotation, since storing is what keeps alerts safe."""
    opsbot = request.app[OPSBOT]
    health = await check_writable(opsbot.health_engine, timeout=HEALTH_TIMEOUT_SECONDS)
    processing = opsbot.webhook_processor.stats
    if health.ok:
        return web.json_response({"database": "ok", **processing})
    return web.json_response({"database": "unavailable", "problem": health.problem, **processing}, status=503)


async def metrics(request: web.Request) -> web.Response:
    metrics = request.app[OPSBOT].metrics
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.content_type})
