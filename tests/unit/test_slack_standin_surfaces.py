"""The stand-in's other surfaces: files, views, response_url, the read-back page, and request signing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from slack_standin import SlackStandIn
from slack_standin.signing import (
    block_actions_body,
    event_body,
    sign_request,
    slash_command_body,
    view_submission_body,
)

from slack_standin.triggers import mint_trigger_id
from tests.unit.standin_support import (  # noqa: F401 - standin and client are fixtures
    FIXTURES,
    SECRET,
    assert_slack_error,
    button,
    client,
    section,
    standin,
)


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
    opened = await client.views_open(trigger_id=mint_trigger_id(), view=modal())
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
    # The page is static HTML drawn by its scripts from the state it inlines; message text stays data.
    assert "<script>alert" not in page and "Alert <b>bold" not in page and "&lt;i&gt;replied" not in page
    assert "\\u003cscript>alert('x')\\u003c/script>" in page and "Alert \\u003cb>bold\\u003c/b>" in page
    assert '"action_id": "alert.ack"' in page and "threaded & \\u003ci>replied" in page
    assert 'http-equiv="refresh"' not in page  # live updates come over /ui/stream, no reloads
    async with aiohttp.ClientSession() as session:
        async with session.get(standin.base_url + "/ui/state", params={"user": "U1"}) as response:
            state = await response.json()
    [alerts] = [c for c in state["conversations"] if c["name"] == "alerts"]
    assert alerts["messages"][0]["replies"][0]["text"] == "threaded & <i>replied"


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
