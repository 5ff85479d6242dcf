"""The stand-in's page side: people's actions reach the app signed as Slack signs them, and its answers land."""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from slack_standin import SlackStandIn, demo_service
from tests.unit.standin_support import SECRET, TOKEN, section

USER = "U0RILEY"


class FakeApp:
    """The app's side: records what arrives at /slack/events and /webhooks/*, answers as told."""

    def __init__(self) -> None:
        self.deliveries: list[dict[str, Any]] = []
        self.webhooks: list[tuple[str, dict[str, Any]]] = []
        self.answer: dict[str, Any] | None = None
        self.on_delivery: Any = None
        self.verifier = SignatureVerifier(SECRET)

    async def events(self, request: web.Request) -> web.Response:
        raw = await request.read()
        headers = request.headers
        assert self.verifier.is_valid(raw, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
        if request.content_type == "application/json":
            delivery = json.loads(raw)
        else:
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            delivery = json.loads(form["payload"]) if "payload" in form else form
        self.deliveries.append(delivery)
        if self.on_delivery is not None:
            await self.on_delivery(delivery)
        return web.json_response(self.answer) if self.answer is not None else web.Response()

    async def webhook(self, request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer hook-token"
        self.webhooks.append((request.match_info["source"], await request.json()))
        return web.json_response({"ok": True}, status=202)


@pytest.fixture
async def wired() -> AsyncIterator[tuple[SlackStandIn, FakeApp, aiohttp.ClientSession]]:
    fake = FakeApp()
    app = web.Application()
    app.router.add_post("/slack/events", fake.events)
    app.router.add_post("/webhooks/{source}", fake.webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    standin = SlackStandIn(bot_token=TOKEN)
    standin.add_channel("#alerts")
    standin.add_user(USER, "riley", "Riley Responder", title="responder")
    await standin.start()
    standin.connect_app(f"{url}/slack/events", SECRET, webhooks_url=f"{url}/webhooks", webhook_token="hook-token", demo=True)
    async with aiohttp.ClientSession() as session:
        yield standin, fake, session
    await standin.stop()
    await runner.cleanup()


async def ui(session: aiohttp.ClientSession, standin: SlackStandIn, path: str, **body: Any) -> dict[str, Any]:
    async with session.post(f"{standin.base_url}/ui/{path}", json={"user": USER, **body}) as response:
        return await response.json()


async def test_a_dm_and_a_mention_become_signed_events(wired) -> None:  # type: ignore[no-untyped-def]
    standin, fake, session = wired
    dm = (await ui(session, standin, "dm"))["channel"]
    assert (await ui(session, standin, "say", channel=dm, text="how do I reset a password?"))["ok"]
    channel = standin.workspace.resolve_channel("#alerts")
    await ui(session, standin, "say", channel=channel, text="<@U0BOT> disk full on db-1?")
    kinds = [(d["type"], d["event"]["type"], d["event"].get("channel_type")) for d in fake.deliveries]
    assert kinds == [
        ("event_callback", "message", "im"),
        ("event_callback", "message", "channel"),
        ("event_callback", "app_mention", None),
    ]
    assert standin.messages(dm)[0]["text"] == "how do I reset a password?"


async def test_a_command_and_its_response_url_land_as_slack_shows_them(wired) -> None:  # type: ignore[no-untyped-def]
    standin, fake, session = wired
    channel = standin.workspace.resolve_channel("#alerts")

    async def reply(delivery: dict[str, Any]) -> None:
        asyncio.get_running_loop().create_task(AsyncWebhookClient(delivery["response_url"]).send(
            text="only you", blocks=[section("*only you*")], response_type="ephemeral"))

    fake.on_delivery = reply
    await ui(session, standin, "command", channel=channel, command="/ask", text="vpn")
    [command] = fake.deliveries
    assert (command["command"], command["text"], command["user_id"]) == ("/ask", "vpn", USER)
    await standin.wait_for("response_url")
    [ephemeral] = standin.workspace.ephemerals[channel]
    assert (ephemeral["user"], ephemeral["text"]) == (USER, "only you")

    response_url = command["response_url"]
    name = response_url.rsplit("/", 1)[-1]
    standin.people.targets[name].message_ts = ephemeral["ts"]
    standin.people.targets[name].ephemeral = True
    await AsyncWebhookClient(response_url).send(text="replaced", replace_original=True)
    assert [e["text"] for e in standin.workspace.ephemerals[channel]] == ["replaced"]


async def test_a_click_opens_a_modal_for_that_person_and_submit_applies_errors(wired) -> None:  # type: ignore[no-untyped-def]
    standin, fake, session = wired
    client = AsyncWebClient(base_url=standin.api_url, token=TOKEN)
    posted = await client.chat_postMessage(channel="#alerts", text="alert", blocks=[
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Resolve"}, "action_id": "resolve"}]}
    ])
    modal = {"type": "modal", "callback_id": "resolve", "title": {"type": "plain_text", "text": "Resolve"},
             "submit": {"type": "plain_text", "text": "Resolve"}, "blocks": [
                 {"type": "input", "block_id": "what", "label": {"type": "plain_text", "text": "What fixed it?"},
                  "element": {"type": "plain_text_input", "action_id": "what"}}]}

    async def open_modal(delivery: dict[str, Any]) -> None:
        if delivery["type"] == "block_actions":
            await client.views_open(trigger_id=delivery["trigger_id"], view=modal)

    fake.on_delivery = open_modal
    action = {"type": "button", "action_id": "resolve", "block_id": "b0", "text": {"type": "plain_text", "text": "Resolve"}}
    await ui(session, standin, "act", surface="message", channel=posted["channel"], ts=posted["ts"], action=action)
    [click] = fake.deliveries
    assert click["container"] == {"type": "message", "message_ts": posted["ts"], "channel_id": posted["channel"],
                                  "is_ephemeral": False}
    [view_id] = standin.workspace.modals[USER]

    fake.answer = {"response_action": "errors", "errors": {"what": "Say what fixed it."}}
    state = {"what": {"what": {"type": "plain_text_input", "value": " "}}}
    assert (await ui(session, standin, "submit", view_id=view_id, state=state))["errors"] == {"what": "Say what fixed it."}
    assert standin.workspace.modals[USER] == [view_id]
    assert fake.deliveries[-1]["view"]["state"]["values"] == state
    fake.answer = None
    await ui(session, standin, "submit", view_id=view_id, state=state)
    assert standin.workspace.modals[USER] == []


async def test_the_page_inlines_its_state_without_letting_text_become_markup(wired) -> None:  # type: ignore[no-untyped-def]
    standin, fake, session = wired
    client = AsyncWebClient(base_url=standin.api_url, token=TOKEN)
    await client.chat_postMessage(channel="#alerts", text="</script><script>alert(1)</script>")
    async with session.get(standin.base_url + "/") as response:
        page = await response.text()
    assert "<script>alert(1)" not in page and "\\u003c/script>\\u003cscript>alert(1)" in page
    async with session.get(standin.base_url + "/static/app.js") as response:
        assert response.status == 200 and response.content_type == "text/javascript"
    async with session.get(standin.base_url + "/static/../server.py") as response:
        assert response.status == 404


async def test_the_demo_service_breaks_and_its_restart_resolves_the_alert(wired, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    standin, fake, session = wired
    monkeypatch.setattr(demo_service, "RESOLVE_DELAY_SECONDS", 0.01)
    assert (await ui(session, standin, "demo", action="break"))["healthy"] is False
    async with session.get(standin.base_url + "/demo/health") as response:
        assert response.status == 500
    async with session.post(standin.base_url + "/demo/restart") as response:
        assert (await response.json())["healthy"] is True
    async with session.get(standin.base_url + "/demo/health") as response:
        assert response.status == 200
    for _ in range(250):
        if len(fake.webhooks) == 2:
            break
        await asyncio.sleep(0.02)
    assert [(source, body["status"], body["alerts"][0]["labels"]["alertname"]) for source, body in fake.webhooks] == [
        ("alertmanager", "firing", "DemoServiceErrors"),
        ("alertmanager", "resolved", "DemoServiceErrors"),
    ]


async def test_changes_are_streamed_to_the_page(wired) -> None:  # type: ignore[no-untyped-def]
    standin, fake, session = wired
    async with session.get(standin.base_url + "/ui/stream") as stream:
        first = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 5)
        await AsyncWebClient(base_url=standin.api_url, token=TOKEN).chat_postMessage(channel="#alerts", text="x")
        second = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 5)
    assert first.startswith(b"event: changed") and second.startswith(b"event: changed")
    assert int(second.split(b"data: ")[1]) > int(first.split(b"data: ")[1])
