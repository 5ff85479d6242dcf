"""Socket Mode: the app opens a websocket and Slack sends it everything it would POST over HTTP.

As Slack documents it: `apps.connections.open` takes an app-level token (xapp-; a bot or user token
is refused with `not_allowed_token_type`) and answers a one-use `wss://` URL. On connecting, the app
gets `hello`, then envelopes: `events_api`, `interactive` and `slash_commands`, each with an
`envelope_id`, its `payload` and `accepts_response_payload`; events also carry `retry_attempt` and
`retry_reason`. The app acks each by sending back `{"envelope_id": ..., "payload"?: ...}` within
3 seconds. An event not acked in time is sent again (retry_attempt + 1, retry_reason "timeout", up
to 3 retries, here one ack deadline apart); a click or a command is not: the person sees an error.
`disconnect()` asks the app to reconnect (reason `refresh_requested`, or `warning` first, as Slack
does before it refreshes a connection); `drop()` closes the socket from Slack's side without notice.

Once the app has opened a connection, the stand-in sends people's messages, clicks and commands
over the socket instead of signed HTTP requests (`active`). Tests read `acks` (in arrival order,
each on time or late), `missed` (deadlines that passed without an ack) and `sent`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSCloseCode, WSMsgType, web

from .signing import event_body
from .state import APP_ID
from .validation import rejection

log = logging.getLogger(__name__)

ACK_TIMEOUT_SECONDS = 3.0  # Slack's limit for every envelope
EVENT_RETRIES = 3
LINK_PATH = "/link/"
HOST = "applink-standin"
CONNECT_WAIT_SECONDS = 10.0  # how long a delivery waits for the app to (re)connect before it counts as missed


@dataclass(frozen=True)
class Envelope:
    envelope_id: str
    type: str  # events_api, interactive, slash_commands
    payload: dict[str, Any]
    accepts_response_payload: bool = False
    retry_attempt: int = 0
    retry_reason: str = ""

    def message(self) -> dict[str, Any]:
        """What goes over the socket, in Slack's shape."""
        body: dict[str, Any] = {
            "envelope_id": self.envelope_id, "type": self.type, "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
        }  # fmt: skip
        if self.type == "events_api":
            body["retry_attempt"] = self.retry_attempt
            body["retry_reason"] = self.retry_reason
        return body


@dataclass(frozen=True)
class Ack:
    """An ack as it arrived: for which envelope, whether within the deadline, and its payload if any."""

    envelope_id: str
    type: str
    retry_attempt: int
    on_time: bool
    payload: dict[str, Any] | None
    connection: int  # which connection (1 = the first opened) it came on


@dataclass(frozen=True)
class Missed:
    """An envelope whose deadline passed without an ack (`no_ack`), or that found no app to send to."""

    envelope_id: str
    type: str
    retry_attempt: int
    reason: str  # no_ack, no_connection


@dataclass
class Delivery:
    """One thing sent to the app: its envelopes (the first, then retries) and the ack that settled it."""

    envelopes: list[Envelope] = field(default_factory=list)
    ack: Ack | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return self.envelopes[0].payload


@dataclass
class _Connection:
    serial: int
    ws: web.WebSocketResponse
    draining: bool = False  # told to reconnect: new envelopes go to a newer connection once there is one


