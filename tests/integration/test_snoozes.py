"""Snooze: an issue's notifications held (no escalation steps, repeats and joins not announced), and the issue
brought back with a reply in its thread when the time is up; time moves with the bot's injected clock."""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

import pytest

from slack_standin import SlackStandIn
from tests.harness import RunningBot, start_bot, stop_bot, test_config
from tests.integration.escalation_support import (  # noqa: F401 - team_bot is a fixture
    alertmanager_body,
    click,
    escalations,
    issue_events,
    open_issue,
    opened_view,
    submit_escalation,
    team_bot,
    wait_thread,
)
from tests.integration.silence_support import choose, run_expiry_job, snoozes_of


async def _escalated_to_level(bot: RunningBot, issue_id: int, level: int) -> bool:
    return [e.level for e in await escalations(bot, issue_id)] == [level]


def _posts(bot: RunningBot) -> list[Any]:
    return bot.standin.calls_to("chat.postMessage")


async def _latest_update(bot: RunningBot, containing: str, *, absent: bool = False) -> str:
    def shows(call: Any) -> bool:
        return (containing in json.dumps(call.args["blocks"], ensure_ascii=False)) != absent

    calls = await bot.standin.wait_for("chat.update", where=shows)
    return json.dumps(calls[-1].args["blocks"], ensure_ascii=False)


async def test_snooze_holds_the_chain_and_repeats_then_brings_the_issue_back(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, ts = await open_issue(bot)
    await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts)
    await submit_escalation(bot, await opened_view(bot), "U0ALICE")
    await bot.wait_until(lambda: _escalated_to_level(bot, issue_id, 1))

    assert await choose(bot, "snooze.choose", issue_id, "1h", "U0BOB", ts=ts) == 200
    await wait_thread(bot, ts, "<@U0BOB> snoozed this issue until")
    shown = await _latest_update(bot, "Snoozed until")
    assert "by <@U0BOB>" in shown and "snooze.end" in shown and "snooze.choose" not in shown
    [snooze] = await snoozes_of(bot, issue_id)
    await bot.outbox_drained()
    posts_before = len(_posts(bot))

    # The alert fires again: recorded (times fired) and shown in place, but nothing is posted.
    status, answer = await bot.post_webhook("alertmanager", alertmanager_body())
    assert status == 202 and answer["repeated"] == 1
    await bot.outbox_drained()
    # Past the level's 15 minutes: the chain's step waits for the snooze.
    bot.clock.advance(minutes=20)
    await bot.opsbot.scheduler.run_all_once()
    await bot.outbox_drained()
    assert [e.level for e in await escalations(bot, issue_id)] == [1]
    assert len(_posts(bot)) == posts_before
    await _latest_update(bot, "Fired*\\n2×")  # the repeat shows in place

    bot.clock.advance(minutes=41)  # past the hour: the issue comes back, and the held step is taken
    assert await run_expiry_job(bot) == 1
    assert await run_expiry_job(bot) == 0  # brought back once
    [back] = await wait_thread(bot, ts, "Snooze over")
    assert "<@U0BOB> snoozed it until" in back.args["text"] and "1 alert(s) still firing" in back.args["text"]
    await _latest_update(bot, "Snoozed until", absent=True)
    assert await bot.opsbot.escalation_chains.advance() == 1
    assert [e.level for e in await escalations(bot, issue_id)] == [1, 2]
    await bot.outbox_drained()
    assert len(_posts(bot)) > posts_before + 1  # the level's page, after the snooze-over reply

    [snooze] = await snoozes_of(bot, issue_id)
    assert snooze.ended_by == "expired"
    kinds = [e.kind for e in await issue_events(bot, issue_id)]
    assert kinds.index("snoozed") < kinds.index("snooze_over") < kinds.index("escalation_level")
    over = next(e for e in await issue_events(bot, issue_id) if e.kind == "snooze_over")
    assert over.actor == "opsbot" and over.detail["snoozed_by"] == "U0BOB"


@pytest.fixture
async def storm_bot(database_url: str, standin: SlackStandIn) -> AsyncIterator[RunningBot]:
    running = await start_bot(database_url, standin, config=test_config(storm={"threshold": 2, "window_seconds": 600}))
    yield running
    await stop_bot(running)


