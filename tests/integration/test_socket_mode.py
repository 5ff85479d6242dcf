"""Socket Mode end to end on loopback: Slack's stand-in sends envelopes over the websocket the bot opened.

A person's slash command, button click and direct message reach the bot as `slash_commands`,
`interactive` and `events_api` envelopes; the stand-in records each ack (on time or late) and the
bot's answers land as they would in Slack. Alert webhooks still arrive over HTTP.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest
import yaml
from pydantic import SecretStr

from slack_standin import SlackStandIn
from slack_standin.socket_mode import Delivery
from tests.harness import RunningBot, start_bot, stop_bot, test_config
from tests.integration.escalation_support import open_issue
from tests.integration.test_startup_checks import run_bot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
APP_TOKEN = "xapp-1-A0LOCAL-1-test"
MANAGER = "U0BOSS"
ASKER = "U0ALICE"
OPS_CHANNEL = "C0OPS"


async def start_socket_bot(database_url: str, standin: SlackStandIn, **overrides: Any) -> RunningBot:
    """A bot in Socket Mode with no signing secret, as a team behind a firewall runs it; connected."""
    standin.socket_mode.app_token = APP_TOKEN
    settings = {"slack_app_token": SecretStr(APP_TOKEN), "slack_signing_secret": None, **overrides}
    bot = await start_bot(
        database_url, standin, config=test_config(roles={"manager": [MANAGER]}), settings_overrides=settings
    )
    await standin.socket_mode.wait_for_connections(1)
    return bot


@pytest.fixture
async def socket_bot(database_url: str, standin: SlackStandIn) -> AsyncIterator[RunningBot]:
    bot = await start_socket_bot(database_url, standin)
    yield bot
    await stop_bot(bot)


async def ui(bot: RunningBot, path: str, **body: Any) -> dict[str, Any]:
    """What a person does on the stand-in's page (the browser workspace)."""
    async with bot.session.post(f"{bot.standin.base_url}/ui/{path}", json=body) as response:
        answer = await response.json()
    assert answer.get("ok"), answer
    return answer


def _button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return {**element, "block_id": block.get("block_id", "")}
    raise AssertionError(f"no {action_id} button in {json.dumps(message)[:500]}")


async def dm_answers(bot: RunningBot, dm: str, count: int) -> list[Any]:
    return await bot.standin.wait_for("chat.postMessage", count=count, where=lambda c: c.args["channel"] == dm)


def dm_event(bot: RunningBot, dm: str, text: str) -> dict[str, Any]:
    """The person's message stored in the stand-in, as the event Slack sends for it."""
    [event] = bot.standin.people.say(ASKER, dm, text)
    return event


async def test_a_command_a_click_and_a_message_arrive_over_the_socket_acked_and_answered(socket_bot: RunningBot) -> None:
    bot, standin, hub = socket_bot, socket_bot.standin, socket_bot.standin.socket_mode
    issue_id, ts = await open_issue(bot)  # the alert itself still arrives over HTTP, at /webhooks
    alerts = standin.workspace.resolve_channel("#alerts")

    # Each envelope is acked while the work it asks for is still held on its way to Slack: ack first.
    async with standin.hold("response_url") as answering:
        await ui(bot, "command", user=MANAGER, channel=OPS_CHANNEL, command="/summary", text="")
        await answering.wait_for_waiting(1)
        assert [ack.type for ack in hub.acks] == ["slash_commands"]
    [summary] = await standin.wait_for("response_url")
    assert summary.args["response_type"] == "ephemeral" and "Summary" in json.dumps(summary.args["blocks"])
    assert [e["user"] for e in standin.workspace.ephemerals[OPS_CHANNEL]] == [MANAGER]  # shown to the manager only

    [message] = standin.messages(alerts)
    async with standin.hold("chat.update") as updating:
        await ui(bot, "act", user=ASKER, surface="message", channel=alerts, ts=ts, action=_button(message, "issue.ack"))
        await updating.wait_for_waiting(1)
        assert [ack.type for ack in hub.acks] == ["slash_commands", "interactive"]
    await standin.wait_for("chat.update", where=lambda c: f"Acknowledged by <@{ASKER}>" in json.dumps(c.args))

    dm = (await ui(bot, "dm", user=ASKER))["channel"]
    async with standin.hold("chat.postMessage") as answering:
        await ui(bot, "say", user=ASKER, channel=dm, text="how do I reset a password?")
        await answering.wait_for_waiting(1)
        assert [ack.type for ack in hub.acks] == ["slash_commands", "interactive", "events_api"]
    [answer] = await dm_answers(bot, dm, 1)

    # Every envelope acked, in the order sent, on the one connection.
    assert [(e.type, e.payload.get("command") or e.payload.get("type")) for e in hub.sent] == [
        ("slash_commands", "/summary"), ("interactive", "block_actions"), ("events_api", "event_callback"),
    ]  # fmt: skip
    assert [(a.envelope_id, a.connection) for a in hub.acks] == [(e.envelope_id, 1) for e in hub.sent]
    assert hub.missed == [] and hub.stray_acks == []
    assert answer.args["text"] or answer.args.get("blocks")
    assert issue_id and standin.calls_to("apps.connections.open")


