"""Slack calling the app: signed Events API deliveries, interactivity payloads, slash commands, webhooks.

The browser page acts as people in the workspace; everything they do reaches the bot as Slack would
send it: JSON `event_callback` envelopes and form-encoded `payload=` bodies signed with the signing
secret (v0, HMAC-SHA256), slash commands as plain form fields. The bot's answer to an interaction
(a `response_action` for a view submission, a slash command's inline reply) is handed back to the
caller to apply. Once the app has connected over Socket Mode, the same payloads go over its
websocket instead (slack_standin.socket_mode) and the ack's payload is the answer.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp

from .signing import FORM_CONTENT_TYPE, JSON_CONTENT_TYPE, event_body, sign_request
from .socket_mode import Delivery, SocketModeHub
from .state import APP_ID, BOT_ID, TEAM_ID
from .triggers import mint_trigger_id

log = logging.getLogger(__name__)
TIMEOUT = aiohttp.ClientTimeout(total=15)


@dataclass
class AppConnection:
    """Where the app listens, and the secrets Slack (and the alert source) share with it."""

    events_url: str
    signing_secret: str
    webhooks_url: str | None = None  # e.g. http://127.0.0.1:3000/webhooks
    webhook_token: str | None = None
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)  # label -> {"source", "firing", "resolved"}


@dataclass(frozen=True)
class AppAnswer:
    status: int
    text: str

    def json(self) -> dict[str, Any] | None:
        try:
            parsed = json.loads(self.text) if self.text.strip() else None
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None


def user_ref(user_id: str) -> dict[str, str]:
    name = "user-" + user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def team_ref() -> dict[str, str]:
    return {"id": TEAM_ID, "domain": "opsbot-local"}


def block_actions(
    user_id: str, action: dict[str, Any], *, response_url: str | None, trigger_id: str,
    container: dict[str, Any], channel_id: str | None = None, message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None, state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A block_actions payload for a click or a choice on a message, an ephemeral, a modal or the Home tab."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user_ref(user_id),
        "api_app_id": APP_ID,
        "token": "verification_token",
        "container": container,
        "trigger_id": trigger_id,
        "team": team_ref(),
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
    }
    if channel_id:
        payload["channel"] = {"id": channel_id, "name": channel_id.lower()}
    if response_url:
        payload["response_url"] = response_url
    if message is not None:
        payload["message"] = message
    if view is not None:
        payload["view"] = view
    if state is not None:
        payload["state"] = {"values": state}
    return payload


def view_payload(kind: str, user_id: str, view: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """view_submission or view_closed for the stored view, with the person's input as state.values."""
    payload: dict[str, Any] = {
        "type": kind,
        "team": team_ref(),
        "user": user_ref(user_id),
        "api_app_id": APP_ID,
        "token": "verification_token",
        "view": {**view, "state": {"values": state}, "bot_id": BOT_ID},
    }
    if kind == "view_submission":
        payload["trigger_id"] = mint_trigger_id()
        payload["response_urls"] = []
    else:
        payload["is_cleared"] = False
    return payload


def slash_command_fields(
    command: str, text: str, user_id: str, channel_id: str, channel_name: str, response_url: str, trigger_id: str
) -> str:
    return urlencode(
        {
            "token": "verification_token",
            "team_id": TEAM_ID,
            "team_domain": "opsbot-local",
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": "user-" + user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


class AppClient:
    """Sends signed requests to the app (one aiohttp session for the stand-in's lifetime), or envelopes
    over its Socket Mode connection once it has one."""

    def __init__(self, connection: AppConnection, socket: SocketModeHub | None = None) -> None:
        self.connection = connection
        self.socket = socket
        self._session: aiohttp.ClientSession | None = None

    @property
    def over_socket(self) -> bool:
        return self.socket is not None and self.socket.active

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def _post(self, url: str, body: str, content_type: str, headers: dict[str, str]) -> AppAnswer:
        try:
            async with self._http().post(
                url, data=body.encode(), headers={"Content-Type": content_type, **headers}
            ) as response:
                return AppAnswer(response.status, await response.text())
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("the app did not answer %s: %s", url, error)
            return AppAnswer(0, f"the app did not answer: {error}")

    async def send_signed(self, body: str, content_type: str) -> AppAnswer:
        headers = sign_request(self.connection.signing_secret, body)
        return await self._post(self.connection.events_url, body, content_type, headers)

    async def send_event(self, event: dict[str, Any]) -> AppAnswer:
        if self.over_socket:
            return _acked(await self.socket.send_event(event))  # type: ignore[union-attr]
        return await self.send_signed(event_body(event), JSON_CONTENT_TYPE)

    async def send_interaction(self, payload: dict[str, Any]) -> AppAnswer:
        if self.over_socket:
            return _acked(await self.socket.send_interaction(payload))  # type: ignore[union-attr]
        return await self.send_signed("payload=" + quote(json.dumps(payload)), FORM_CONTENT_TYPE)

    async def send_command(self, fields: str) -> AppAnswer:
        if self.over_socket:
            return _acked(await self.socket.send_command(fields))  # type: ignore[union-attr]
        return await self.send_signed(fields, FORM_CONTENT_TYPE)

    async def send_webhook(self, source: str, body: bytes) -> AppAnswer:
        """An alert source's delivery (Alertmanager, ...), with the bearer token the app expects."""
        if not self.connection.webhooks_url:
            return AppAnswer(0, "no webhook URL configured")
        headers = {"Authorization": f"Bearer {self.connection.webhook_token or ''}"}
        url = f"{self.connection.webhooks_url.rstrip('/')}/{source}"
        return await self._post(url, body.decode(), JSON_CONTENT_TYPE, headers)


def _acked(delivery: Delivery) -> AppAnswer:
    """A socket delivery as an HTTP answer: the ack's payload as the body, or no answer (status 0)."""
    if delivery.ack is None:
        return AppAnswer(0, "the app did not acknowledge within 3 seconds")
    return AppAnswer(200, json.dumps(delivery.ack.payload) if delivery.ack.payload else "")
