"""Posting once when Slack's answer may be lost: a metadata marker on every post, looked for before a retry.

A timeout, a 5xx or a crash leaves a post's outcome unknown: Slack may have stored the message and
only the answer was lost. Retrying blindly posts it twice (issue 13 item 9: 40 issues became 211
top-level messages while Slack answered after 12 s). So every chat.postMessage the worker makes
carries message metadata naming what it shows, the attempt is recorded before the call, and a
retry first reads the channel (conversations.history, or .replies in a thread) from the first
attempt on, with include_all_metadata, for a message carrying the same marker.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from delivery.outbox import SlackOperation
from storage.models import Issue, OutboxItem, SlackPostAttempt

log = logging.getLogger(__name__)

ISSUE_EVENT_TYPE = "opsbot_issue"  # the issue's top-level message
OUTBOX_EVENT_TYPE = "opsbot_outbox"  # any other post: thread lines, channel messages, DMs
LOOKUP_SKEW_SECONDS = 60.0  # Slack's clock against ours: start reading this much before the first attempt
LOOKUP_PAGE_SIZE = 200
LOOKUP_MAX_PAGES = 10
READ_KEPT_FOR = timedelta(minutes=2)

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


def _marker_key(metadata: Any) -> tuple[str, str] | None:
    if not isinstance(metadata, dict) or not isinstance(metadata.get("event_payload"), dict):
        return None
    return str(metadata.get("event_type")), json.dumps(metadata["event_payload"], sort_keys=True)


@dataclass
class _Read:
    """What one read of a channel (or thread) found: markers -> ts, from `oldest` up to when it was read."""

    oldest: float  # Slack ts the read reached back to
    read_at: datetime
    found: dict[tuple[str, str], str] = field(default_factory=dict)


class PostFinder:
    """Finds the message an earlier attempt may have posted, by its marker.

    One read of a channel serves every look-up it covers: after a storm of timeouts, many items
    of one channel look at once, and conversations.history is rate limited (Tier 3, ~50 a
    minute). A read covers an attempt when it reaches back before the first attempt and was made
    at least `settle_seconds` (the client's timeout) after the last one, so a message that attempt
    stored is in it.
    """

    def __init__(self, call: Caller, client: Any, clock: Callable[[], datetime], settle_seconds: float) -> None:
        self._call = call  # the worker's caller: (method, channel, function, **kwargs), rate limits applied
        self._client = client
        self._clock = clock
        self._settle = timedelta(seconds=settle_seconds)
        self._reads: dict[tuple[str, str], _Read] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def find(self, attempt: SlackPostAttempt, marker: dict[str, Any], *, channel: str) -> str | None:
        """The ts of a message carrying `marker` posted since the first attempt, or None.

        A 429 or 5xx here reschedules the item like any other call (nothing is posted meanwhile).
        A refusal (a channel name where Slack wants an id, a missing scope) cannot be retried
        away: it is logged and the post goes ahead, as it would have without this check.
        """
        where = (channel, attempt.thread_ts or "")
        oldest = attempt.attempted_at.timestamp() - LOOKUP_SKEW_SECONDS
        lock = self._locks.setdefault(where, asyncio.Lock())
        async with lock:
            read = self._reads.get(where)
            if read is None or read.oldest > oldest or read.read_at < attempt.last_attempt_at + self._settle:
                try:
                    read = await self._read(channel, attempt.thread_ts, oldest)
                except SlackApiError as error:
                    if error.response.status_code != 200:
                        raise
                    log.warning("cannot look for an earlier post in %s (%s); posting", channel, error.response.get("error"))
                    return None
                self._forget_old_reads()
                self._reads[where] = read
        return read.found.get(_marker_key(marker) or ("", ""))

    async def _read(self, channel: str, thread_ts: str | None, oldest: float) -> _Read:
        read = _Read(oldest=oldest, read_at=self._clock())
        cursor: str | None = None
        for _ in range(LOOKUP_MAX_PAGES):
            arguments: dict[str, Any] = {
                "channel": channel, "oldest": f"{oldest:.6f}", "include_all_metadata": True, "limit": LOOKUP_PAGE_SIZE,
            }  # fmt: skip
            if cursor:
                arguments["cursor"] = cursor
            if thread_ts:
                replies = self._client.conversations_replies
                response = await self._call("conversations.replies", channel, replies, ts=thread_ts, **arguments)
            else:
                history = self._client.conversations_history
                response = await self._call("conversations.history", channel, history, **arguments)
            for message in response.get("messages") or []:
                key = _marker_key(message.get("metadata"))
                if key is not None:
                    read.found.setdefault(key, str(message["ts"]))
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                return read
            read.oldest = min((float(m["ts"]) for m in response.get("messages") or []), default=read.oldest)
        log.warning("read %d messages of %s looking for earlier posts; older ones are not looked at",
                    LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE, channel)
        return read

    def _forget_old_reads(self) -> None:
        stale = self._clock() - READ_KEPT_FOR
        for where in [where for where, read in self._reads.items() if read.read_at < stale]:
            del self._reads[where]
            lock = self._locks.get(where)
            if lock is not None and not lock.locked():
                del self._locks[where]
