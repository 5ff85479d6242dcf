"""Finding an earlier post by its marker, and the 429 pauses the worker keeps: pure logic, a fake Slack."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from delivery.rate_limits import RateLimitPaused, RateLimits
from delivery.posts import PostFinder, attempt_key, issue_marker, item_marker
from storage.models import Issue, OutboxItem, SlackPostAttempt

T0 = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)


class FakeSlack:
    """conversations.history/.replies over a list of messages, counting reads."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages
        self.reads: list[tuple[str, dict[str, Any]]] = []

    async def call(self, method: str, scope: str, function: Any, **kwargs: Any) -> dict[str, Any]:
        self.reads.append((method, kwargs))
        oldest = float(kwargs["oldest"])
        found = [m for m in self.messages if float(m["ts"]) >= oldest]
        return {"ok": True, "messages": found[::-1], "has_more": False, "response_metadata": {"next_cursor": ""}}

    conversations_history = conversations_replies = None


def _issue(issue_id: int) -> Issue:
    return Issue(id=issue_id, reported_at=T0)


def _attempt(key: str, first: datetime, last: datetime | None = None, thread_ts: str | None = None) -> SlackPostAttempt:
    return SlackPostAttempt(key=key, channel="C1", thread_ts=thread_ts, attempted_at=first, last_attempt_at=last or first)


def _message(ts: datetime, marker: dict[str, Any]) -> dict[str, Any]:
    return {"ts": f"{ts.timestamp():.6f}", "text": "x", "metadata": marker}


async def test_one_read_answers_every_look_up_it_covers() -> None:
    slack = FakeSlack([_message(T0 + timedelta(seconds=1), issue_marker(_issue(1)))])
    now = T0 + timedelta(seconds=30)
    finder = PostFinder(slack.call, slack, lambda: now, settle_seconds=10)
    first = await finder.find(_attempt("issue:1", T0), issue_marker(_issue(1)), channel="C1")
    second = await finder.find(_attempt("issue:2", T0 + timedelta(seconds=2)), issue_marker(_issue(2)), channel="C1")
    assert first == f"{(T0 + timedelta(seconds=1)).timestamp():.6f}" and second is None
    assert len(slack.reads) == 1
    assert slack.reads[0][1]["include_all_metadata"] is True


async def test_a_read_made_too_soon_after_an_attempt_or_not_reaching_back_far_enough_is_made_again() -> None:
    slack = FakeSlack([])
    clock = {"now": T0 + timedelta(seconds=30)}
    finder = PostFinder(slack.call, slack, lambda: clock["now"], settle_seconds=10)
    await finder.find(_attempt("issue:1", T0), issue_marker(_issue(1)), channel="C1")
    # Attempted 25 s in: its post may have landed after that read (made at 30 s, within the settle time).
    late = _attempt("issue:2", T0, last=T0 + timedelta(seconds=25))
    await finder.find(late, issue_marker(_issue(2)), channel="C1")
    assert len(slack.reads) == 2
    # First attempted well before what the reads reached back to.
    early = _attempt("issue:3", T0 - timedelta(minutes=5))
    await finder.find(early, issue_marker(_issue(3)), channel="C1")
    assert len(slack.reads) == 3
    # A thread is read on its own.
    await finder.find(_attempt("outbox:9", T0, thread_ts="1.0"), {"event_type": "opsbot_outbox",
                                                                "event_payload": {"outbox_id": 9}}, channel="C1")
    assert [method for method, _ in slack.reads][-1] == "conversations.replies"


async def test_look_ups_at_once_share_one_read() -> None:
    slack = FakeSlack([])
    finder = PostFinder(slack.call, slack, lambda: T0 + timedelta(minutes=1), settle_seconds=10)
    await asyncio.gather(*(finder.find(_attempt(f"issue:{n}", T0), issue_marker(_issue(n)), channel="C1")
                           for n in range(5)))
    assert len(slack.reads) == 1


def test_markers_and_attempt_keys() -> None:
    render = OutboxItem(id=7, operation="issue.render", issue_id=3, ordering_key="issue:3", payload={})
    line = OutboxItem(id=8, operation="issue.thread", issue_id=3, ordering_key="issue:3", payload={})
    assert attempt_key(render) == "issue:3" and attempt_key(line) == "outbox:8"
    assert issue_marker(_issue(3)) == {
        "event_type": "opsbot_issue", "event_payload": {"issue_id": 3, "reported_at": T0.isoformat()},
    }  # fmt: skip
    assert item_marker(line) == {"event_type": "opsbot_outbox", "event_payload": {"outbox_id": 8, "issue_id": 3}}


def test_a_pause_covers_its_channel_or_every_channel_and_keeps_the_longer_one() -> None:
    limits = RateLimits()
    limits.pause("chat.postMessage", "C1", T0 + timedelta(seconds=30))
    limits.pause("chat.postMessage", "C1", T0 + timedelta(seconds=10))  # a shorter one does not shorten it
    assert limits.paused_until("chat.postMessage", "C1", T0) == T0 + timedelta(seconds=30)
    assert limits.paused_until("chat.postMessage", "C2", T0) is None
    assert limits.paused_until("chat.update", "C1", T0) is None
    limits.load({("chat.postMessage", ""): T0 + timedelta(seconds=60)}, T0)  # another replica's, everywhere
    assert limits.paused_until("chat.postMessage", "C2", T0) == T0 + timedelta(seconds=60)
    assert limits.paused_until("chat.postMessage", "C1", T0 + timedelta(seconds=61)) is None
    with pytest.raises(RateLimitPaused) as paused:
        limits.check("chat.postMessage", "C1", T0)
    assert paused.value.until == T0 + timedelta(seconds=60)
