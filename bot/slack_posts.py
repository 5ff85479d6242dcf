"""Posting once when Slack's answer may be lost: a metadata marker on every post, looked for before a retry.

A timeout, a 5xx or a crash leaves a post's outcome unknown: Slack may have stored the message and
only the answer was lost. Retrying blindly posts it twice (issue 13 item 9: 40 issues became 211
top-level messages while Slack answered after 12 s). So every chat.postMessage the worker makes
carries message metadata naming what it shows, the attempt is recorded before the call, and a
retry first reads the channel (conversations.history, or .replies in a thread) from the first
attempt on, with include_all_metadata, for a message carrying the same marker.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from handlers.outbox import SlackOperation
from storage.models import Issue, OutboxItem, SlackPostAttempt

log = logging.getLogger(__name__)

ISSUE_EVENT_TYPE = "opsbot_issue"  # the issue's top-level message
OUTBOX_EVENT_TYPE = "opsbot_outbox"  # any other post: thread lines, channel messages, DMs
LOOKUP_SKEW_SECONDS = 60.0  # Slack's clock against ours: start reading this much before the first attempt
LOOKUP_PAGE_SIZE = 200
LOOKUP_MAX_PAGES = 10

Caller = Callable[..., Awaitable[Any]]


def attempt_key(item: OutboxItem) -> str:
    """An issue's message is one per issue, whichever render item posts it; any other post is its item's."""
    if item.operation == SlackOperation.RENDER_ISSUE and item.issue_id is not None:
        return f"issue:{item.issue_id}"
    return f"outbox:{item.id}"


def issue_marker(issue: Issue) -> dict[str, Any]:
    """reported_at tells this deployment's issue 42 from another's (staging and production in one channel)."""
    return {
        "event_type": ISSUE_EVENT_TYPE,
        "event_payload": {"issue_id": issue.id, "reported_at": issue.reported_at.isoformat()},
    }


def item_marker(item: OutboxItem) -> dict[str, Any]:
    payload: dict[str, Any] = {"outbox_id": item.id}
    if item.issue_id is not None:
        payload["issue_id"] = item.issue_id
    return {"event_type": OUTBOX_EVENT_TYPE, "event_payload": payload}


def carries(message: dict[str, Any], marker: dict[str, Any]) -> bool:
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != marker["event_type"]:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and all(payload.get(k) == v for k, v in marker["event_payload"].items())


async def find_marked(
    call: Caller, client: Any, attempt: SlackPostAttempt, marker: dict[str, Any], *, channel: str
) -> str | None:
    """The ts of a message carrying `marker` posted since the first attempt, or None.

    `call(method, channel, function, **kwargs)` is the worker's rate-limited caller, so a 429 or 5xx
    here reschedules the item like any other call (and nothing is posted meanwhile). A refusal (a
    channel name where Slack wants an id, a missing scope) cannot be retried away: it is logged and
    the post goes ahead, as it would have without this check.
    """
    oldest = f"{attempt.attempted_at.timestamp() - LOOKUP_SKEW_SECONDS:.6f}"
    cursor: str | None = None
    for _ in range(LOOKUP_MAX_PAGES):
        arguments: dict[str, Any] = {
            "channel": channel, "oldest": oldest, "include_all_metadata": True, "limit": LOOKUP_PAGE_SIZE,
        }  # fmt: skip
        if cursor:
            arguments["cursor"] = cursor
        try:
            if attempt.thread_ts:
                response = await call(
                    "conversations.replies", channel, client.conversations_replies, ts=attempt.thread_ts, **arguments
                )
            else:
                response = await call("conversations.history", channel, client.conversations_history, **arguments)
        except SlackApiError as error:
            if error.response.status_code == 200:
                log.warning("cannot look for an earlier post in %s (%s); posting", channel, error.response.get("error"))
                return None
            raise
        for message in response.get("messages") or []:
            if carries(message, marker):
                return str(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not response.get("has_more") or not cursor:
            return None
    log.warning("looked through %d messages of %s for an earlier post without finding it; posting",
                LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE, channel)
    return None
