"""What modals opened from an issue's buttons share: where they came from, their inputs, error replies.

A view submission has no response_url, so an error found after the modal closed is told to the
person as an ephemeral message in the channel whose button opened it (or by DM).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.errors import InvalidInput

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModalOrigin:
    """Carried in the modal's private_metadata (3,000 chars at most; this is well under 200)."""

    issue_id: int
    channel_id: str | None = None
    message_ts: str | None = None

    def encode(self) -> str:
        return json.dumps({"issue": self.issue_id, "channel": self.channel_id, "ts": self.message_ts})

    @classmethod
    def decode(cls, text: str) -> "ModalOrigin":
        try:
            data = json.loads(text or "")
            issue_id = int(data["issue"])
        except (ValueError, TypeError, KeyError):
            raise InvalidInput("This form does not point at an issue any more: open it again from the issue.") from None
        channel, ts = data.get("channel"), data.get("ts")
        return cls(issue_id, channel if isinstance(channel, str) else None, ts if isinstance(ts, str) else None)


def state_values(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """view.state.values flattened to {block_id: the element's state} (one element per input block)."""
    values = ((view.get("state") or {}).get("values")) or {}
    return {block_id: next(iter(actions.values()), {}) for block_id, actions in values.items() if actions}


def text_value(values: dict[str, dict[str, Any]], block_id: str) -> str:
    return str((values.get(block_id) or {}).get("value") or "").strip()


def selected_value(values: dict[str, dict[str, Any]], block_id: str) -> str:
    option = (values.get(block_id) or {}).get("selected_option") or {}
    return str(option.get("value") or "")


async def tell_submitter(client: AsyncWebClient, origin: ModalOrigin | None, user_id: str, message: str) -> None:
    """Tell the person who submitted a modal, ephemerally where they clicked, else by DM."""
    try:
        if origin is not None and origin.channel_id:
            await client.chat_postEphemeral(channel=origin.channel_id, user=user_id, text=message)
        else:
            await client.chat_postMessage(channel=user_id, text=message)
    except SlackApiError as error:
        log.warning("could not tell %s: %s", user_id, error.response.get("error"))
