"""The local Slack Web API stand-in, driven by slack_sdk's AsyncWebClient over loopback: auth, messages, failures."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from slack_standin import RecordedCall, SlackStandIn
from tests.unit.standin_support import (  # noqa: F401 - standin and client are fixtures
    TOKEN,
    assert_slack_error,
    button,
    client,
    section,
    standin,
)


# --- lifecycle and auth ----------------------------------------------------------------------


async def test_urls_point_at_loopback_with_trailing_slash(standin: SlackStandIn) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", standin.base_url)
    assert standin.api_url == standin.base_url + "/api/"


async def test_auth_test_answers_as_the_local_workspace(standin: SlackStandIn, client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert response.data == {
        "ok": True,
        "url": "https://opsbot-local.slack.com/",
        "team": "opsbot local",
        "user": "opsbot",
        "team_id": "T0LOCAL",
        "user_id": "U0BOT",
        "bot_id": "B0BOT",
    }
    assert standin.calls[0].headers["Authorization"] == f"Bearer {TOKEN}"


async def test_missing_or_wrong_token_is_refused_on_every_method(standin: SlackStandIn) -> None:
    await assert_slack_error(AsyncWebClient(base_url=standin.api_url).auth_test(), "not_authed")
    wrong = AsyncWebClient(base_url=standin.api_url, token="xoxb-wrong")
    await assert_slack_error(wrong.chat_postMessage(channel="#alerts", text="hi"), "invalid_auth")
    assert standin.messages("#alerts") == []
    assert [c.error for c in standin.calls] == ["not_authed", "invalid_auth"]


async def test_without_a_configured_token_any_bot_or_user_token_is_accepted() -> None:
    async with SlackStandIn() as server:
        assert (await AsyncWebClient(base_url=server.api_url, token="xoxp-anything").auth_test())["ok"]
        bad = AsyncWebClient(base_url=server.api_url, token="not-a-slack-token")
        await assert_slack_error(bad.auth_test(), "invalid_auth")


async def test_form_body_with_token_field_is_accepted(standin: SlackStandIn) -> None:
    async with aiohttp.ClientSession() as session:
        form = {"token": TOKEN, "channel": "#ops", "text": "from a form"}
        async with session.post(standin.api_url + "chat.postMessage", data=form) as response:
            assert response.headers["Content-Type"] == "application/json; charset=utf-8"
            body = await response.json()
    assert body["ok"] and body["channel"].startswith("C")
    assert standin.messages("#ops")[0]["text"] == "from a form"


# --- messages ---------------------------------------------------------------------------------


async def test_post_update_and_thread_reply(standin: SlackStandIn, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="#alerts", text="disk full", blocks=[section("*disk full*")])
    channel_id, ts = posted["channel"], posted["ts"]
    assert re.fullmatch(r"C[0-9A-Z]+", channel_id)
    assert re.fullmatch(r"\d{10}\.\d{6}", ts)
    assert posted["message"]["text"] == "disk full"

    updated = await client.chat_update(channel=channel_id, ts=ts, text="disk full (acked)", blocks=[section("acked")])
    assert (updated["channel"], updated["ts"], updated["text"]) == (channel_id, ts, "disk full (acked)")
    reply = await client.chat_postMessage(channel=channel_id, thread_ts=ts, text="on it")
    assert reply["ts"] > ts
    # chat.update also finds the message by channel name
    await client.chat_update(channel="#alerts", ts=ts, text="resolved")

    [message] = standin.messages("#alerts")
    assert standin.messages(channel_id) == [message]
    assert message["ts"] == ts
    assert message["text"] == "resolved"
    assert message["blocks"] == [section("acked")]
    assert "edited" in message
    assert [r["text"] for r in message["replies"]] == ["on it"]
    assert message["replies"][0]["thread_ts"] == ts
    assert len(standin.calls_to("chat.update")) == 2


async def test_channel_ids_are_stable_per_name(standin: SlackStandIn, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel="#alerts", text="one")
    second = await client.chat_postMessage(channel="alerts", text="two")
    other = await client.chat_postMessage(channel="#ops", text="three")
    assert first["channel"] == second["channel"] != other["channel"]
    assert first["ts"] < second["ts"] < other["ts"]
    assert [m["text"] for m in standin.messages("#alerts")] == ["one", "two"]


async def test_unknown_thread_and_message_are_refused(client: AsyncWebClient) -> None:
    await assert_slack_error(client.chat_postMessage(channel="#a", thread_ts="1.000001", text="x"), "thread_not_found")
    await assert_slack_error(client.chat_update(channel="#a", ts="1.000001", text="x"), "message_not_found")


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_missing_channel_or_text_is_refused(client: AsyncWebClient) -> None:
    await assert_slack_error(client.chat_postMessage(channel="", text="x"), "channel_not_found")
    await assert_slack_error(client.chat_postMessage(channel="#a"), "no_text")


async def test_fifty_one_blocks_are_invalid(standin: SlackStandIn, client: AsyncWebClient) -> None:
    assert (await client.chat_postMessage(channel="#a", text="x", blocks=[section("x")] * 50))["ok"]
    too_many = client.chat_postMessage(channel="#a", text="x", blocks=[section("x")] * 51)
    error = await assert_slack_error(too_many, "invalid_blocks")
    assert "no more than 50 items" in error.response["response_metadata"]["messages"][0]
    assert len(standin.messages("#a")) == 1
    assert [c.ok for c in standin.calls_to("chat.postMessage", include_failed=True)] == [True, False]
    assert len(standin.calls_to("chat.postMessage")) == 1


async def test_section_text_over_3000_chars_is_invalid(client: AsyncWebClient) -> None:
    assert (await client.chat_postMessage(channel="#a", text="x", blocks=[section("x" * 3000)]))["ok"]
    too_long = client.chat_postMessage(channel="#a", text="x", blocks=[section("x" * 3001)])
    error = await assert_slack_error(too_long, "invalid_blocks")
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]


@pytest.mark.parametrize(
    "block",
    [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
        {"type": "header", "text": {"type": "mrkdwn", "text": "headers are plain text only"}},
        {"type": "actions", "elements": [button("Ack", action_id="a" * 256)]},
        {"type": "actions", "elements": [button("Ack", value="v" * 2001)]},
        {**section("x"), "accessory": button("Go", action_id="b" * 256)},
        {"type": "section"},
        {"type": "divider", "block_id": "same"},
    ],
    ids=["header-151", "header-mrkdwn", "action_id-256", "value-2001", "accessory-action_id-256", "empty-section",
         "duplicate-block_id"],
)
async def test_block_kit_limits_are_enforced(client: AsyncWebClient, block: dict) -> None:
    blocks = [{"type": "divider", "block_id": "same"}, block]
    await assert_slack_error(client.chat_postMessage(channel="#a", text="x", blocks=blocks), "invalid_blocks")


async def test_update_is_validated_like_post(standin: SlackStandIn, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="#a", text="x")
    too_long = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="y", blocks=[section("y" * 3001)])
    await assert_slack_error(too_long, "invalid_blocks")
    assert standin.messages("#a")[0]["text"] == "x"


async def test_text_over_40000_chars_is_too_long(client: AsyncWebClient) -> None:
    await assert_slack_error(client.chat_postMessage(channel="#a", text="x" * 40001), "msg_too_long")


async def test_ephemeral_dm_and_users(standin: SlackStandIn, client: AsyncWebClient) -> None:
    ephemeral = await client.chat_postEphemeral(channel="#a", user="U123", text="only you")
    assert ephemeral["message_ts"]
    await assert_slack_error(client.chat_postEphemeral(channel="#a", user="", text="x"), "user_not_found")
    dm = await client.conversations_open(users="U123")
    assert dm["channel"]["id"].startswith("D")
    assert (await client.conversations_open(users=["U123"]))["channel"]["id"] == dm["channel"]["id"]
    user = (await client.users_info(user="U123"))["user"]
    assert user["id"] == "U123" and user["tz"] == "UTC"
    assert set(user["profile"]) >= {"display_name", "real_name"}


# --- failures ---------------------------------------------------------------------------------


async def test_rate_limit_sends_429_with_retry_after(standin: SlackStandIn, client: AsyncWebClient) -> None:
    standin.fail_next("chat.postMessage", status=429, retry_after=7)
    error = await assert_slack_error(client.chat_postMessage(channel="#a", text="x"), "ratelimited", status=429)
    assert error.response.headers["Retry-After"] == "7"
    assert (await client.chat_postMessage(channel="#a", text="x"))["ok"]
    [failed, succeeded] = standin.calls_to("chat.postMessage", include_failed=True)
    assert (failed.status, failed.response) == (429, {"ok": False, "error": "ratelimited"})
    assert standin.calls_to("chat.postMessage") == [succeeded]
    assert len(standin.messages("#a")) == 1


async def test_slack_sdk_retry_handler_honours_the_429(standin: SlackStandIn) -> None:
    client = AsyncWebClient(
        base_url=standin.api_url, token=TOKEN, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)]
    )
    standin.fail_next("chat.postMessage", retry_after=0)
    assert (await client.chat_postMessage(channel="#a", text="x"))["ok"]
    assert [c.status for c in standin.calls] == [429, 200]


async def test_server_errors_until_cleared(standin: SlackStandIn, client: AsyncWebClient) -> None:
    standin.fail_all("chat.postMessage", status=503)
    for _ in range(2):
        await assert_slack_error(client.chat_postMessage(channel="#a", text="x"), "internal_error", status=503)
    assert (await client.auth_test())["ok"]
    standin.clear_failures()
    assert (await client.chat_postMessage(channel="#a", text="x"))["ok"]


async def test_fail_next_times_and_any_method(standin: SlackStandIn, client: AsyncWebClient) -> None:
    standin.fail_next("*", status=500, times=2)
    await assert_slack_error(client.auth_test(), "internal_error", status=500)
    await assert_slack_error(client.users_info(user="U1"), "internal_error", status=500)
    assert (await client.auth_test())["ok"]


async def test_ok_false_injection(standin: SlackStandIn, client: AsyncWebClient) -> None:
    standin.fail_next("chat.postMessage", status=200, error="channel_not_found")
    await assert_slack_error(client.chat_postMessage(channel="#gone", text="x"), "channel_not_found")
    assert standin.calls[-1].status == 200 and not standin.calls[-1].ok


async def test_wait_for_polls_and_explains_timeouts(standin: SlackStandIn, client: AsyncWebClient) -> None:
    async with standin.hold("chat.postMessage") as gate:
        task = asyncio.create_task(client.chat_postMessage(channel="#a", text="background"))
        await gate.wait_for_waiting(1)
        waiting = asyncio.create_task(standin.wait_for("chat.postMessage", timeout=5))
        await asyncio.sleep(0)  # one turn of the loop: wait_for looks, finds nothing yet, and polls on
        assert not waiting.done()
    [call] = await waiting
    await task
    assert isinstance(call, RecordedCall) and call.args["text"] == "background"

    await assert_slack_error(client.chat_update(channel="#a", ts="1.0", text="x"), "message_not_found")
    with pytest.raises(AssertionError) as caught:
        await asyncio.wait_for(standin.wait_for("chat.update", timeout=0.1), timeout=10)  # gives up, not hangs
    assert "chat.update -> 200 message_not_found" in str(caught.value)
    assert "chat.postMessage -> 200 ok" in str(caught.value)


async def test_reset_forgets_everything(standin: SlackStandIn, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="#a", text="x")
    standin.fail_all("auth.test", status=500)
    standin.reset()
    assert standin.calls == [] and standin.messages("#a") == []
    assert (await client.auth_test())["ok"]
