"""The stand-in as a slow Slack, and message metadata as conversations.history returns it.

A delayed call takes effect at once and is answered late, so a client that times out has posted
a message it never heard about; the message's metadata is how it finds it again.
"""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from slack_standin import SlackStandIn
from tests.unit.standin_support import TOKEN, assert_slack_error, client, standin  # noqa: F401 - fixtures

HANG_GUARD = 10  # seconds: only a broken delay gets near it; nothing here is timed
MARKER = {"event_type": "opsbot_issue", "event_payload": {"issue_id": 7, "reported_at": "2026-11-30T06:00:00+00:00"}}


async def test_a_delayed_post_lands_although_the_client_times_out(standin: SlackStandIn) -> None:
    impatient = AsyncWebClient(base_url=standin.api_url, token=TOKEN, timeout=0.2)
    standin.delay("chat.postMessage", seconds=HANG_GUARD)
    with pytest.raises(asyncio.TimeoutError):
        await impatient.chat_postMessage(channel="#alerts", text="slow", metadata=MARKER)
    [call] = standin.calls_to("chat.postMessage")  # recorded on arrival, with the answer it was to get
    assert call.response["ok"] and [m["text"] for m in standin.messages("#alerts")] == ["slow"]

    answered = await impatient.chat_postMessage(channel="#alerts", text="on time")  # the delay was used up
    assert answered["ok"]


async def test_a_standing_delay_lasts_until_cleared_and_stop_releases_waiting_answers(
    standin: SlackStandIn, client: AsyncWebClient
) -> None:
    standin.delay("*", seconds=HANG_GUARD * 10, times=None)
    posts = [asyncio.create_task(client.chat_postMessage(channel="#a", text=str(n))) for n in range(2)]

    async def both_arrived() -> None:
        while len(standin.calls) < 2:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(both_arrived(), HANG_GUARD)
    assert not any(post.done() for post in posts)
    standin.reset()  # releases the waiting answers: nothing outlives a test
    answers = await asyncio.wait_for(asyncio.gather(*posts), HANG_GUARD)
    assert all(answer["ok"] for answer in answers)
    assert (await asyncio.wait_for(client.auth_test(), HANG_GUARD))["ok"]  # reset cleared the standing delay


async def test_history_returns_metadata_only_when_asked(standin: SlackStandIn, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="#alerts", text="issue 7", metadata=MARKER)
    assert posted["message"]["metadata"] == MARKER  # echoed back by chat.postMessage
    plain = await client.conversations_history(channel=posted["channel"])
    assert "metadata" not in plain["messages"][0]
    full = await client.conversations_history(channel=posted["channel"], include_all_metadata=True)
    assert full["messages"][0]["metadata"] == MARKER

    reply = await client.chat_postMessage(channel="#alerts", thread_ts=posted["ts"], text="line", metadata=MARKER)
    replies = await client.conversations_replies(channel=posted["channel"], ts=posted["ts"], include_all_metadata=True)
    assert [m["ts"] for m in replies["messages"]] == [posted["ts"], reply["ts"]]
    assert replies["messages"][1]["metadata"] == MARKER


async def test_malformed_metadata_is_refused(standin: SlackStandIn, client: AsyncWebClient) -> None:
    await assert_slack_error(
        client.chat_postMessage(channel="#a", text="x", metadata={"event_payload": {"a": 1}}), "invalid_metadata_format"
    )


async def test_history_pages_newest_first_with_a_cursor_and_honours_oldest(
    standin: SlackStandIn, client: AsyncWebClient
) -> None:
    posted = [await client.chat_postMessage(channel="#a", text=str(n)) for n in range(5)]
    channel = posted[0]["channel"]
    seen: list[str] = []
    cursor = None
    while True:
        page = await client.conversations_history(channel=channel, limit=2, cursor=cursor)
        seen += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] == bool(cursor)
        if not cursor:
            break
    assert seen == ["4", "3", "2", "1", "0"]
    since = await client.conversations_history(channel=channel, oldest=posted[3]["ts"])
    assert [m["text"] for m in since["messages"]] == ["4", "3"]
