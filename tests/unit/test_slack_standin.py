"""The local Slack Web API stand-in, driven by slack_sdk's AsyncWebClient over loopback."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from slack_standin import RecordedCall, SlackStandIn
from slack_standin.signing import (
    block_actions_body,
    event_body,
    sign_request,
    slash_command_body,
    view_submission_body,
)

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"  # shared/ sits beside the repo
TOKEN = "xoxb-local"
SECRET = "test-signing-secret"


@pytest.fixture
async def standin():
    server = SlackStandIn(bot_token=TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def client(standin: SlackStandIn) -> AsyncWebClient:
    return AsyncWebClient(base_url=standin.api_url, token=TOKEN)


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(label: str, **fields: str) -> dict:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, **fields}


async def assert_slack_error(call, error: str, status: int = 200) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    assert caught.value.response.status_code == status
    assert caught.value.response["error"] == error
    return caught.value


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
    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="#a", text="background")

    task = asyncio.create_task(later())
    [call] = await standin.wait_for("chat.postMessage", timeout=2)
    await task
    assert isinstance(call, RecordedCall) and call.args["text"] == "background"

    await assert_slack_error(client.chat_update(channel="#a", ts="1.0", text="x"), "message_not_found")
    started = time.monotonic()
    with pytest.raises(AssertionError) as caught:
        await standin.wait_for("chat.update", timeout=0.1)
    assert time.monotonic() - started < 1
    assert "chat.update -> 200 message_not_found" in str(caught.value)
    assert "chat.postMessage -> 200 ok" in str(caught.value)


async def test_reset_forgets_everything(standin: SlackStandIn, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="#a", text="x")
    standin.fail_all("auth.test", status=500)
    standin.reset()
    assert standin.calls == [] and standin.messages("#a") == []
    assert (await client.auth_test())["ok"]


# --- files, views, response_url -----------------------------------------------------------------


async def test_files_upload_v2_round_trip(standin: SlackStandIn, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="#reports", text="weekly report")
    response = await client.files_upload_v2(
        channel=posted["channel"],
        content=b"incident,minutes\nIN-1,42\n",
        filename="report.csv",
        title="Weekly report",
        initial_comment="Here it is",
        thread_ts=posted["ts"],
    )
    file_id = response["file"]["id"]
    assert response["file"]["title"] == "Weekly report" and response["file"]["name"] == "report.csv"
    stored = standin.files[file_id]
    assert stored["content"] == b"incident,minutes\nIN-1,42\n"
    assert (stored["filename"], stored["title"]) == ("report.csv", "Weekly report")
    assert (stored["channel_id"], stored["initial_comment"]) == (posted["channel"], "Here it is")
    [reply] = standin.messages("#reports")[0]["replies"]
    assert reply["files"][0]["id"] == file_id and reply["text"] == "Here it is"
    assert [c.method for c in standin.calls[1:]] == [
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]
    async with aiohttp.ClientSession() as session:
        async with session.get(response["file"]["url_private"]) as download:
            assert await download.read() == stored["content"]


async def test_complete_upload_of_unknown_file_is_refused(client: AsyncWebClient) -> None:
    await assert_slack_error(client.files_completeUploadExternal(files=[{"id": "F404"}]), "file_not_found")


def modal(title: str = "Ack alert", blocks: list | None = None) -> dict:
    title_text = {"type": "plain_text", "text": title}
    return {"type": "modal", "callback_id": "alert.note", "title": title_text, "blocks": blocks or [section("x")]}


async def test_views_open_update_and_publish(standin: SlackStandIn, client: AsyncWebClient) -> None:
    opened = await client.views_open(trigger_id="123.456.abc", view=modal())
    view = opened["view"]
    assert view["id"].startswith("V") and view["hash"] and view["callback_id"] == "alert.note"
    assert standin.calls_to("views.open")[0].args["view"]["title"]["text"] == "Ack alert"

    updated = await client.views_update(view_id=view["id"], hash=view["hash"], view=modal("Done"))
    assert updated["view"]["id"] == view["id"] and updated["view"]["title"]["text"] == "Done"
    await assert_slack_error(client.views_update(view_id=view["id"], hash=view["hash"], view=modal()), "hash_conflict")
    await assert_slack_error(client.views_update(view_id="V404", view=modal()), "not_found")

    home = {"type": "home", "blocks": [section("Welcome")]}
    first = await client.views_publish(user_id="U1", view=home)
    again = await client.views_publish(user_id="U1", view=home)
    assert first["view"]["id"] == again["view"]["id"]


@pytest.mark.parametrize(
    ("kwargs", "detail"),
    [
        ({"trigger_id": "", "view": modal()}, "trigger_id"),
        ({"trigger_id": "t", "view": modal("x" * 25)}, "/view/title/text"),
        ({"trigger_id": "t", "view": modal(blocks=[section("x")] * 101)}, "/view/blocks"),
    ],
)
async def test_views_open_refuses_invalid_arguments(client: AsyncWebClient, kwargs: dict, detail: str) -> None:
    error = await assert_slack_error(client.views_open(**kwargs), "invalid_arguments")
    assert detail in " ".join(error.response["response_metadata"]["messages"])


async def test_response_url_posts_are_recorded(standin: SlackStandIn) -> None:
    url = standin.response_url("ack-1")
    response = await AsyncWebhookClient(url).send(text="Acknowledged", replace_original=True)
    assert (response.status_code, response.body) == (200, "ok")
    [call] = standin.calls_to("response_url")
    assert call.args == {"text": "Acknowledged", "replace_original": True}
    assert call.path == "/response_url/ack-1"
    bad = await AsyncWebhookClient(url).send(blocks=[section("x" * 3001)])
    assert bad.status_code == 400


# --- read-back --------------------------------------------------------------------------------


async def test_page_renders_messages_and_escapes_html(standin: SlackStandIn, client: AsyncWebClient) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Alert <b>bold</b>"}},
        section("<script>alert('x')</script>"),
        {"type": "actions", "elements": [button("Acknowledge", action_id="alert.ack")]},
    ]
    posted = await client.chat_postMessage(channel="#alerts", text="fallback", blocks=blocks)
    await client.chat_postMessage(channel=posted["channel"], thread_ts=posted["ts"], text="threaded & <i>replied")
    async with aiohttp.ClientSession() as session:
        async with session.get(standin.base_url + "/") as response:
            assert response.status == 200 and response.content_type == "text/html"
            page = await response.text()
    assert "<script>" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "Alert &lt;b&gt;bold&lt;/b&gt;" in page
    assert "[Acknowledge]" in page and "#alerts" in page
    assert 'class="msg reply"' in page and "threaded &amp; &lt;i&gt;replied" in page
    assert '<meta http-equiv="refresh" content="2">' in page


async def test_json_read_back_needs_no_token(standin: SlackStandIn, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="#alerts", text="hello")
    await client.auth_test()
    async with aiohttp.ClientSession() as session:
        async with session.get(standin.api_url + "_messages") as response:
            channels = (await response.json())["channels"]
        async with session.get(standin.api_url + "_calls", params={"method": "chat.postMessage"}) as response:
            calls = (await response.json())["calls"]
    assert channels[0]["name"] == "#alerts" and channels[0]["messages"][0]["text"] == "hello"
    assert [c["method"] for c in calls] == ["chat.postMessage"]
    assert calls[0]["headers"]["authorization"] == "(redacted)"


def test_runs_as_a_module() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "slack_standin", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert re.search(r"http://127\.0\.0\.1:\d+/api/", line), line
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- signing and payloads as Slack sends them ----------------------------------------------------


def test_signature_matches_slacks_known_answer_vector() -> None:
    vector = json.loads((FIXTURES / "slack_signature_test_vector.json").read_text())
    timestamp = int(vector["headers"]["X-Slack-Request-Timestamp"])
    headers = sign_request(vector["signing_secret"], vector["body"], timestamp=timestamp)
    assert headers == {
        "X-Slack-Request-Timestamp": vector["headers"]["X-Slack-Request-Timestamp"],
        "X-Slack-Signature": vector["expected_signature"],
    }
    assert sign_request(vector["signing_secret"], vector["body"].encode(), 1531420618) == headers


def test_payload_builders_match_the_fixture_shapes() -> None:
    def payload(body: str) -> dict:
        return json.loads(parse_qs(body)["payload"][0])

    def key_shape(value: object) -> object:
        if isinstance(value, dict):
            return {k: key_shape(v) for k, v in value.items() if k != "blocks"}
        return None

    fixture = json.loads((FIXTURES / "slack_block_actions_button.json").read_text())
    click = payload(block_actions_body("alert.ack", "42"))
    fixture["team"] = {k: v for k, v in fixture["team"].items() if not k.startswith("enterprise")}
    assert key_shape(click) == key_shape(fixture)
    assert click["actions"][0]["action_id"] == "alert.ack" and click["actions"][0]["value"] == "42"

    fixture = json.loads((FIXTURES / "slack_view_submission.json").read_text())
    fixture["team"] = {k: v for k, v in fixture["team"].items() if not k.startswith("enterprise")}
    submitted = payload(view_submission_body("alert.note", {"note": {"text": "rebooted"}}))
    assert key_shape({**submitted, "view": {**submitted["view"], "state": None}}) == key_shape(
        {**fixture, "view": {**fixture["view"], "state": None}}
    )
    assert submitted["view"]["state"]["values"] == {"note": {"text": {"type": "plain_text_input", "value": "rebooted"}}}

    fixture_fields = set(parse_qs((FIXTURES / "slack_slash_command.form.txt").read_text().strip()))
    command = parse_qs(slash_command_body("/opsbot", "status"))
    assert fixture_fields - {"enterprise_id", "enterprise_name"} <= set(command)
    assert command["command"] == ["/opsbot"] and command["text"] == ["status"]

    fixture = json.loads((FIXTURES / "slack_event_app_mention.json").read_text())
    event = json.loads(event_body(fixture["event"]))
    assert set(event) == set(fixture) - {"enterprise_id"} and event["event"] == fixture["event"]


async def test_signed_payloads_drive_a_bolt_app(standin: SlackStandIn, client: AsyncWebClient) -> None:
    app = AsyncApp(client=client, signing_secret=SECRET)
    seen: list[str] = []

    @app.action("alert.ack")
    async def on_ack(ack, body, respond) -> None:  # noqa: ANN001 (Bolt injects by name)
        await ack()
        seen.append(body["actions"][0]["value"])
        await respond(text="acknowledged", replace_original=False)

    @app.view("alert.note")
    async def on_note(ack, view) -> None:  # noqa: ANN001
        await ack()
        seen.append(view["state"]["values"]["note"]["text"]["value"])

    @app.command("/opsbot")
    async def on_command(ack, command) -> None:  # noqa: ANN001
        await ack()
        seen.append(command["text"])

    @app.event("app_mention")
    async def on_mention(event, say) -> None:  # noqa: ANN001
        await say(text="hello " + event["user"])

    form = "application/x-www-form-urlencoded"
    mention = {"type": "app_mention", "user": "U7", "text": "<@U0BOT> hi", "channel": "C0LOCAL"}
    bodies = [
        (block_actions_body("alert.ack", "42", response_url=standin.response_url("click")), form),
        (view_submission_body("alert.note", {"note": {"text": "rebooted"}}), form),
        (slash_command_body("/opsbot", "status"), form),
        (event_body(mention), "application/json"),
    ]
    for body, content_type in bodies:
        headers = {**sign_request(SECRET, body), "Content-Type": content_type}
        assert SignatureVerifier(SECRET).is_valid_request(body, headers)
        response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        assert response.status == 200, response.body

    await standin.wait_for("response_url")
    await standin.wait_for("chat.postMessage")
    assert seen == ["42", "rebooted", "status"]
    assert standin.messages("C0LOCAL")[0]["text"] == "hello U7"
    assert standin.calls_to("response_url")[0].args["text"] == "acknowledged"
