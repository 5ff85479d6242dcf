"""The other direction: requests as Slack sends them to the bot, signed as Slack signs them.

Bodies are returned as the exact text to send, because the signature covers the raw bytes:
re-serialising the JSON after signing would break it. Shapes follow the captured fixtures in
tests/fixtures (slack_block_actions_button.json, slack_view_submission.json,
slack_slash_command.form.txt, slack_event_app_mention.json). Identifiers default to the stand-in's
workspace (team T0LOCAL, bot U0BOT). Trigger ids are fresh ones the stand-in accepts (once, for 3 s)
unless a test passes its own.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from typing import Any
from urllib.parse import quote, urlencode

from .state import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, stable_id
from .triggers import mint_trigger_id

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

# Discard port on loopback: a test that forgets to pass response_url fails fast, offline.
UNSET_RESPONSE_URL = "http://127.0.0.1:9/response_url/unset"
DEFAULT_USER_ID = "U0HUMAN"
DEFAULT_CHANNEL_ID = "C0LOCAL"
DEFAULT_MESSAGE_TS = "1732260000.000100"

_event_ids = itertools.count(1)
# Event ids are unique across runs too (the bot keeps receipts of the ones it handled): a counter
# alone would start again at 1 after a restart and the bot would take new events for retries.
_EVENT_ID_PREFIX = "Ev0" + secrets.token_hex(4).upper()


def sign_request(signing_secret: str, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """X-Slack-Request-Timestamp and X-Slack-Signature (v0, HMAC-SHA256 of "v0:{ts}:{body}")."""
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(signing_secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}


def _user(user_id: str) -> dict[str, str]:
    name = "user-" + user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def _team() -> dict[str, str]:
    return {"id": TEAM_ID, "domain": "opsbot-local"}


def _form_payload(payload: dict[str, Any]) -> str:
    """Interactivity bodies are one form field, `payload`, holding URL-quoted JSON."""
    return "payload=" + quote(json.dumps(payload))


def block_actions_body(
    action_id: str,
    value: str,
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    message_ts: str = DEFAULT_MESSAGE_TS,
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str | None = None,
    block_id: str | None = None,
    message: dict[str, Any] | None = None,
) -> str:
    """A button click on a message; pass `message` (e.g. from standin.messages()) if the bot reads it."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": "verification_token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False},
        "trigger_id": trigger_id or mint_trigger_id(),
        "team": _team(),
        "channel": {"id": channel_id, "name": "local"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id if block_id is not None else stable_id("b", action_id)[:7],
                "text": {"type": "plain_text", "text": "Button", "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if message is not None:
        payload["message"] = message
    return _form_payload(payload)


def _state_values(values: dict[str, Any]) -> dict[str, Any]:
    """Accept Slack's {block: {action: {"type", "value"}}} or the shorthand {block: {action: "text"}}."""
    return {
        block_id: {
            action_id: state if isinstance(state, dict) else {"type": "plain_text_input", "value": state}
            for action_id, state in actions.items()
        }
        for block_id, actions in values.items()
    }


def view_submission_body(
    callback_id: str,
    values: dict[str, Any],
    user_id: str = DEFAULT_USER_ID,
    private_metadata: str = "",
    view_id: str = "V0LOCAL",
) -> str:
    """A modal's submit, with `values` as Slack's view.state.values."""
    payload = {
        "type": "view_submission",
        "team": _team(),
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": "verification_token",
        "trigger_id": mint_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": _state_values(values)},
            "hash": f"{int(time.time())}.local",
            "title": {"type": "plain_text", "text": "opsbot"},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
    }
    return _form_payload(payload)


def slash_command_body(
    command: str,
    text: str,
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str | None = None,
) -> str:
    """A slash command: plain form fields, in the order Slack sends them."""
    fields = {
        "token": "verification_token",
        "team_id": TEAM_ID,
        "team_domain": "opsbot-local",
        "channel_id": channel_id,
        "channel_name": "local",
        "user_id": user_id,
        "user_name": "user-" + user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "response_url": response_url,
        "trigger_id": trigger_id or mint_trigger_id(),
    }
    return urlencode(fields)


def event_body(event: dict[str, Any]) -> str:
    """An Events API delivery: the event_callback envelope around `event`, with a fresh event_id."""
    envelope = {
        "token": "verification_token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": f"{_EVENT_ID_PREFIX}{next(_event_ids):06d}",
        "event_time": int(time.time()),
        "authed_users": [BOT_USER_ID],
    }
    return json.dumps(envelope)
