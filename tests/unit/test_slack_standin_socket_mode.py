"""The stand-in's Socket Mode, as an app without an SDK sees it: the URL, hello, envelopes, acks, retries."""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator

import aiohttp
import pytest

from slack_standin import SlackStandIn
from slack_standin.socket_mode import Delivery

APP_TOKEN = "xapp-1-A0LOCAL-1-unit"


@pytest.fixture
async def standin() -> AsyncIterator[SlackStandIn]:
    fake = SlackStandIn(bot_token="xoxb-unit", app_token=APP_TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


async def open_url(session: aiohttp.ClientSession, standin: SlackStandIn, token: str = APP_TOKEN) -> dict[str, Any]:
    async with session.post(standin.api_url + "apps.connections.open", headers={"Authorization": f"Bearer {token}"}) as r:
        return await r.json()


async def next_message(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=10)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


async def test_tokens_urls_and_hello(standin: SlackStandIn) -> None:
    async with aiohttp.ClientSession() as session:
        assert (await open_url(session, standin, "xoxb-unit"))["error"] == "not_allowed_token_type"
        assert (await open_url(session, standin, "xapp-1-other"))["error"] == "invalid_auth"
        async with session.post(standin.api_url + "chat.postMessage", headers={"Authorization": f"Bearer {APP_TOKEN}"},
                                data={"channel": "#local", "text": "hi"}) as response:
            assert (await response.json())["error"] == "not_allowed_token_type"  # an app token opens sockets only
        url = (await open_url(session, standin))["url"]
        async with session.ws_connect(url) as ws:
            hello = await next_message(ws)
            assert hello["type"] == "hello" and hello["num_connections"] == 1
            assert hello["connection_info"] == {"app_id": "A0LOCAL"}
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(url)  # each URL is good for one connection
            assert refused.value.status == 401


async def test_an_unacked_event_is_sent_again_and_a_late_ack_is_recorded_as_late(standin: SlackStandIn) -> None:
    hub = standin.socket_mode
    hub.ack_timeout = 1.0  # Slack's 3 s, shortened so the test waits less for the first deadline to pass
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect((await open_url(session, standin))["url"]) as ws:
            await next_message(ws)  # hello
            sending = asyncio.ensure_future(hub.send_event({"type": "app_mention", "text": "<@U0BOT> hi"}))
            first = await next_message(ws)
            assert (first["type"], first["retry_attempt"], first["retry_reason"]) == ("events_api", 0, "")
            assert first["accepts_response_payload"] is False and first["payload"]["type"] == "event_callback"
            retry = await next_message(ws)  # no ack from us: Slack tries again
            assert (retry["retry_attempt"], retry["retry_reason"]) == (1, "timeout")
            assert retry["payload"]["event_id"] == first["payload"]["event_id"]
            assert retry["envelope_id"] != first["envelope_id"]
            await ws.send_json({"envelope_id": first["envelope_id"]})  # too late
            await ws.send_json({"envelope_id": retry["envelope_id"]})
            delivery: Delivery = await sending
    assert delivery.ack is not None and delivery.ack.retry_attempt == 1
    assert [(m.retry_attempt, m.reason) for m in hub.missed] == [(0, "no_ack")]
    # In arrival order: the first attempt's ack came after its deadline, the retry's within it.
    assert [(a.retry_attempt, a.on_time) for a in hub.acks] == [(0, False), (1, True)]


async def test_a_click_is_not_sent_again_and_a_command_ack_carries_its_answer(standin: SlackStandIn) -> None:
    hub = standin.socket_mode
    hub.ack_timeout = 0.3  # the click is never acked: its deadline passes sooner
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect((await open_url(session, standin))["url"]) as ws:
            await next_message(ws)
            click = asyncio.ensure_future(hub.send_interaction({"type": "block_actions", "actions": []}))
            envelope = await next_message(ws)
            assert envelope["type"] == "interactive" and "retry_attempt" not in envelope
            missed = await click  # the person sees an error in Slack; nothing is sent again
            assert missed.ack is None and len(missed.envelopes) == 1

            hub.ack_timeout = 3.0
            command = asyncio.ensure_future(hub.send_command("command=%2Fask&text=vpn&user_id=U0A"))
            envelope = await next_message(ws)
            assert envelope["type"] == "slash_commands" and envelope["accepts_response_payload"] is True
            assert envelope["payload"]["command"] == "/ask" and envelope["payload"]["text"] == "vpn"
            await ws.send_json({"envelope_id": envelope["envelope_id"], "payload": {"text": "Looking..."}})
            answered = await command
    assert answered.ack is not None and answered.ack.payload == {"text": "Looking..."}
    assert [m.type for m in hub.missed] == ["interactive"]


async def test_disconnect_and_drop(standin: SlackStandIn) -> None:
    hub = standin.socket_mode
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect((await open_url(session, standin))["url"]) as ws:
            await next_message(ws)
            await hub.disconnect("refresh_requested")
            notice = await next_message(ws)
            assert notice == {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "applink-standin"}}
            async with session.ws_connect((await open_url(session, standin))["url"]) as fresh:
                assert (await next_message(fresh))["num_connections"] == 2
                await hub.wait_for_connections(2)
                delivery = asyncio.ensure_future(hub.send_event({"type": "message", "text": "hi"}))
                envelope = await next_message(fresh)  # the new connection gets it, not the one told to go
                await fresh.send_json({"envelope_id": envelope["envelope_id"]})
                assert (await delivery).ack.connection == 2  # type: ignore[union-attr]
                await hub.drop()
                assert (await fresh.receive(timeout=10)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert hub.open_connections == 0
