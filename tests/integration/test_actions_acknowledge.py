"""Acknowledge: updated in place, first click wins, the second clicker is told who has it, acked before the work."""

from __future__ import annotations

import asyncio
import json
import sqlite3

from slack_standin import SlackStandIn
from slack_standin.signing import block_actions_body
from tests.harness import RunningBot, start_bot, stop_bot
from tests.integration.escalation_support import get_issue, issue_events, open_issue


def _ack_body(bot: RunningBot, issue_id: int, user_id: str, ts: str) -> str:
    return block_actions_body(
        "issue.ack", str(issue_id), user_id=user_id, message_ts=ts, response_url=bot.standin.response_url(user_id)
    )


async def test_two_people_acknowledge_at_once_and_the_second_is_told_who_has_it(bot: RunningBot) -> None:
    issue_id, ts = await open_issue(bot)
    answers = await asyncio.gather(
        bot.post_slack(_ack_body(bot, issue_id, "U0ALICE", ts)), bot.post_slack(_ack_body(bot, issue_id, "U0BOB", ts))
    )
    assert [status for status, _ in answers] == [200, 200]

    [told] = await bot.standin.wait_for("response_url", count=1)
    issue = await get_issue(bot, issue_id)
    winner = issue.acknowledged_by
    loser = ({"U0ALICE", "U0BOB"} - {winner}).pop()
    assert told.path == f"/response_url/{loser}"
    assert told.args["text"] == f"<@{winner}> already acknowledged issue #{issue_id}."
    assert told.args["response_type"] == "ephemeral" and told.args["replace_original"] is False

    [*_, update] = await bot.standin.wait_for("chat.update", where=lambda c: "Acknowledged by" in json.dumps(c.args))
    blocks = json.dumps(update.args["blocks"])
    assert update.args["ts"] == ts
    assert f"Acknowledged by <@{winner}> at <!date^" in blocks and "^{time}|" in blocks
    assert "issue.unack" in blocks and '"issue.ack"' not in blocks
    await bot.outbox_drained()
    assert len(bot.standin.calls_to("response_url")) == 1
    assert [e.actor for e in await issue_events(bot, issue_id) if e.kind == "acknowledged"] == [winner]


async def test_unacknowledge_gives_acknowledge_back(bot: RunningBot) -> None:
    issue_id, ts = await open_issue(bot)
    await bot.post_slack(_ack_body(bot, issue_id, "U0ALICE", ts))
    await bot.standin.wait_for("chat.update", where=lambda c: "issue.unack" in json.dumps(c.args))
    body = block_actions_body("issue.unack", str(issue_id), user_id="U0ALICE", message_ts=ts,
                              response_url=bot.standin.response_url("unack"))
    await bot.post_slack(body)
    [*_, update] = await bot.standin.wait_for(
        "chat.update", where=lambda c: '"issue.ack"' in json.dumps(c.args) and "nobody has acknowledged" in json.dumps(c.args)
    )
    assert (await get_issue(bot, issue_id)).acknowledged_by is None


async def test_slack_gets_its_ack_while_the_database_is_locked(sqlite_url: str, standin: SlackStandIn) -> None:
    bot = await start_bot(sqlite_url, standin)
    try:
        issue_id, ts = await open_issue(bot)
        locker = sqlite3.connect(sqlite_url.split(":///", 1)[1], timeout=5, isolation_level=None, check_same_thread=False)
        await asyncio.to_thread(locker.execute, "BEGIN IMMEDIATE")  # another writer holds the database
        try:
            # The ack comes back while the write it precedes cannot have happened yet.
            status, _ = await bot.post_slack(_ack_body(bot, issue_id, "U0ALICE", ts))
            assert status == 200
            assert bot.standin.calls_to("chat.update") == []
            query = "SELECT acknowledged_by FROM issues WHERE id = ?"
            assert await asyncio.to_thread(lambda: locker.execute(query, (issue_id,)).fetchall()) == [(None,)]
        finally:
            await asyncio.to_thread(locker.execute, "ROLLBACK")
            locker.close()
        await bot.standin.wait_for("chat.update", where=lambda c: "Acknowledged by <@U0ALICE>" in json.dumps(c.args))
    finally:
        await stop_bot(bot)
