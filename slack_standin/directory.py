"""Who and where: users.info's siblings, user groups and the conversation directory.

users.lookupByEmail, users.list, usergroups.users.list, conversations.list, conversations.join,
conversations.members and conversations.rename, in Slack's shapes and with Slack's refusals (`users_not_found`,
`no_such_subteam`, `method_not_supported_for_channel_type`, `is_archived`, ...).
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from .chat import Handler
from .state import BOT_USER_ID, Conversation, Workspace
from .validation import rejection


def lookup_by_email(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    email = str(args.get("email") or "").strip().lower()
    for user in ws.users.values():
        if str(user.get("profile", {}).get("email", "")).lower() == email and email:
            return {"ok": True, "user": copy.deepcopy(user)}
    return rejection("users_not_found")


def list_users(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    members = [copy.deepcopy(u) for u in ws.users.values()]
    return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}


def usergroup_users(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    group = ws.usergroups.get(str(args.get("usergroup") or ""))
    if group is None:
        return rejection("no_such_subteam")
    return {"ok": True, "users": sorted(group["users"])}


def list_conversations(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    """Channels by `types` (default public_channel), archived ones only with exclude_archived=false."""
    types = {t.strip() for t in str(args.get("types") or "public_channel").split(",")}
    exclude_archived = str(args.get("exclude_archived", "false")).lower() in ("1", "true")
    found = []
    for conversation in ws.conversations.values():
        kind = (
            "im" if conversation.is_im else "mpim" if conversation.is_mpim
            else "private_channel" if conversation.is_private else "public_channel"
        )
        visible = kind == "public_channel" or BOT_USER_ID in conversation.members
        if kind in types and visible and not (exclude_archived and conversation.is_archived):
            found.append(conversation.info())
    # Paged like Slack (limit up to 1,000, default 100), the cursor opaque: here it names the id after the page.
    found.sort(key=lambda channel: channel["id"])
    cursor = str(args.get("cursor") or "")
    if cursor:
        after = base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("after:")
        found = [channel for channel in found if channel["id"] > after]
    limit = max(1, min(int(args.get("limit") or 100), 1000))
    page = found[:limit]
    more = len(found) > limit
    next_cursor = base64.urlsafe_b64encode(f"after:{page[-1]['id']}".encode()).decode() if more else ""
    return {"ok": True, "channels": page, "response_metadata": {"next_cursor": next_cursor}}


def join_conversation(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    conversation = ws.find_conversation(str(args.get("channel") or ""))
    if conversation is None or (conversation.is_private and BOT_USER_ID not in conversation.members):
        return rejection("channel_not_found")
    if conversation.is_im or conversation.is_mpim or conversation.is_private:
        return rejection("method_not_supported_for_channel_type")
    if conversation.is_archived:
        return rejection("is_archived")
    already = BOT_USER_ID in conversation.members
    conversation.members.add(BOT_USER_ID)
    body: dict[str, Any] = {"ok": True, "channel": conversation.info()}
    if already:
        body["warning"] = "already_in_channel"
        body["response_metadata"] = {"warnings": ["already_in_channel"]}
    return body


def rename(ws: Workspace, conversation: Conversation, new_name: str) -> str:
    """The channel keeps its id and messages; its old name finds nothing any more (Slack keeps no alias)."""
    name = new_name.strip().lstrip("#").lower()
    if any(c.name == name and c.id != conversation.id for c in ws.conversations.values() if not c.is_im):
        raise ValueError("name_taken")
    conversation.name = name
    ws.channel_names[conversation.id] = "#" + name
    return conversation.id


def rename_conversation(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    """conversations.rename: the bot may rename a channel it is in (Slack wants channels:manage too)."""
    conversation = ws.find_conversation(str(args.get("channel") or ""))
    if conversation is None or conversation.is_im or conversation.is_mpim:
        return rejection("channel_not_found")
    if BOT_USER_ID not in conversation.members:
        return rejection("not_in_channel")
    name = str(args.get("name") or "").strip().lstrip("#").lower()
    if not name or len(name) > 80 or not all(ch.isalnum() or ch in "-_" for ch in name):
        return rejection("invalid_name_specials" if name else "invalid_name_required")
    try:
        rename(ws, conversation, name)
    except ValueError:
        return rejection("name_taken")
    return {"ok": True, "channel": conversation.info()}


def conversation_members(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    conversation = ws.find_conversation(str(args.get("channel") or ""))
    if conversation is None or (conversation.is_private and BOT_USER_ID not in conversation.members):
        return rejection("channel_not_found")
    return {"ok": True, "members": sorted(conversation.members), "response_metadata": {"next_cursor": ""}}


METHODS: dict[str, Handler] = {
    "users.lookupByEmail": lookup_by_email,
    "users.list": list_users,
    "usergroups.users.list": usergroup_users,
    "conversations.list": list_conversations,
    "conversations.join": join_conversation,
    "conversations.members": conversation_members,
    "conversations.rename": rename_conversation,
}
