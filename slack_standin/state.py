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

from .triggers import TriggerLedger

TEAM_ID = "T0LOCAL"
TEAM_NAME = "opsbot local"
TEAM_URL = "https://opsbot-local.slack.com/"
BOT_USER_ID = "U0BOT"
BOT_USER_NAME = "opsbot"
BOT_ID = "B0BOT"
APP_ID = "A0LOCAL"

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")


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


def default_user(user_id: str, name: str | None = None, real_name: str | None = None) -> dict[str, Any]:
    """A users.info `user` in Slack's shape; names default to "user-u0alice" / "User U0ALICE"."""
    is_bot = user_id == BOT_USER_ID
    name = name or (BOT_USER_NAME if is_bot else "user-" + user_id.lower())
    real_name = real_name or ("Opsbot" if is_bot else "User " + user_id)
    return {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "real_name": real_name,
        "tz": "UTC",
        "tz_offset": 0,
        "is_bot": is_bot,
        "deleted": False,
        "profile": {"display_name": name, "real_name": real_name, "email": f"{name}@opsbot.local"},
    }


@dataclass
class Conversation:
    """A channel, private channel, DM or group DM, and who is in it (the bot's membership is what Slack checks)."""

    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    is_im: bool = False
    is_mpim: bool = False
    user: str | None = None  # the other person, for a DM
    members: set[str] = field(default_factory=set)
    created: int = field(default_factory=lambda: int(time.time()))

    def info(self) -> dict[str, Any]:
        """conversations.info / .list shape."""
        base: dict[str, Any] = {"id": self.id, "created": self.created, "is_im": self.is_im, "is_mpim": self.is_mpim}
        if self.is_im:
            return {**base, "user": self.user, "is_org_shared": False}
        return {
            **base,
            "name": self.name,
            "is_channel": not self.is_private and not self.is_mpim,
            "is_group": self.is_private,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_member": BOT_USER_ID in self.members,
            "num_members": len(self.members),
        }