async def test_a_retried_event_is_acked_but_not_acted_on_twice(sqlite_url: str, standin: SlackStandIn) -> None:
    bot = await start_socket_bot(sqlite_url, standin)
    try:
        hub = standin.socket_mode
        dm = standin.workspace.open_dm(ASKER)
        first = await hub.send_event(dm_event(bot, dm, "how do I reset a password?"))
        await dm_answers(bot, dm, 1)
        # Slack sends it again (its ack was lost): same event_id, a new envelope, retry_attempt 1.
        retried = await hub.redeliver(first)
        assert _ack(retried) == ("events_api", 1)
        assert retried.payload["event_id"] == first.payload["event_id"]
        assert bot.opsbot.metrics.slack_duplicates._value.get() == 1  # acked without being dispatched
        # A new event afterwards is answered; the retried one never was.
        await hub.send_event(dm_event(bot, dm, "how do I connect to the vpn?"))
        answers = await dm_answers(bot, dm, 2)
        await bot.outbox_drained()
        assert len(standin.calls_to("chat.postMessage", include_failed=True)) == len(answers) == 2
    finally:
        await stop_bot(bot)


def _ack(delivery: Delivery) -> tuple[str, int]:
    assert delivery.ack is not None, "no ack"
    return delivery.ack.type, delivery.ack.retry_attempt


async def test_the_bot_reconnects_when_slack_asks_and_when_the_socket_drops(sqlite_url: str, standin: SlackStandIn) -> None:
    bot = await start_socket_bot(sqlite_url, standin)
    try:
        hub = standin.socket_mode
        dm = standin.workspace.open_dm(ASKER)
        await hub.disconnect("warning")  # Slack's notice before a refresh: the SDK reconnects at once
        await hub.wait_for_connections(2)
        await hub.disconnect("refresh_requested")
        await hub.wait_for_connections(3)
        delivery = await hub.send_event(dm_event(bot, dm, "how do I reset a password?"))
        assert delivery.ack is not None and delivery.ack.connection == 3
        await dm_answers(bot, dm, 1)

        await hub.drop()  # no notice at all: the socket just closes
        await hub.wait_for_connections(4)
        delivery = await hub.send_event(dm_event(bot, dm, "how do I connect to the vpn?"))
        assert delivery.ack is not None and delivery.ack.connection == 4
        await dm_answers(bot, dm, 2)
        assert hub.missed == []
        # One look at the token at start-up, then one URL per connection.
        assert len(standin.calls_to("apps.connections.open")) == 1 + 4
    finally:
        await stop_bot(bot)


async def test_without_a_signing_secret_slack_events_over_http_are_not_served(socket_bot: RunningBot) -> None:
    async with socket_bot.session.post(f"{socket_bot.url}/slack/events", data=b"{}") as response:
        assert response.status == 404  # nothing could prove such a request came from Slack
    async with socket_bot.session.get(f"{socket_bot.url}/healthz") as response:
        assert response.status == 200


async def test_the_app_token_is_never_logged(
    sqlite_url: str, standin: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        bot = await start_socket_bot(sqlite_url, standin)
        try:
            await standin.socket_mode.disconnect()
            await standin.socket_mode.wait_for_connections(2)
        finally:
            await stop_bot(bot)
    assert any("apps.connections.open" in record.getMessage() for record in caplog.records)  # debug logging was on
    assert APP_TOKEN not in caplog.text and APP_TOKEN.split("-", 1)[1] not in caplog.text


async def test_a_wrong_app_token_stops_start_up_with_one_line(standin: SlackStandIn, tmp_path) -> None:  # type: ignore[no-untyped-def]
    standin.socket_mode.app_token = APP_TOKEN
    wrong = "xapp-1-A0LOCAL-1-not-the-right-one"
    code, output = await run_bot({
        "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": wrong, "ALERT_WEBHOOK_TOKEN": "hook",
        "SLACK_API_URL": standin.api_url, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}",
    })  # fmt: skip
    assert code == 2, output
    lines = output.strip().splitlines()
    assert lines[-1] == "opsbot: invalid setting SLACK_APP_TOKEN: Slack answered invalid_auth"
    assert "Traceback" not in output and len([line for line in lines if "SLACK_APP_TOKEN" in line]) == 1
    assert wrong not in output
    assert [call.method for call in standin.calls] == ["auth.test", "apps.connections.open"]


async def test_a_bot_token_in_the_app_token_setting_is_named_without_echoing_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, output = await run_bot({
        "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xoxb-123-secret-value", "ALERT_WEBHOOK_TOKEN": "hook",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}",
    })  # fmt: skip
    assert code == 2, output
    [line] = output.strip().splitlines()
    assert line.startswith("opsbot: invalid setting SLACK_APP_TOKEN: ") and "xapp-" in line
    assert "secret-value" not in output


async def test_the_stand_in_refuses_a_bot_token_for_a_socket(standin: SlackStandIn) -> None:
    async with aiohttp.ClientSession() as session:
        for token, error in (("xoxb-test", "not_allowed_token_type"), ("xapp-other", None), ("", "not_authed")):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with session.post(standin.api_url + "apps.connections.open", headers=headers) as response:
                body = await response.json()
            assert body.get("error") == error and body["ok"] is (error is None), body
            if error is None:
                assert body["url"].startswith("ws://127.0.0.1:")


def test_the_socket_mode_manifest_is_the_http_one_without_urls() -> None:
    http = yaml.safe_load((EXAMPLES / "slack-app-manifest.yaml").read_text())
    socket = yaml.safe_load((EXAMPLES / "slack-app-manifest.socket-mode.yaml").read_text())
    assert socket["settings"]["socket_mode_enabled"] is True and http["settings"]["socket_mode_enabled"] is False
    assert not re.search(r'"(request_)?url":', json.dumps(socket))  # Slack needs no address of the bot's
    for command in http["features"]["slash_commands"]:
        del command["url"]
    del http["settings"]["event_subscriptions"]["request_url"], http["settings"]["interactivity"]["request_url"]
    http["settings"]["socket_mode_enabled"] = True
    assert socket == http  # the same commands, scopes, events and interactivity
