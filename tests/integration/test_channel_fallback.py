"""No alert is dropped for a channel problem: the bot joins a public channel it is not in, else the
alert lands in the default channel with a line naming the channel that needs the bot (issue 11)."""

from __future__ import annotations

from typing import Any, AsyncIterator

import pytest

from slack_standin import SlackStandIn
from tests.harness import RunningBot, start_bot, stop_bot, test_config
from tests.integration.delivery_support import notification

ADMIN = "U0BOSS"


def db_alert(n: int, status: str = "firing") -> dict[str, Any]:
    body = notification(n, status=status)
    body["alerts"][0]["labels"]["service"] = "db"
    return body


@pytest.fixture
async def routed(sqlite_url: str, standin: SlackStandIn) -> AsyncIterator[RunningBot]:
    config = test_config(routes=[{"match": {"service": "db"}, "channel": "#db-alerts"}], roles={"admin": [ADMIN]})
    running = await start_bot(sqlite_url, standin, config=config)
    yield running
    await stop_bot(running)


async def metrics_text(bot: RunningBot) -> str:
    async with bot.session.get(f"{bot.url}/metrics") as response:
        return await response.text()


async def test_a_public_channel_without_the_bot_is_joined_and_gets_the_alert(routed: RunningBot) -> None:
    standin = routed.standin
    standin.add_channel("db-alerts", member=False)
    status, _ = await routed.post_webhook("alertmanager", db_alert(1))
    assert status == 202
    await routed.outbox_drained()
    assert [call.args["channel"] for call in standin.calls_to("conversations.join")] == [
        standin.workspace.resolve_channel("#db-alerts")
    ]  # by id, as Slack wants it
    [message] = standin.messages("#db-alerts")
    assert "Check1" in message["text"]
    assert standin.messages("#alerts") == []
    assert "opsbot_channel_fallbacks_total{" not in await metrics_text(routed)


@pytest.mark.parametrize(
    ("kind", "reason"), [({"archived": True}, "is_archived"), ({"private": True, "member": False}, "channel_not_found")]
)
async def test_a_channel_the_bot_cannot_join_sends_the_alert_to_the_default_channel(
    routed: RunningBot, kind: dict[str, bool], reason: str
) -> None:
    standin = routed.standin
    standin.add_channel("db-alerts", **kind)
    for n in (1, 2):
        status, _ = await routed.post_webhook("alertmanager", db_alert(n))
        assert status == 202
    await routed.outbox_drained()

    moved = standin.messages("#alerts")
    assert len(moved) == 2
    for message in moved:
        first_line = message["text"].splitlines()[0]
        assert "#db-alerts" in first_line and "invite" in first_line
        assert "#db-alerts" in message["blocks"][0]["elements"][0]["text"]
    # Each admin hears once per channel, however many alerts moved.
    dms = [c for c in standin.calls_to("chat.postMessage") if c.args["channel"].startswith("D")]
    assert len(dms) == 1 and "#db-alerts" in dms[0].args["text"]
    assert standin.workspace.dm_users[dms[0].args["channel"]] == ADMIN
    assert f'opsbot_channel_fallbacks_total{{channel="#db-alerts",reason="{reason}"}} 2.0' in await metrics_text(routed)

    # The issue lives on in the default channel: its resolution threads under the moved message.
    await routed.post_webhook("alertmanager", db_alert(1, status="resolved"))
    await routed.outbox_drained()
    first = next(m for m in standin.messages("#alerts") if "Check1" in m["text"])
    assert first.get("replies"), "the resolution is a reply in the moved message's thread"
    assert first["text"].splitlines()[0].startswith(":warning: Meant for #db-alerts")  # kept on update


async def test_the_default_channel_refusing_still_fails_for_good(routed: RunningBot) -> None:
    """No loop: when the default channel itself cannot take the alert, the item is failed and kept."""
    standin = routed.standin
    standin.add_channel("alerts", archived=True)
    status, _ = await routed.post_webhook("alertmanager", notification(1))
    assert status == 202
    await routed.outbox_drained()
    assert standin.calls_to("chat.postMessage") == []
    assert [c.error for c in standin.calls_to("chat.postMessage", include_failed=True)] == ["is_archived"]
