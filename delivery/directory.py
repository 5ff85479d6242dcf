"""Channels by id: routes name channels, Slack knows them by id, and a rename must not break routing.

`ChannelDirectory` holds conversations.list (paged; public and private; archived too, since archived
is a reason, not an absence). It is read at start-up (bot.slack_checks), every ten minutes
(create_app's job), on a miss at most once a minute, and when a post meets `channel_not_found`.

Each channel resolved by name is *pinned* to the id it was found under. Renamed later, the channel
no longer lists under that name, but the pin keeps its id, so its alerts keep landing there, and the
next read warns once that the config names it by its old name. A pin moves only when its channel is
gone from the list and another channel now has the name (deleted and made anew). Ids in the config
(C..., G...) are used as they are. Posting resolves from what was read, without a call of its own.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

LIST_PAGE_SIZE = 200
LIST_MAX_PAGES = 50
REFRESH_SECONDS = 60.0  # a name not found reads the list again at most this often
PERIODIC_REFRESH_SECONDS = 600.0  # renames, new channels and invitations are seen within this
NOT_FOUND_REREAD_SECONDS = 5.0  # after channel_not_found: read again unless the list is this fresh
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
CONVERSATION_ID = re.compile(r"^[CGDUW][A-Z0-9]{2,}$")  # channels, DMs and people: never looked up by name

Caller = Callable[..., Awaitable[Any]]  # the worker's: (method, scope, function, **kwargs), rate limits applied


def channel_name(channel: str) -> str:
    """"#Alerts" and "alerts" are one channel; ids stay as they are."""
    channel = channel.strip()
    return channel if CHANNEL_ID.match(channel) else channel.lstrip("#").lower()


class ChannelDirectory:
    """The workspace's channels the bot can see, by name and by id, with the ids names were pinned to."""

    def __init__(
        self, client: AsyncWebClient, *, call: Caller | None = None, refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._client = client
        self._call = call
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._by_name: dict[str, dict[str, Any]] = {}
        self._by_id: dict[str, dict[str, Any]] = {}
        self._pins: dict[str, str] = {}  # channel name -> the id it was found under
        self._renames_told: set[tuple[str, str]] = set()
        self._read_at: datetime | None = None
        self._reading = asyncio.Lock()

    async def refresh(self) -> None:
        """Read every page of the list, then check the pins against it."""
        async with self._reading:
            await self._read()

    async def _read(self) -> None:
        by_name: dict[str, dict[str, Any]] = {}
        cursor = ""
        for _ in range(LIST_MAX_PAGES):
            arguments: dict[str, Any] = {
                "types": "public_channel,private_channel", "exclude_archived": False, "limit": LIST_PAGE_SIZE,
            }  # fmt: skip
            if cursor:
                arguments["cursor"] = cursor
            if self._call is not None:
                response = await self._call("conversations.list", "", self._client.conversations_list, **arguments)
            else:
                response = await self._client.conversations_list(**arguments)
            for channel in response.get("channels") or []:
                by_name.setdefault(str(channel.get("name", "")).lower(), channel)
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                break
        self._by_name = by_name
        self._by_id = {str(channel["id"]): channel for channel in by_name.values()}
        self._read_at = self._clock()
        self._check_pins()

    def _check_pins(self) -> None:
        for name, channel_id in list(self._pins.items()):
            record = self._by_id.get(channel_id)
            if record is not None:
                now_named = str(record.get("name", "")).lower()
                if now_named != name and (name, now_named) not in self._renames_told:
                    self._renames_told.add((name, now_named))
                    log.warning(
                        "channel #%s was renamed #%s: messages for #%s keep going there (by its id, %s); "
                        "name it #%s or %s in the opsbot config, as a restart looks #%s up again",
                        name, now_named, name, channel_id, now_named, channel_id, name,
                    )  # fmt: skip
                continue
            replacement = self._by_name.get(name)
            if replacement is not None:
                self._pins[name] = str(replacement["id"])  # the old channel is gone; this one has its name
            else:
                del self._pins[name]

    async def find(self, channel: str) -> dict[str, Any] | None:
        """conversations.list's record of "#name", "name" or an id; None if the bot cannot see it."""
        key = channel_name(channel)
        found = self._cached(key)
        if found is None and self._older_than(self._refresh_seconds):
            await self.refresh()
            found = self._cached(key)
        return found

    def resolve(self, channel: str) -> str:
        """The id to post `channel`'s messages to, from what was read (no call); `channel` as given if unknown."""
        if self._read_at is None or CONVERSATION_ID.match(channel.strip()):
            return channel
        found = self._cached(channel_name(channel))
        return str(found["id"]) if found is not None else channel

    async def moved(self, channel: str) -> bool:
        """After Slack answered channel_not_found for `channel`: read the list again (unless it is only
        seconds old) and say whether the name now stands for another channel than the one just tried."""
        before = self.resolve(channel)
        async with self._reading:  # many posts failing at once read the list once
            if self._older_than(NOT_FOUND_REREAD_SECONDS):
                await self._read()
        return self.resolve(channel) != before

    def _older_than(self, seconds: float) -> bool:
        return self._read_at is None or self._clock() - self._read_at >= timedelta(seconds=seconds)

    def _cached(self, key: str) -> dict[str, Any] | None:
        if CHANNEL_ID.match(key):
            return self._by_id.get(key)
        pinned = self._pins.get(key)
        found = self._by_id.get(pinned) if pinned is not None else None
        if found is None:
            found = self._by_name.get(key)
            if found is not None:
                self._pins[key] = str(found["id"])
        return found
