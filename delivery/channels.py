"""Channel problems never drop a message: join a public channel the bot is not in, else use the default channel.

Not inviting the bot is the most common set-up mistake (issue 11). Slack answers `not_in_channel`
for a public channel without the bot: the worker joins it (`conversations.join`, scope
`channels:join`) and posts again. A channel it cannot join (private: `channel_not_found`; archived:
`is_archived`) or that does not exist gets the message in the config's default channel instead,
headed by a line naming the channel that needs the bot; each admin is told once per channel per
process, and `opsbot_channel_fallbacks_total{channel,reason}` counts every such message.

Slack's conversations.join wants a channel id while routes name channels: `ChannelDirectory`
(delivery.directory) maps names to ids, and keeps a renamed channel's id for its old name. When Slack
answers `channel_not_found` for a channel by id, the list is read again first: if the name now stands
for another channel (deleted and made anew), the message goes there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from delivery.directory import CHANNEL_ID as _CHANNEL_ID
from delivery.directory import Caller, ChannelDirectory, channel_name

__all__ = ["ChannelDirectory", "ChannelFallback", "ChannelRescue", "channel_name", "prepend_notice", "slack_error_code"]

log = logging.getLogger(__name__)

CHANNEL_PROBLEMS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
MAX_BLOCKS = 50
_PERSON_OR_DM = re.compile(r"^[DUW][A-Z0-9]{2,}$")  # a direct message is never moved to a channel

Send = Callable[[str, dict[str, Any]], Awaitable[Any]]  # (channel, payload) -> Slack's answer to the post


def slack_error_code(error: SlackApiError) -> str:
    data = error.response.data
    return str(data.get("error") or "") if isinstance(data, dict) else ""


@dataclass
class ChannelFallback:
    """Where a message goes when its channel cannot take it, and who hears about that."""

    default_channel: str
    admins: Callable[[], Sequence[str]] = tuple  # read when needed: the config's emails become ids at start-up


@dataclass
class ChannelRescue:
    """What the worker does when Slack refuses a post for a channel problem (see the module docstring)."""

    fallback: ChannelFallback
    directory: ChannelDirectory
    call: Caller
    client: AsyncWebClient
    counter: Counter
    unavailable: dict[str, str] = field(default_factory=dict)  # channel -> the reason this process fell back
    _admins_told: set[str] = field(default_factory=set)

    async def rescue(self, channel: str, error: SlackApiError, payload: dict[str, Any], send: Send) -> Any:
        """Slack's answer to the post that got through: joined and posted, or posted to the default channel.

        Re-raises `error` when no channel problem is behind it, or the default channel is the one refusing.
        """
        code = slack_error_code(error)
        if error.response.status_code != 200 or code not in CHANNEL_PROBLEMS or _PERSON_OR_DM.match(channel.strip()):
            raise error
        if code == "channel_not_found" and await self.directory.moved(channel):
            log.info("%s names another channel now; posting there", channel)
            try:
                return await send(channel, payload)
            except SlackApiError as again:
                code = slack_error_code(again)
                if again.response.status_code != 200 or code not in CHANNEL_PROBLEMS:
                    raise
        if code == "not_in_channel":
            code = await self._join(channel)
            if not code:
                log.info("joined %s, which the bot was not in, to post there", channel)
                return await send(channel, payload)
        default = self.fallback.default_channel
        if channel_name(channel) == channel_name(default) or not default:
            raise error
        log.warning("cannot post to %s (%s): posting to %s instead", channel, code, default)
        response = await self._send_joining(default, with_notice(payload, channel, code), send)
        self.unavailable[channel] = code
        self.counter.labels(channel, code).inc()
        await self._tell_admins(channel, code, default)
        return response

    def notice_for(self, channel: str) -> str | None:
        """The line heading a message moved out of `channel` by this process, for its later updates."""
        reason = self.unavailable.get(channel)
        return notice_line(channel, reason) if reason else None

    async def _send_joining(self, channel: str, payload: dict[str, Any], send: Send) -> Any:
        """The default channel may lack the bot too: join it once if public, like any other."""
        try:
            return await send(channel, payload)
        except SlackApiError as error:
            if error.response.status_code != 200 or slack_error_code(error) != "not_in_channel" or await self._join(channel):
                raise
            return await send(channel, payload)

    async def _join(self, channel: str) -> str:
        """"" when the bot is in the channel now, else why not (Slack's error code)."""
        found = await self.directory.find(channel)
        if found is None:
            return "channel_not_found"
        if found.get("is_archived"):
            return "is_archived"
        try:
            await self.call("conversations.join", "", self.client.conversations_join, channel=found["id"])
        except SlackApiError as error:
            if error.response.status_code != 200:
                raise  # a 5xx: the item is retried, and the join with it
            return slack_error_code(error) or "join_refused"
        return ""

    async def _tell_admins(self, channel: str, reason: str, default: str) -> None:
        """Once per channel per process; a DM that fails is logged, never in the way of delivery."""
        if channel in self._admins_told:
            return
        self._admins_told.add(channel)
        text = (
            f":warning: opsbot cannot post to {display(channel)} ({reason}), so its messages go to {display(default)}. "
            f"Invite the bot there (`/invite @opsbot` in {display(channel)}), or change the route in the opsbot config."
        )
        for admin in self.fallback.admins():
            if not admin.startswith(("U", "W")):
                continue  # a user group: its members are not looked up for this
            try:
                opened = await self.call("conversations.open", "", self.client.conversations_open, users=admin)
                dm = opened["channel"]["id"]
                await self.call("chat.postMessage", dm, self.client.chat_postMessage, channel=dm, text=text)
            except Exception:  # noqa: BLE001 - the alert is delivered; the admin notice is best effort
                log.warning("could not tell admin %s that %s needs the bot", admin, channel, exc_info=True)


def display(channel: str) -> str:
    channel = channel.strip()
    return f"<#{channel}>" if _CHANNEL_ID.match(channel) else "#" + channel.lstrip("#")


def notice_line(channel: str, reason: str) -> str:
    why = "it is archived" if reason == "is_archived" else "the bot is not in it"
    return (
        f":warning: Meant for {display(channel)}, but opsbot cannot post there ({why}): "
        f"invite the bot to {display(channel)} (`/invite @opsbot`) or change the route."
    )


def with_notice(payload: dict[str, Any], channel: str, reason: str) -> dict[str, Any]:
    return prepend_notice(payload, notice_line(channel, reason))


def prepend_notice(payload: dict[str, Any], line: str) -> dict[str, Any]:
    """The payload with `line` first, in the text and (when there are blocks) as the first block."""
    moved = {**payload, "text": f"{line}\n{payload.get('text') or ''}".rstrip()}
    blocks = payload.get("blocks")
    if blocks:
        notice = {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}
        moved["blocks"] = [notice, *list(blocks)[: MAX_BLOCKS - 1]]
    return moved
