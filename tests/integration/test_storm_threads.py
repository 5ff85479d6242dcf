"""A storm's issue message says "the full list is in the thread": the thread must list every alert.

Through real HTTP: an Alertmanager notification (or two) for one storm, the delivery worker, and
the Slack stand-in's record of each chat.postMessage.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from handlers.slack.blockkit import MESSAGE_BLOCK_LIMIT, SECTION_TEXT_LIMIT
from tests.harness import RunningBot, fixture_json

_HEADER = re.compile(r"^\*(\d+) alert\(s\) joined this group(?: \((\d+)/(\d+)\))?:\*$")


def _storm(first: int, count: int) -> dict[str, Any]:
    """One notification of the HighErrorRate group with alerts first..first+count-1, each its own instance."""
    template = fixture_json("alertmanager_real_firing.json")
    notification = copy.deepcopy(template)
    base = template["alerts"][0]
    notification["alerts"] = []
    for n in range(first, first + count):
        alert = copy.deepcopy(base)
        alert["labels"]["instance"] = f"checkout-{n}:8080"
        alert["annotations"]["summary"] = f"High 5xx error rate on checkout-{n}"
        alert["fingerprint"] = f"storm{n:011d}"
        notification["alerts"].append(alert)
    return notification


def _message_text(call_args: dict[str, Any]) -> str:
    parts = [call_args.get("text", "")]
    parts += [block["text"]["text"] for block in call_args.get("blocks") or [] if isinstance(block.get("text"), dict)]
    return "\n".join(parts)


def _thread(bot: RunningBot) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the issue message as last rendered, its thread replies in the order they were posted)."""
    posts = bot.standin.calls_to("chat.postMessage")
    [top] = [call for call in posts if not call.args.get("thread_ts")]
    replies = [call.args for call in posts if call.args.get("thread_ts")]
    assert {reply["thread_ts"] for reply in replies} == {top.response["ts"]}
    updates = [call.args for call in bot.standin.calls_to("chat.update") if call.args.get("ts") == top.response["ts"]]
    return (updates[-1] if updates else top.args), replies


def _listed_instances(replies: list[dict[str, Any]]) -> list[str]:
    """The instances the thread lists, in order, after checking each reply is one valid, bounded message."""
    listed: list[str] = []
    for reply in replies:
        text = reply["text"]
        assert len(text) <= SECTION_TEXT_LIMIT
        blocks = reply.get("blocks") or []
        assert len(blocks) <= MESSAGE_BLOCK_LIMIT
        for block in blocks:
            Block.parse(block).validate_json()
        header, *lines = text.splitlines()
        assert _HEADER.match(header), header
        listed += [re.match(r"^• `([^`]+)` ", line).group(1) for line in lines]  # type: ignore[union-attr]
    return listed


def _assert_numbered(replies: list[dict[str, Any]], total_alerts: int) -> None:
    headers = [_HEADER.match(reply["text"].splitlines()[0]) for reply in replies]
    if len(replies) == 1:
        assert headers[0] and headers[0].group(1) == str(total_alerts)
        return
    assert [(h.group(1), h.group(2), h.group(3)) for h in headers if h] == [
        (str(total_alerts), str(n), str(len(replies))) for n in range(1, len(replies) + 1)
    ]


@pytest.mark.parametrize("count", [100, 1000])
async def test_the_thread_lists_every_alert_of_a_storm(bot: RunningBot, count: int) -> None:
    status, body = await bot.post_webhook("alertmanager", _storm(0, count))
    assert status == 202 and body["issues_opened"] == 1 and body["new"] == count, body
    await bot.outbox_drained(timeout=60)

    message, replies = _thread(bot)
    assert f"…and {count - 10} more: the full list is in the thread." in _message_text(message)
    assert _listed_instances(replies) == [f"checkout-{n}:8080" for n in range(count)]  # every one, in order
    assert len(replies) > 1  # more than one reply's worth: the list was not cut to fit one
    _assert_numbered(replies, count)


async def test_alerts_joining_a_storm_later_are_listed_too(bot: RunningBot) -> None:
    status, body = await bot.post_webhook("alertmanager", _storm(0, 100))
    assert status == 202 and body["issues_opened"] == 1
    await bot.outbox_drained(timeout=30)
    status, body = await bot.post_webhook("alertmanager", _storm(100, 300))
    assert status == 202 and body["issues_opened"] == 0 and body["new"] == 300
    await bot.outbox_drained(timeout=30)

    message, replies = _thread(bot)
    assert "…and 390 more: the full list is in the thread." in _message_text(message)
    assert _listed_instances(replies) == [f"checkout-{n}:8080" for n in range(400)]
    joined = [reply for reply in replies if reply["text"].startswith("*300 alert(s)")]
    _assert_numbered(joined, 300)