class SocketModeHub:
    """Slack's side of Socket Mode; `app_token=None` accepts any xapp- token."""

    def __init__(self, app_token: str | None = None, *, ack_timeout: float = ACK_TIMEOUT_SECONDS) -> None:
        self.app_token = app_token
        self.ack_timeout = ack_timeout
        self.active = False  # the app connected once: from then on Slack delivers over the socket
        self.connections_opened = 0
        self.sent: list[Envelope] = []
        self.acks: list[Ack] = []
        self.missed: list[Missed] = []
        self.stray_acks: list[Any] = []  # acks naming no envelope sent, or not JSON at all
        self._open: list[_Connection] = []
        self._tickets: set[str] = set()
        self._pending: dict[str, tuple[Envelope, asyncio.Future[Ack]]] = {}
        self._expired: set[str] = set()

    # apps.connections.open and the websocket ---------------------------------------------------

    def open_connection(self, token: str, origin: str) -> dict[str, Any]:
        """apps.connections.open's answer for `token`: a one-use URL, or Slack's refusal."""
        if not token:
            return rejection("not_authed")
        if token.startswith(("xoxb-", "xoxp-")):
            return rejection("not_allowed_token_type")
        if not token.startswith("xapp-") or (self.app_token is not None and token != self.app_token):
            return rejection("invalid_auth")
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return {"ok": True, "url": f"ws{origin.removeprefix('http')}{LINK_PATH}?ticket={ticket}&app_id={APP_ID}"}

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """The websocket behind the URL: hello, then envelopes out and acks in until either side closes."""
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            raise web.HTTPUnauthorized(text="invalid_ticket")  # each URL is good for one connection
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections_opened += 1
        connection = _Connection(self.connections_opened, ws)
        self._open.append(connection)
        self.active = True
        try:
            await ws.send_json({
                "type": "hello", "num_connections": len(self._open),
                "debug_info": {"host": HOST, "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            })  # fmt: skip
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._take_ack(message.data, connection)
        finally:
            self._open.remove(connection)
        return ws

    def _take_ack(self, text: str, connection: _Connection) -> None:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        pending = self._pending.get(body.get("envelope_id", "")) if isinstance(body, dict) else None
        if pending is None or pending[1].done():
            self.stray_acks.append(body if body is not None else text)
            return
        envelope, future = pending
        payload = body.get("payload") if isinstance(body.get("payload"), dict) else None  # type: ignore[union-attr]
        ack = Ack(envelope.envelope_id, envelope.type, envelope.retry_attempt,
                  envelope.envelope_id not in self._expired, payload, connection.serial)
        self.acks.append(ack)
        future.set_result(ack)

    # sending -----------------------------------------------------------------------------------

    async def send_event(self, event: dict[str, Any]) -> Delivery:
        """An Events API delivery (a fresh event_id), retried until acked as Slack retries events."""
        return await self.deliver("events_api", json.loads(event_body(event)))

    async def send_interaction(self, payload: dict[str, Any]) -> Delivery:
        accepts = payload.get("type") in ("view_submission", "block_suggestion")  # their ack can answer
        return await self.deliver("interactive", payload, accepts_response_payload=accepts)

    async def send_command(self, fields: str | dict[str, str]) -> Delivery:
        """A slash command: the form fields Slack would POST, as the payload object."""
        payload = dict(parse_qsl(fields, keep_blank_values=True)) if isinstance(fields, str) else dict(fields)
        return await self.deliver("slash_commands", payload, accepts_response_payload=True)

    async def redeliver(self, delivery: Delivery, reason: str = "timeout") -> Delivery:
        """The same event again with the next retry_attempt, as Slack sends it when an ack got lost."""
        last = delivery.envelopes[-1]
        return await self.deliver(last.type, last.payload, accepts_response_payload=last.accepts_response_payload,
                                  first_attempt=last.retry_attempt + 1, reason=reason)

    async def deliver(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False, first_attempt: int = 0,
        reason: str = "",
    ) -> Delivery:
        delivery = Delivery()
        last = first_attempt + (EVENT_RETRIES if kind == "events_api" else 0)
        for attempt in range(first_attempt, last + 1):
            envelope = Envelope(str(uuid.uuid4()), kind, payload, accepts_response_payload, attempt,
                                reason if attempt == first_attempt else "timeout")
            delivery.envelopes.append(envelope)
            delivery.ack = await self._send(envelope)
            if delivery.ack is not None:
                break
        return delivery

    async def _send(self, envelope: Envelope) -> Ack | None:
        connection = await self._connection()
        if connection is None:
            self.missed.append(Missed(envelope.envelope_id, envelope.type, envelope.retry_attempt, "no_connection"))
            return None
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._pending[envelope.envelope_id] = (envelope, future)
        self.sent.append(envelope)
        try:
            await connection.ws.send_json(envelope.message())
            return await asyncio.wait_for(asyncio.shield(future), self.ack_timeout)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):  # no ack in time, or the socket went
            self._expired.add(envelope.envelope_id)  # a late ack is still recorded, as late
            self.missed.append(Missed(envelope.envelope_id, envelope.type, envelope.retry_attempt, "no_ack"))
            return None

    async def _connection(self) -> _Connection | None:
        """The newest connection not told to go; while the app reconnects, wait a little for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECT_WAIT_SECONDS
        while True:
            fresh = [c for c in self._open if not c.draining and not c.ws.closed]
            if fresh:
                return fresh[-1]
            if loop.time() >= deadline:
                alive = [c for c in self._open if not c.ws.closed]
                return alive[-1] if alive else None
            await asyncio.sleep(0.02)

    # connection trouble, as Slack causes it ------------------------------------------------------

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Tell every open connection to reconnect; the app opens a new one and closes the old."""
        for connection in list(self._open):
            if connection.draining:
                continue
            await connection.ws.send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}})
            connection.draining = reason != "warning"

    async def drop(self) -> None:
        """Close every connection from Slack's side, without a `disconnect` first."""
        for connection in list(self._open):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"connection dropped")

    async def wait_for_connections(self, count: int = 1, timeout: float = 10.0) -> None:
        """Until `count` connections were opened in all and one is open and not told to go."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.connections_opened < count or not any(not c.draining and not c.ws.closed for c in self._open):
            if loop.time() >= deadline:
                raise AssertionError(
                    f"expected {count} Socket Mode connection(s) within {timeout}s; {self.connections_opened} opened, "
                    f"{len(self._open)} open"
                )
            await asyncio.sleep(0.02)

    @property
    def open_connections(self) -> int:
        return len([c for c in self._open if not c.ws.closed])

    def forget(self) -> None:
        """Forget what was sent and acked; connections stay."""
        self.sent.clear()
        self.acks.clear()
        self.missed.clear()
        self.stray_acks.clear()

    async def close(self) -> None:
        for connection in list(self._open):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"stand-in stopping")
        for _, future in self._pending.values():
            if not future.done():
                future.cancel()
