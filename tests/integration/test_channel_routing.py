"""Routing by channel id: a channel renamed after start keeps its alerts; the config may name channels by id.

Channel names are resolved to ids at start-up (conversations.list) and posts go to the ids, so
someone renaming #db-alerts in Slack does not send its alerts to the default channel (issue 11).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from slack_standin import SlackStandIn
from tests.harness import RunningBot, start_bot, stop_bot, test_config
from tests.integration.delivery_support import notification


def db_alert(n: int, status: str = "firing") -> dict[str, Any]:
    body = notification(n, status=status)
    body["alerts"][0]["labels"]["service"] = "db"
    return body


async def fire(bot: RunningBot, n: int, status: str = "firing") -> None:
    code, answer = await bot.post_webhook("alertmanager", db_alert(n, status))
    assert code == 202, answer
    await bot.outbox_drained()


async def test_a_channel_renamed_after_start_still_gets_its_alerts(
    database_url: str, standin: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    config = test_config(routes=[{"match": {"service": "db"}, "channel": "#db-alerts"}])
    bot = await start_bot(database_url, standin, config=config)
    try:
        channel_id = standin.workspace.resolve_channel("#db-alerts")
        await fire(bot, 1)
        standin.rename_channel("#db-alerts", "db-alerts-archive-2026")  # someone renames it in Slack
        await fire(bot, 2)
        await fire(bot, 1, status="resolved")  # the first issue's thread, in the same channel

        texts = [m["text"] for m in standin.messages(channel_id)]
        assert len(texts) == 2 and "Check1" in texts[0] and "Check2" in texts[1]
        assert standin.messages("#alerts") == []  # nothing fell back to the default channel
        assert standin.messages(channel_id)[0].get("replies"), "the resolution is threaded under the first message"
        posts = standin.calls_to("chat.postMessage", include_failed=True)
        assert {call.args["channel"] for call in posts} == {channel_id}  # by id, every time

        # The next read of the list (every ten minutes) says once that the config uses the old name.
        with caplog.at_level(logging.WARNING, logger="delivery.directory"):
            await bot.opsbot.channels.refresh()
            await bot.opsbot.channels.refresh()
        [warning] = [r.getMessage() for r in caplog.records if r.name == "delivery.directory"]
        assert "#db-alerts was renamed #db-alerts-archive-2026" in warning and channel_id in warning
        await fire(bot, 3)
        assert len(standin.messages(channel_id)) == 3
    finally:
        await stop_bot(bot)


async def test_routes_may_name_channels_by_id(sqlite_url: str, standin: SlackStandIn, caplog: pytest.LogCaptureFixture) -> None:
    standin.add_channel("database-team", channel_id="C0DBTEAM")
    config = test_config(routes=[{"match": {"service": "db"}, "channel": "C0DBTEAM"}])
    with caplog.at_level(logging.WARNING, logger="bot.slack_checks"):
        bot = await start_bot(sqlite_url, standin, config=config)
    try:
        assert not [r for r in caplog.records if r.name == "bot.slack_checks"]  # the id is found: no warning
        await fire(bot, 1)
        [message] = standin.messages("C0DBTEAM")
        assert "Check1" in message["text"] and standin.messages("#alerts") == []
    finally:
        await stop_bot(bot)


async def test_a_channel_deleted_and_made_anew_is_found_by_the_next_read(sqlite_url: str, standin: SlackStandIn) -> None:
    config = test_config(routes=[{"match": {"service": "db"}, "channel": "#db-alerts"}])
    bot = await start_bot(sqlite_url, standin, config=config)
    try:
        old_id = standin.workspace.resolve_channel("#db-alerts")
        del standin.workspace.conversations[old_id]  # deleted in Slack ...
        new_id = standin.add_channel("db-alerts", channel_id="C0NEWDB")  # ... and made again under the name
        await bot.opsbot.channels.refresh()  # what the ten-minute job does
        await fire(bot, 1)
        [message] = standin.messages(new_id)
        assert "Check1" in message["text"] and standin.messages("#alerts") == []
    finally:
        await stop_bot(bot)


async def test_channel_not_found_reads_the_list_again_before_falling_back(sqlite_url: str, standin: SlackStandIn) -> None:
    config = test_config(routes=[{"match": {"service": "db"}, "channel": "#db-alerts"}])
    bot = await start_bot(sqlite_url, standin, config=config)
    try:
        old_id = standin.workspace.resolve_channel("#db-alerts")
        del standin.workspace.conversations[old_id]
        new_id = standin.add_channel("db-alerts", channel_id="C0NEWDB")
        bot.clock.advance(seconds=60)  # the start-up read is a minute old
        lists_before = len(standin.calls_to("conversations.list"))
        await fire(bot, 1)
        [message] = standin.messages(new_id)  # the post to the old id failed; the list said where it went
        assert "Check1" in message["text"] and standin.messages("#alerts") == []
        assert len(standin.calls_to("conversations.list")) == lists_before + 1
    finally:
        await stop_bot(bot)
