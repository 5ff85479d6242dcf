"""Answering a modal's submission: errors beside its inputs while it is open, a message once it closed.

Slack keeps a modal open only if the ack itself says so (`response_action: errors`, within 3 s), so
validation runs before the ack. After the ack the modal is gone and a submission has no response_url:
what happens next is told ephemerally in the channel the modal was opened from, or by DM.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Mapping

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]


async def ack_submission(ack: Ack, errors: Mapping[str, str] | None = None) -> bool:
    """Ack a view submission: True when the modal closes; with errors it stays open and Slack shows
    each message under the input block it names (block id → sentence), and this returns False."""
    if errors:
        await ack(response_action="errors", errors={str(block_id): message for block_id, message in errors.items()})
        return False
    await ack()
    return True


async def tell_submitter(
    client: AsyncWebClient, user_id: str, message: str, channel_id: str | None = None, *, by_dm: bool = True
) -> None:
    """Tell the person who submitted a closed modal: ephemerally in `channel_id`, else by DM (unless
    `by_dm` is off, for modals whose channel is already the person's DM with the bot)."""
    try:
        if channel_id:
            await client.chat_postEphemeral(channel=channel_id, user=user_id, text=message)
        elif by_dm:
            await client.chat_postMessage(channel=user_id, text=message)
    except SlackApiError as error:
        log.warning("could not tell %s: %s", user_id, error.response.get("error"))