def _storm(*fingerprints: str) -> dict[str, Any]:
    body = alertmanager_body("NodeDown", fingerprint=fingerprints[0])
    template = body["alerts"][0]
    body["alerts"] = [
        {**template, "fingerprint": fp, "labels": {**template["labels"], "instance": f"web-{fp}"}} for fp in fingerprints
    ]
    return body


async def test_alerts_joining_a_snoozed_group_are_recorded_not_announced(storm_bot: RunningBot) -> None:
    bot = storm_bot
    assert (await bot.post_webhook("alertmanager", _storm("a", "b")))[1]["issues_opened"] == 1
    [post] = await bot.standin.wait_for("chat.postMessage", where=lambda c: not c.args.get("thread_ts"))
    await bot.outbox_drained()
    ts = post.response["ts"]
    await choose(bot, "snooze.choose", 1, "4h", "U0BOB", ts=ts)
    await wait_thread(bot, ts, "snoozed this issue")
    await bot.outbox_drained()
    posts_before = len(_posts(bot))

    status, answer = await bot.post_webhook("alertmanager", _storm("c", "d"))
    assert status == 202 and answer["new"] == 2 and answer["issues_opened"] == 0
    await _latest_update(bot, "4 alerts")
    await bot.outbox_drained()
    assert len(_posts(bot)) == posts_before
    assert [e.kind for e in await issue_events(bot, 1)].count("alerts_grouped") == 1

    await click(bot, "snooze.end", 1, "U0CAROL", ts=ts)  # ended early: joins are announced again
    await wait_thread(bot, ts, "<@U0CAROL> ended the snooze")
    await bot.post_webhook("alertmanager", _storm("e", "f"))
    await wait_thread(bot, ts, "2 alert(s) joined this group")
    [snooze] = await snoozes_of(bot, 1)
    assert snooze.ended_by == "U0CAROL"
    assert await run_expiry_job(bot) == 0  # nothing left to bring back


async def test_a_snoozed_issue_resolved_meanwhile_stays_quiet(bot: RunningBot) -> None:
    issue_id, ts = await open_issue(bot)
    await choose(bot, "snooze.choose", issue_id, "24h", "U0BOB", ts=ts)
    await wait_thread(bot, ts, "snoozed this issue")
    await _latest_update(bot, "Snoozed until")
    await bot.outbox_drained()
    resolved = alertmanager_body()
    resolved["alerts"][0]["status"] = "resolved"
    await bot.post_webhook("alertmanager", resolved)
    await wait_thread(bot, ts, "Resolved by alertmanager")
    await _latest_update(bot, "Snoozed until", absent=True)  # a resolved issue shows no snooze
    replies = len([c for c in _posts(bot) if c.args.get("thread_ts") == ts])

    bot.clock.advance(hours=25)
    assert await run_expiry_job(bot) == 0
    assert len([c for c in _posts(bot) if c.args.get("thread_ts") == ts]) == replies
    [snooze] = await snoozes_of(bot, issue_id)
    assert snooze.ended_by == "expired"


async def test_snooze_refusals_are_ephemeral(bot: RunningBot) -> None:
    issue_id, ts = await open_issue(bot)
    await choose(bot, "snooze.choose", issue_id, "1h", "U0BOB", ts=ts)
    await wait_thread(bot, ts, "snoozed this issue")
    await choose(bot, "snooze.choose", issue_id, "4h", "U0CAROL", ts=ts, reply_to="again")
    [reply] = await bot.standin.wait_for("response_url", where=lambda c: c.path.endswith("/again"))
    assert f"Issue #{issue_id} is already snoozed until" in reply.args["text"]
    await choose(bot, "snooze.choose", issue_id, "7h", "U0CAROL", ts=ts, reply_to="odd")
    [reply] = await bot.standin.wait_for("response_url", where=lambda c: c.path.endswith("/odd"))
    assert "does not point at an issue" in reply.args["text"]
    assert len(await snoozes_of(bot, issue_id)) == 1
