"""What people do in the workspace, and what Slack does with the app's answers to them.

Used by the browser page: a person's message is stored and becomes the events Slack would send;
response_url posts land where Slack would put them (a new ephemeral, the original message replaced
or deleted, a message in the channel); modals stack per person (views.open, views.push and a
submission's response_action).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from .state import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, Workspace
from .validation import MAX_MESSAGE_BLOCKS, check_blocks, check_view
from .views import store_view

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass
class ResponseTarget:
    """Where a response_url's posts go: the conversation, the person, and the message acted on."""

    channel_id: str
    user_id: str
    message_ts: str | None = None
    ephemeral: bool = False


@dataclass
class People:
    """The people's side of the workspace; their modal stacks are the workspace's `modals`."""

    ws: Workspace
    targets: dict[str, ResponseTarget] = field(default_factory=dict)

    # a person says something ----------------------------------------------------------------

    def say(self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Store the message and return the events Slack sends for it (message, and app_mention)."""
        ws = self.ws
        conversation = ws.conversations[channel_id]
        ts = ws.next_ts()
        message: dict[str, Any] = {"type": "message", "user": user_id, "text": text, "ts": ts, "team": TEAM_ID}
        parent = ws.thread_parent_ts(channel_id, thread_ts) if thread_ts else None
        ws.add_message(channel_id, message, parent)
        channel_type = "im" if conversation.is_im else "mpim" if conversation.is_mpim else (
            "group" if conversation.is_private else "channel")
        event: dict[str, Any] = {
            "type": "message", "user": user_id, "text": text, "ts": ts, "event_ts": ts, "team": TEAM_ID,
            "channel": channel_id, "channel_type": channel_type,
        }
        if parent:
            event["thread_ts"] = parent
        events = []
        if BOT_USER_ID in conversation.members:
            events.append(event)
        if not conversation.is_im and BOT_USER_ID in _MENTION.findall(text):
            mention = {k: v for k, v in event.items() if k != "channel_type"}
            events.append({**mention, "type": "app_mention"})
        return events

    # response_url ----------------------------------------------------------------------------

    def respond(self, name: str, body: dict[str, Any]) -> list[str]:
        """Apply a response_url post; the problems Slack would refuse it for (nothing applied then)."""
        target = self.targets.get(name)
        if target is None:
            return []  # a URL tests made up: recorded only
        blocks = body.get("blocks")
        if blocks is not None:
            problems = check_blocks(blocks, MAX_MESSAGE_BLOCKS)
            if problems:
                return problems
        ws = self.ws
        original = self._original(target)
        if body.get("delete_original") and original is not None:
            self._delete(target, original)
        elif body.get("replace_original") and original is not None:
            original["text"] = str(body.get("text") or "")
            original["blocks"] = copy.deepcopy(blocks or [])
            if not target.ephemeral:
                original["edited"] = {"user": BOT_USER_ID, "ts": ws.next_ts()}
        elif body.get("response_type") == "in_channel":
            message = self.bot_message(body)
            parent = ws.thread_parent_ts(target.channel_id, body["thread_ts"]) if body.get("thread_ts") else None
            ws.add_message(target.channel_id, message, parent)
        else:
            self.add_ephemeral(target.channel_id, target.user_id, body)
        return []

    def bot_message(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "app_id": APP_ID, "team": TEAM_ID,
            "ts": self.ws.next_ts(), "text": str(body.get("text") or ""), "blocks": copy.deepcopy(body.get("blocks") or []),
        }

    def add_ephemeral(self, channel_id: str, user_id: str, body: dict[str, Any]) -> None:
        self.ws.ephemerals.setdefault(channel_id, []).append({
            "ts": self.ws.next_ts(), "user": user_id, "text": str(body.get("text") or ""),
            "blocks": copy.deepcopy(body.get("blocks") or []), "thread_ts": body.get("thread_ts"),
        })

    def _original(self, target: ResponseTarget) -> dict[str, Any] | None:
        if target.message_ts is None:
            return None
        if target.ephemeral:
            found = [e for e in self.ws.ephemerals.get(target.channel_id, []) if e["ts"] == target.message_ts]
            return found[0] if found else None
        return self.ws.find_message(target.channel_id, target.message_ts)

    def _delete(self, target: ResponseTarget, original: dict[str, Any]) -> None:
        if target.ephemeral:
            self.ws.ephemerals[target.channel_id].remove(original)
        else:
            self.ws.delete_message(target.channel_id, original["ts"])

    # modals ----------------------------------------------------------------------------------

    def top_view(self, user_id: str) -> dict[str, Any] | None:
        stack = self.ws.modals.get(user_id) or []
        return self.ws.views.get(stack[-1]) if stack else None

    def close_top(self, user_id: str) -> None:
        stack = self.ws.modals.get(user_id) or []
        if stack:
            stack.pop()

    def apply_response_action(self, user_id: str, answer: dict[str, Any] | None) -> dict[str, Any]:
        """What a view_submission's answer does: errors shown, view updated/pushed, stack cleared, or closed."""
        action = (answer or {}).get("response_action")
        if action == "errors":
            return {"errors": answer.get("errors") or {}}  # type: ignore[union-attr]
        if action in ("update", "push"):
            view = answer.get("view")  # type: ignore[union-attr]
            problems = check_view(view)
            if problems:
                return {"refused": problems}
            stack = self.ws.modals.setdefault(user_id, [])
            if action == "update" and stack:
                store_view(self.ws, view, stack[-1])
            else:
                view_id = store_view(self.ws, view, None)
                stack.append(view_id)
            return {}
        if action == "clear":
            self.ws.modals[user_id] = []
            return {}
        self.close_top(user_id)
        return {}
