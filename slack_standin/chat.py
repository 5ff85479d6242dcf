"""Messaging methods: auth.test, chat.*, conversations.*, users.info.

Each handler takes (workspace, args, origin) and returns the JSON body Slack would send with
HTTP 200. Messages are stored by channel id; a channel name ("#alerts") resolves to the same id
every time, so the bot can post by name and then chat.update with the id it got back.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

from .state import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    BOT_USER_NAME,
    TEAM_ID,
    TEAM_NAME,
    TEAM_URL,
    Workspace,
)
from .validation import check_message, rejection

Handler = Callable[[Workspace, dict[str, Any], str], dict[str, Any]]

_MESSAGE_FIELDS = ("blocks", "attachments", "metadata", "username", "icon_emoji", "icon_url")


def auth_test(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    return {
        "ok": True,
        "url": TEAM_URL,
        "team": TEAM_NAME,
        "user": BOT_USER_NAME,
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
    }


def _public(message: dict[str, Any], *, metadata: bool = True) -> dict[str, Any]:
    """A message as Slack returns it: our own `replies` list is not part of Slack's shape.

    conversations.history and .replies leave out message `metadata` unless asked with
    include_all_metadata; chat.postMessage and chat.update echo it back.
    """
    hidden = ("replies",) if metadata else ("replies", "metadata")
    return {k: copy.deepcopy(v) for k, v in message.items() if k not in hidden}


def _flag(value: Any) -> bool:
    """A boolean argument as slack_sdk sends it: "1"/"true" in a query, true in JSON."""
    return value is True or str(value).lower() in ("1", "true")


def _page(found: list[dict[str, Any]], args: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """One page of `found` (newest first) after `cursor`, and the cursor of the next page ("" at the end).

    Like Slack, the cursor is opaque; here it names the ts the next page starts below.
    """
    cursor = str(args.get("cursor") or "")
    if cursor:
        below = base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("before:")
        found = [m for m in found if m["ts"] < below]
    limit = max(1, min(int(args.get("limit") or 100), 999))
    page = found[:limit]
    more = len(found) > limit
    next_cursor = base64.urlsafe_b64encode(f"before:{page[-1]['ts']}".encode()).decode() if more else ""
    return page, next_cursor


def _check_metadata(args: dict[str, Any]) -> tuple[str, str] | None:
    """Slack's rule for message metadata: an object with a string event_type and an object event_payload."""
    metadata = args.get("metadata")
    if metadata is None:
        return None
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not metadata["event_type"]
        or not isinstance(metadata.get("event_payload", {}), dict)
    ):
        return ("invalid_metadata_format", "metadata must have an event_type and an event_payload object")
    return None


def post_message(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    channel_id, refused = ws.bot_access(args.get("channel"))
    if refused:
        return rejection(refused)
    problem = check_message(args) or _check_metadata(args)
    if problem:
        return rejection(*problem)
    parent_ts = None
    if args.get("thread_ts"):
        parent_ts = ws.thread_parent_ts(channel_id, str(args["thread_ts"]))
        if parent_ts is None:
            return rejection("thread_not_found")
    message: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "ts": ws.next_ts(),
        "text": str(args.get("text") or ""),
        "blocks": [],
    }
    message.update({k: copy.deepcopy(args[k]) for k in _MESSAGE_FIELDS if args.get(k) is not None})
    ws.add_message(channel_id, message, parent_ts)
    return {"ok": True, "channel": channel_id, "ts": message["ts"], "message": _public(message)}