@dataclass
class Workspace:
    """Channels with their messages, plus views, files, users and user groups, as Slack would hold them.

    Conversations exist only once added (`add_channel`), a DM once opened with a known user; the bot
    may post and read only where it is a member, as Slack refuses otherwise.
    """

    channel_names: dict[str, str] = field(default_factory=dict)  # id -> display name
    dm_users: dict[str, str] = field(default_factory=dict)  # DM channel id -> user id
    conversations: dict[str, Conversation] = field(default_factory=dict)
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # id -> top-level msgs
    ephemerals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    home_views: dict[str, str] = field(default_factory=dict)  # user id -> view id
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    usergroups: dict[str, dict[str, Any]] = field(default_factory=dict)
    triggers: TriggerLedger = field(default_factory=TriggerLedger)
    trigger_owners: dict[str, str] = field(default_factory=dict)  # trigger id -> the person who acted
    modals: dict[str, list[str]] = field(default_factory=dict)  # user id -> open view ids, bottom first
    _index: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _last_ts_us: int = 0
    _counter: int = 0

    def __post_init__(self) -> None:
        self.users.setdefault(BOT_USER_ID, default_user(BOT_USER_ID))

    def reset(self) -> None:
        """Forget messages, views and files; ids, channels and users stay, and ts keeps increasing."""
        for store in (self.channels, self.ephemerals, self.views, self.home_views, self.files, self.modals):
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
        """The id "#alerts", "alerts", a user id or a channel id stands for; creates nothing (read-back)."""
        channel = channel.strip()
        if _CHANNEL_ID.match(channel):
            return channel
        if _USER_ID.match(channel):
            return stable_id("D", channel)
        name = channel.lstrip("#").lower()
        named = [c.id for c in self.conversations.values() if c.name == name and not c.is_im]
        if named:
            return named[0]
        derived = self.conversations.get(stable_id("C", name))
        # A channel renamed away from `name` keeps the id derived from it: the old name must not find it.
        return stable_id("C", name) if derived is None or derived.name == name else stable_id("C", "#renamed:" + name)

    # conversations and people ------------------------------------------------------------------

    def add_channel(
        self, name: str, *, member: bool = True, private: bool = False, archived: bool = False,
        channel_id: str | None = None, members: tuple[str, ...] = (),
    ) -> str:
        """A channel that exists (again: its messages are kept); `member` says whether the bot is in it.
        A bare channel id as `name` ("C0OPS") makes a channel of that id, named after it."""
        if _CHANNEL_ID.match(name.strip()) and channel_id is None:
            channel_id = name.strip()
        name = name.strip().lstrip("#").lower()
        channel_id = channel_id or stable_id("C", name)
        conversation = self.conversations.get(channel_id) or Conversation(channel_id, name)
        conversation.is_private, conversation.is_archived = private, archived
        conversation.members |= set(members)
        if member:
            conversation.members.add(BOT_USER_ID)
        else:
            conversation.members.discard(BOT_USER_ID)
        self.conversations[channel_id] = conversation
        self.channel_names[channel_id] = "#" + name
        return channel_id

    def add_user(
        self, user_id: str, name: str | None = None, real_name: str | None = None, *, title: str = "", **extra: Any
    ) -> None:
        user = {**default_user(user_id, name, real_name), **extra}
        if title:
            user["profile"]["title"] = title  # what the person does; the page offers the people with one
        self.users[user_id] = user

    def find_user(self, user_id: str) -> dict[str, Any] | None:
        return self.users.get(user_id)

    def open_dm(self, user_id: str) -> str:
        channel_id = stable_id("D", user_id)
        if channel_id not in self.conversations:
            self.conversations[channel_id] = Conversation(
                channel_id, user_id, is_im=True, user=user_id, members={user_id, BOT_USER_ID}
            )
        self.dm_users[channel_id] = user_id
        self.channel_names[channel_id] = "@" + user_id
        return channel_id

    def open_group(self, user_ids: list[str]) -> str:
        channel_id = stable_id("G", ",".join(sorted(user_ids)))
        if channel_id not in self.conversations:
            self.conversations[channel_id] = Conversation(
                channel_id, "mpdm-" + "--".join(sorted(user_ids)), is_private=True, is_mpim=True,
                members={*user_ids, BOT_USER_ID},
            )
        self.channel_names[channel_id] = "@" + ",".join(sorted(user_ids))
        return channel_id

    def find_conversation(self, channel: str) -> Conversation | None:
        """The conversation "#alerts", "alerts", a channel id or a user id (the app's DM) names, if any."""
        channel = channel.strip()
        if _USER_ID.match(channel):
            return self.conversations[self.open_dm(channel)] if channel in self.users else None
        return self.conversations.get(self.resolve_channel(channel))

    def bot_access(self, channel: Any, *, write: bool = True) -> tuple[str, str | None]:
        """(channel id, Slack's error or None): where the bot may post (write) or read."""
        conversation = self.find_conversation(str(channel or ""))
        if conversation is None:
            return "", "channel_not_found"
        if conversation.is_archived and write:
            return conversation.id, "is_archived"
        if BOT_USER_ID not in conversation.members:
            return conversation.id, "not_in_channel" if not conversation.is_private else "channel_not_found"
        return conversation.id, None

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


def channel_names_in(value: Any, key: str = "") -> list[str]:
    """Every "#name" or channel id held under a key ending in "channel" in nested dicts/lists (a bot's
    config, say): the channels a workspace must have, with the bot invited, for that config to work."""
    if isinstance(value, dict):
        return [name for k, v in value.items() for name in channel_names_in(v, str(k))]
    if isinstance(value, (list, tuple)):
        return [name for v in value for name in channel_names_in(v, key)]
    if isinstance(value, str) and key.endswith("channel") and (value.startswith("#") or _CHANNEL_ID.match(value)):
        return [value]
    return []
