"""Socket Mode (SLACK_APP_TOKEN): Slack's events, clicks and commands over a websocket the bot opens.

For teams behind a firewall: nothing of Slack's needs to reach the bot over HTTP, so no public URL is
needed for it (alert webhooks, /healthz and /metrics still use the HTTP server, and /slack/events
still answers when a signing secret is set). Bolt's aiohttp Socket Mode handler speaks the protocol:
apps.connections.open, `hello`, one ack per envelope (sent as soon as the listener acks, as over
HTTP), a new connection when Slack asks for one (`disconnect`) or the socket drops.

What it adds is what /slack/events does before Bolt (bot.routes): each delivery is acted on once.
Slack sends an event again, in a new envelope with the same event_id and a `retry_attempt`, when its
ack was late or lost; the receipt in the database (shared with HTTP and every replica) stops the
second one. An envelope that was not handled (no ack) gives its receipt back, so the retry counts.

The app-level token is a secret: it goes only into apps.connections.open's Authorization header
(which slack_sdk redacts in its debug log) and is never logged here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.opsbot import Opsbot
from bot.routes import ALREADY_TAKEN, forget_receipt, take_receipt
from handlers.slack.receipts import envelope_receipt_key

log = logging.getLogger(__name__)

PING_INTERVAL_SECONDS = 10.0  # a silent socket is noticed (and replaced) within about four of these


class DeduplicatingSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's aiohttp Socket Mode handler, with the receipts /slack/events takes before dispatching."""

    def __init__(self, opsbot: Opsbot, app_token: str, *, ping_interval: float = PING_INTERVAL_SECONDS) -> None:
        super().__init__(
            opsbot.slack_app, app_token, logger=log.getChild("client"), web_client=opsbot.slack_app.client,
            ping_interval=ping_interval,
        )  # fmt: skip
        self._opsbot = opsbot

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        receipt = await take_receipt(self._opsbot, envelope_receipt_key(req.type, req.payload, req.envelope_id))
        if receipt == ALREADY_TAKEN:
            self._opsbot.metrics.slack_duplicates.inc()
            # Acked, so Slack stops sending it; nothing is done twice.
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        started = time.time()
        response = await run_async_bolt_app(self.app, req)
        if receipt and response.status != 200:
            await forget_receipt(self._opsbot, receipt)  # no ack goes back: Slack's retry must be acted on
        await send_async_response(client, req, response, started)


def socket_mode_connection(opsbot: Opsbot, app_token: str) -> Callable[[asyncio.Event], Awaitable[None]]:
    """The supervised task that keeps the bot connected until shutdown (the SDK reconnects by itself)."""

    async def stay_connected(stop: asyncio.Event) -> None:
        handler = DeduplicatingSocketModeHandler(opsbot, app_token)  # its client needs the running loop
        connecting = asyncio.ensure_future(handler.connect_async())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if connecting.done():
                connecting.result()
                log.info("connected to Slack over Socket Mode")
            await stop.wait()
        finally:
            connecting.cancel()
            stopping.cancel()
            await handler.close_async()

    return stay_connected
