"""The stand-in refuses what Slack refuses: Block Kit rules, unknown methods, membership, triggers, users, rate limits."""

from __future__ import annotations

import time

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from slack_standin import SlackStandIn
from slack_standin.triggers import mint_trigger_id
from tests.unit.standin_support import (  # noqa: F401 - standin and client are fixtures
    assert_slack_error,
    button,
    client,
    section,
    standin,
)


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def select(options: list[dict]) -> dict:
    return {"type": "static_select", "action_id": "pick", "placeholder": plain("Pick"), "options": options}


def option(value: str, text: str = "One") -> dict:
    return {"text": plain(text), "value": value}


REFUSED_BLOCKS = {
    "two buttons, one action_id": (
        [{"type": "actions", "elements": [button("A", action_id="same"), button("B", action_id="same")]}],
        "action_id already exists [json-pointer:/blocks/0/elements/1/action_id]",
    ),
    "unknown block type": ([{"type": "carousel"}], "unsupported type: carousel [json-pointer:/blocks/0/type]"),
    "empty text object": ([section("")], "must be more than 0 characters [json-pointer:/blocks/0/text/text]"),
    "image without alt_text": (
        [{"type": "image", "image_url": "https://example.com/a.png"}], "missing required field: alt_text [json-pointer:/blocks/0]"
    ),
    "button in a context block": (
        [{"type": "context", "elements": [button("No", action_id="x")]}], "[json-pointer:/blocks/0/elements/0/type]"
    ),
    "static_select without options": (
        [{"type": "section", "text": plain("x"), "accessory": select([])}], "[json-pointer:/blocks/0/accessory/options]"
    ),
    "option value over 150": (
        [{"type": "actions", "elements": [select([option("v" * 151)])]}],
        "must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]",
    ),
    "input without a label": (
        [{"type": "input", "element": {"type": "plain_text_input", "action_id": "t"}}],
        "missing required field: label [json-pointer:/blocks/0]",
    ),
    "button text over 75": (
        [{"type": "actions", "elements": [button("b" * 76, action_id="x")]}], "[json-pointer:/blocks/0/elements/0/text/text]"
    ),
    "same block_id twice": (
        [{**section("a"), "block_id": "b"}, {**section("b"), "block_id": "b"}], "block_id already exists"
    ),
}


@pytest.mark.parametrize("case", list(REFUSED_BLOCKS))
async def test_blocks_slack_refuses_are_refused_with_a_json_pointer(client: AsyncWebClient, case: str) -> None:
    blocks, detail = REFUSED_BLOCKS[case]
    error = await assert_slack_error(client.chat_postMessage(channel="#alerts", text="x", blocks=blocks), "invalid_blocks")
    messages = error.response["response_metadata"]["messages"]
    assert any(detail in m and m.startswith("[ERROR] ") for m in messages), messages


async def test_valid_blocks_of_every_kind_the_bot_uses_pass(client: AsyncWebClient) -> None:
    blocks = [
        {"type": "header", "text": plain("Header")},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*a*"}], "accessory": select([option("1")])},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "ctx"}, {"type": "image", "image_url": "https://e.x/i.png", "alt_text": "i"}]},
        {"type": "divider"},
        {"type": "actions", "elements": [button("A", action_id="a", value="1", style="primary"), button("B", action_id="b")]},
        {"type": "image", "image_url": "https://example.com/a.png", "alt_text": "chart"},
    ]
    assert (await client.chat_postMessage(channel="#alerts", text="ok", blocks=blocks))["ok"]


async def test_a_modal_with_duplicate_action_ids_in_a_block_is_invalid_arguments(client: AsyncWebClient) -> None:
    view = {"type": "modal", "title": plain("T"), "close": plain("Close"),
            "blocks": [{"type": "actions", "elements": [button("←", action_id="page"), button("→", action_id="page")]}]}
    error = await assert_slack_error(client.views_open(trigger_id=mint_trigger_id(), view=view), "invalid_arguments")
    assert "[json-pointer:/view/blocks/0/elements/1/action_id]" in " ".join(error.response["response_metadata"]["messages"])


async def test_unknown_methods_answer_unknown_method(client: AsyncWebClient) -> None:
    error = await assert_slack_error(client.api_call("chat.sendTelegram", json={"channel": "#alerts"}), "unknown_method")
    assert error.response["req_method"] == "chat.sendTelegram"


