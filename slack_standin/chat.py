"""Messaging methods: auth.test, chat.*, conversations.*, users.info.

Each handler takes (workspace, args, origin) and returns the JSON body Slack would send with
HTTP 200. Messages are stored by channel id; a channel name ("#alerts") resolves to the same id
every time, so the bot can post by name and then chat.update with the id it got back.
"""

from __future__ import annotations

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
    stable_id,
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


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """A message as Slack returns it: our own `replies` list is not part of Slack's shape."""
    return {k: copy.deepcopy(v) for k, v in message.items() if k != "replies"}


def post_message(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    if not args.get("channel"):
        return rejection("channel_not_found")
    problem = check_message(args)
    if problem:
        return rejection(*problem)
    channel_id = ws.resolve_channel(str(args["channel"]))
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
    if not args.get("channel"):
        return rejection("channel_not_found")
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
    if not args.get("channel"):
        return rejection("channel_not_found")
    channel_id = ws.resolve_channel(str(args["channel"]))
    if not ws.delete_message(channel_id, str(args.get("ts") or "")):
        return rejection("message_not_found")
    return {"ok": True, "channel": channel_id, "ts": args["ts"]}


def post_ephemeral(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    if not args.get("channel"):
        return rejection("channel_not_found")
    if not args.get("user"):
        return rejection("user_not_found")
    problem = check_message(args)
    if problem:
        return rejection(*problem)
    channel_id = ws.resolve_channel(str(args["channel"]))
    ts = ws.next_ts()
    ws.ephemerals.setdefault(channel_id, []).append(
        {
            "ts": ts,
            "user": str(args["user"]),
            "text": str(args.get("text") or ""),
            "blocks": copy.deepcopy(args.get("blocks") or []),
        }
    )
    return {"ok": True, "message_ts": ts}


def get_permalink(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    if not args.get("channel"):
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
    if len(users) == 1:
        channel_id = ws.open_dm(users[0])
    else:
        channel_id = stable_id("G", ",".join(sorted(users)))
        ws.channel_names[channel_id] = "@" + ",".join(sorted(users))
    return {"ok": True, "channel": {"id": channel_id}}


def conversation_info(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    if not args.get("channel"):
        return rejection("channel_not_found")
    channel_id = ws.resolve_channel(str(args["channel"]))
    label = ws.channel_label(channel_id)
    is_im = channel_id.startswith("D")
    channel = {"id": channel_id, "name": label.lstrip("#@"), "is_channel": not is_im, "is_im": is_im}
    if is_im:
        channel["user"] = ws.dm_users.get(channel_id)
    return {"ok": True, "channel": channel}


def conversation_history(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    """Newest first, like Slack; honours oldest/latest/limit, ignores cursors (one page)."""
    if not args.get("channel"):
        return rejection("channel_not_found")
    channel_id = ws.resolve_channel(str(args["channel"]))
    oldest, latest = str(args.get("oldest") or "0"), str(args.get("latest") or "9999999999")
    found = [m for m in ws.channels.get(channel_id, []) if oldest <= m["ts"] <= latest]
    limit = int(args.get("limit") or 100)
    newest_first = [_public(m) for m in reversed(found)]
    return {
        "ok": True,
        "messages": newest_first[:limit],
        "has_more": len(found) > limit,
        "response_metadata": {"next_cursor": ""},
    }


def conversation_replies(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    if not args.get("channel"):
        return rejection("channel_not_found")
    channel_id = ws.resolve_channel(str(args["channel"]))
    parent_ts = ws.thread_parent_ts(channel_id, str(args.get("ts") or ""))
    if parent_ts is None:
        return rejection("thread_not_found")
    parent = ws.find_message(channel_id, parent_ts) or {}
    thread = [parent, *parent.get("replies", [])]
    return {"ok": True, "messages": [_public(m) for m in thread], "has_more": False}


def user_info(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    if not args.get("user"):
        return rejection("user_not_found")
    return {"ok": True, "user": copy.deepcopy(ws.user(str(args["user"])))}


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
