"""What the stand-in remembers: recorded calls and a tiny workspace (channels, messages, views, files).

Everything here is plain data mutated from one event loop, so there are no locks. Identifiers are
derived from names by hashing, so "#alerts" has the same id in every run and every test.
"""

from __future__ import annotations

import copy
import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

TEAM_ID = "T0LOCAL"
TEAM_NAME = "opsbot local"
TEAM_URL = "https://opsbot-local.slack.com/"
BOT_USER_ID = "U0BOT"
BOT_USER_NAME = "opsbot"
BOT_ID = "B0BOT"
APP_ID = "A0LOCAL"

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class Headers(dict):
    """Request headers keyed in lower case, looked up in any case (`h["Authorization"]` works)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__((str(k).lower(), v) for k, v in dict(items).items())

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One request as the stand-in saw it, and what it answered.

    `args` merges query string and body (JSON-encoded fields such as `blocks` and `view` decoded);
    `at` is `time.time()` on arrival; `status` is the HTTP status sent back; `path` tells apart
    calls that share a method name, e.g. two response URLs ("/response_url/r1").
    """

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int
    response: dict[str, Any]
    path: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error")


def stable_id(prefix: str, key: str) -> str:
    """An id that depends only on `key`, so it survives restarts and resets."""
    return prefix + hashlib.sha1(key.encode()).hexdigest()[:10].upper()


@dataclass
class Workspace:
    """Channels with their messages, plus views, files and users, as Slack would hold them."""

    channel_names: dict[str, str] = field(default_factory=dict)  # id -> display name
    dm_users: dict[str, str] = field(default_factory=dict)  # DM channel id -> user id
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # id -> top-level msgs
    ephemerals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    home_views: dict[str, str] = field(default_factory=dict)  # user id -> view id
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    _index: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _last_ts_us: int = 0
    _counter: int = 0

    def reset(self) -> None:
        """Forget messages, views and files; ids stay stable and ts keeps increasing."""
        for store in (self.channels, self.ephemerals, self.views, self.home_views, self.files):
            store.clear()
        self._index.clear()

    # identifiers -----------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message ts like Slack's ("1732260000.000100"): unique, increasing, sortable as text."""
        now_us = int(time.time()) * 1_000_000
        self._last_ts_us = max(now_us, self._last_ts_us + 100)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}0{self._counter:08X}"

    def resolve_channel(self, channel: str) -> str:
        """Map "#alerts", "alerts", a user id or a channel id to the channel id Slack would use."""
        channel = channel.strip()
        if _CHANNEL_ID.match(channel):
            self.channel_names.setdefault(channel, channel)
            return channel
        if _USER_ID.match(channel):
            return self.open_dm(channel)
        name = channel.lstrip("#").lower()
        channel_id = stable_id("C", name)
        self.channel_names[channel_id] = "#" + name
        return channel_id

    def open_dm(self, user_id: str) -> str:
        channel_id = stable_id("D", user_id)
        self.dm_users[channel_id] = user_id
        self.channel_names[channel_id] = "@" + user_id
        return channel_id

    def user(self, user_id: str) -> dict[str, Any]:
        """Users are invented on first sight; tests may pre-register richer ones in `users`."""
        if user_id not in self.users:
            name = BOT_USER_NAME if user_id == BOT_USER_ID else "user-" + user_id.lower()
            real_name = "Opsbot" if user_id == BOT_USER_ID else "User " + user_id
            self.users[user_id] = {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": real_name,
                "tz": "UTC",
                "tz_offset": 0,
                "is_bot": user_id == BOT_USER_ID,
                "deleted": False,
                "profile": {"display_name": name, "real_name": real_name},
            }
        return self.users[user_id]

    # messages --------------------------------------------------------------------------------

    def find_message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        return self._index.get((channel_id, ts))

    def add_message(self, channel_id: str, message: dict[str, Any], thread_ts: str | None) -> None:
        """Store a top-level message, or a reply under the thread's parent."""
        self._index[(channel_id, message["ts"])] = message
        if thread_ts is None:
            self.channels.setdefault(channel_id, []).append(message)
            return
        parent = self._index[(channel_id, thread_ts)]
        message["thread_ts"] = parent["ts"]
        parent["thread_ts"] = parent["ts"]
        parent.setdefault("replies", []).append(message)
        parent["reply_count"] = len(parent["replies"])
        parent["latest_reply"] = message["ts"]

    def thread_parent_ts(self, channel_id: str, thread_ts: str) -> str | None:
        """The parent's ts for a thread_ts that names the parent or one of its replies."""
        message = self._index.get((channel_id, thread_ts))
        if message is None:
            return None
        return message.get("thread_ts", message["ts"])

    def delete_message(self, channel_id: str, ts: str) -> bool:
        message = self._index.pop((channel_id, ts), None)
        if message is None:
            return False
        parent_ts = message.get("thread_ts", ts)
        if parent_ts == ts:
            self.channels[channel_id].remove(message)
            for reply in message.get("replies", []):
                self._index.pop((channel_id, reply["ts"]), None)
        else:
            parent = self._index[(channel_id, parent_ts)]
            parent["replies"].remove(message)
            parent["reply_count"] = len(parent["replies"])
        return True

    def snapshot(self, channel_id: str) -> list[dict[str, Any]]:
        """A deep copy, so a test holding it does not see (or cause) later changes."""
        return copy.deepcopy(self.channels.get(channel_id, []))

    def channel_label(self, channel_id: str) -> str:
        return self.channel_names.get(channel_id, channel_id)