async def test_directory_methods_in_slacks_shapes(standin: SlackStandIn, client: AsyncWebClient) -> None:
    standin.add_usergroup("S0DBA", "dba-team", ["U1", "U7"])
    assert (await client.usergroups_users_list(usergroup="S0DBA"))["users"] == ["U1", "U7"]
    await assert_slack_error(client.usergroups_users_list(usergroup="S404"), "no_such_subteam")
    standin.add_channel("#lobby", member=False)
    joined = await client.conversations_join(channel="#lobby")
    assert joined["channel"]["is_member"] and joined["channel"]["name"] == "lobby"
    assert (await client.chat_postMessage(channel="#lobby", text="hello"))["ok"]
    names = {c["name"] for c in (await client.conversations_list())["channels"]}
    assert {"general", "alerts", "lobby"} <= names
    found = await client.users_lookupByEmail(email="user-u7@opsbot.local")
    assert found["user"]["id"] == "U7"
    await assert_slack_error(client.users_lookupByEmail(email="nobody@example.com"), "users_not_found")


async def test_membership_decides_where_the_bot_may_post(standin: SlackStandIn, client: AsyncWebClient) -> None:
    standin.add_channel("#outside", member=False)
    standin.add_channel("#secret", member=False, private=True)
    standin.add_channel("#old", archived=True)
    await assert_slack_error(client.chat_postMessage(channel="#outside", text="x"), "not_in_channel")
    await assert_slack_error(client.chat_postMessage(channel="#secret", text="x"), "channel_not_found")
    await assert_slack_error(client.chat_postMessage(channel="#nowhere", text="x"), "channel_not_found")
    await assert_slack_error(client.chat_postMessage(channel="#old", text="x"), "is_archived")
    await assert_slack_error(client.conversations_history(channel="#outside"), "not_in_channel")
    await assert_slack_error(client.conversations_join(channel="#secret"), "channel_not_found")
    standin.invite_bot("#outside")
    assert (await client.chat_postMessage(channel="#outside", text="x"))["ok"]
    # A known person's id is the app's DM with them; an unknown one is nowhere.
    assert (await client.chat_postMessage(channel="U7", text="hi"))["channel"].startswith("D")
    await assert_slack_error(client.chat_postMessage(channel="U404", text="hi"), "channel_not_found")
    await assert_slack_error(client.conversations_open(users="U404"), "user_not_found")


async def test_users_info_knows_only_the_workspaces_people(client: AsyncWebClient) -> None:
    assert (await client.users_info(user="U7"))["user"]["real_name"] == "User U7"
    await assert_slack_error(client.users_info(user="U404"), "user_not_found")


async def test_trigger_ids_work_once_within_three_seconds(client: AsyncWebClient) -> None:
    view = {"type": "modal", "title": plain("T"), "blocks": [section("x")]}
    trigger = mint_trigger_id()
    assert (await client.views_open(trigger_id=trigger, view=view))["ok"]
    await assert_slack_error(client.views_open(trigger_id=trigger, view=view), "exchanged_trigger_id")
    await assert_slack_error(client.views_open(trigger_id=mint_trigger_id(time.time() - 3.5), view=view), "expired_trigger_id")
    await assert_slack_error(client.views_open(trigger_id="123.456.made-up", view=view), "invalid_trigger_id")
    await assert_slack_error(client.views_push(trigger_id="t", view=view), "invalid_trigger_id")


async def test_rate_limits_when_turned_on(standin: SlackStandIn, client: AsyncWebClient) -> None:
    for _ in range(8):  # off by default: tests post as fast as they like
        await client.chat_postMessage(channel="#alerts", text="x")
    standin.set_rate_limits(True)
    answers = [await standin_post(standin, "#alerts") for _ in range(6)]
    assert [status for status, _ in answers][:4] == [200] * 4  # a short burst ...
    status, headers = answers[4]
    assert status == 429 and int(headers["Retry-After"]) >= 1  # ... then about one a second per channel
    assert (await standin_post(standin, "#ops"))[0] == 200  # another channel has its own pace
    standin.add_usergroup("S0", "zero", [])
    for _ in range(20):  # usergroups.users.list is Tier 2: 20 a minute
        await client.api_call("usergroups.users.list", params={"usergroup": "S0"})
    limited = standin.calls_to("usergroups.users.list", include_failed=True)[-1]
    assert limited.status == 200
    status, _ = await standin_post(standin, "#ops", method="usergroups.users.list")
    assert status == 429


async def standin_post(standin: SlackStandIn, channel: str, method: str = "chat.postMessage") -> tuple[int, dict]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.post(
            standin.api_url + method, json={"channel": channel, "text": "x", "usergroup": "S0"},
            headers={"Authorization": "Bearer xoxb-local"},
        ) as response:
            return response.status, dict(response.headers)