def _find(ws: Workspace, args: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    channel_id = ws.resolve_channel(str(args["channel"]))
    return channel_id, ws.find_message(channel_id, str(args.get("ts") or ""))


def update_message(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    _, refused = ws.bot_access(args.get("channel"))
    if refused:
        return rejection(refused)
    channel_id, message = _find(ws, args)
    if message is None:
        return rejection("message_not_found")
    problem = check_message(args)
    if problem:
        return rejection(*problem)
    if args.get("text") is not None:
        message["text"] = str(args["text"])
    for key in ("blocks", "attachments", "metadata"):
        if args.get(key) is not None:
            message[key] = copy.deepcopy(args[key])
    message["edited"] = {"user": BOT_USER_ID, "ts": ws.next_ts()}
    return {
        "ok": True,
        "channel": channel_id,
        "ts": message["ts"],
        "text": message["text"],
        "message": _public(message),
    }


def delete_message(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    channel_id, refused = ws.bot_access(args.get("channel"))
    if refused:
        return rejection(refused)
    if not ws.delete_message(channel_id, str(args.get("ts") or "")):
        return rejection("message_not_found")
    return {"ok": True, "channel": channel_id, "ts": args["ts"]}


def post_ephemeral(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    channel_id, refused = ws.bot_access(args.get("channel"))
    if refused:
        return rejection(refused)
    if ws.find_user(str(args.get("user") or "")) is None:
        return rejection("user_not_found")
    problem = check_message(args)
    if problem:
        return rejection(*problem)
    ts = ws.next_ts()
    ws.ephemerals.setdefault(channel_id, []).append(
        {
            "ts": ts,
            "thread_ts": args.get("thread_ts"),
            "user": str(args["user"]),
            "text": str(args.get("text") or ""),
            "blocks": copy.deepcopy(args.get("blocks") or []),
        }
    )
    return {"ok": True, "message_ts": ts}


def get_permalink(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    if ws.find_conversation(str(args.get("channel") or "")) is None:
        return rejection("channel_not_found")
    channel_id, message = _find(ws, {"channel": args["channel"], "ts": args.get("message_ts")})
    if message is None:
        return rejection("message_not_found")
    permalink = f"{TEAM_URL}archives/{channel_id}/p{message['ts'].replace('.', '')}"
    return {"ok": True, "channel": channel_id, "permalink": permalink}


def open_conversation(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    users = args.get("users")
    if isinstance(users, str):
        users = [u.strip() for u in users.split(",") if u.strip()]
    if not users:
        return rejection("users_list_not_supplied")
    if any(ws.find_user(u) is None for u in users):
        return rejection("user_not_found")
    channel_id = ws.open_dm(users[0]) if len(users) == 1 else ws.open_group(users)
    return {"ok": True, "channel": {"id": channel_id}}


def conversation_info(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    conversation = ws.find_conversation(str(args.get("channel") or ""))
    if conversation is None or (conversation.is_private and BOT_USER_ID not in conversation.members):
        return rejection("channel_not_found")
    return {"ok": True, "channel": conversation.info()}


def _ts_bound(value: Any, default: str) -> str:
    """oldest/latest as text comparable with message ts ("1732260000.000100"), whatever precision was sent."""
    if value in (None, ""):
        return default
    seconds, _, fraction = str(value).partition(".")
    return f"{seconds}.{(fraction + '000000')[:6]}"


def conversation_history(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    """Newest first, like Slack; honours oldest/latest/limit/cursor and include_all_metadata."""
    channel_id, refused = ws.bot_access(args.get("channel"), write=False)
    if refused:
        return rejection(refused)
    oldest, latest = _ts_bound(args.get("oldest"), "0"), _ts_bound(args.get("latest"), "9999999999")
    found = [m for m in reversed(ws.channels.get(channel_id, [])) if oldest <= m["ts"] <= latest]
    page, next_cursor = _page(found, args)
    with_metadata = _flag(args.get("include_all_metadata"))
    return {
        "ok": True,
        "messages": [_public(m, metadata=with_metadata) for m in page],
        "has_more": bool(next_cursor),
        "response_metadata": {"next_cursor": next_cursor},
    }


def conversation_replies(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    channel_id, refused = ws.bot_access(args.get("channel"), write=False)
    if refused:
        return rejection(refused)
    parent_ts = ws.thread_parent_ts(channel_id, str(args.get("ts") or ""))
    if parent_ts is None:
        return rejection("thread_not_found")
    parent = ws.find_message(channel_id, parent_ts) or {}
    oldest = _ts_bound(args.get("oldest"), "0")
    thread = [parent, *(m for m in parent.get("replies", []) if m["ts"] >= oldest)]
    with_metadata = _flag(args.get("include_all_metadata"))
    return {"ok": True, "messages": [_public(m, metadata=with_metadata) for m in thread], "has_more": False}


def user_info(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    user = ws.find_user(str(args.get("user") or ""))
    if user is None:
        return rejection("user_not_found")
    return {"ok": True, "user": copy.deepcopy(user)}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": post_message,
    "chat.update": update_message,
    "chat.delete": delete_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
    "conversations.open": open_conversation,
    "conversations.info": conversation_info,
    "conversations.history": conversation_history,
    "conversations.replies": conversation_replies,
    "users.info": user_info,
}
