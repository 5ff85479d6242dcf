"""Escalation chains: the next level hears when nobody acknowledges; acknowledging stops it."""

from __future__ import annotations

import asyncio

from storage.models import EscalationStatus
from tests.harness import RunningBot
from tests.integration.escalation_support import (  # noqa: F401 - team_bot is a fixture
    click,
    escalations,
    issue_events,
    open_issue,
    opened_view,
    submit_escalation,
    team_bot,
    wait_post,
    wait_thread,
)


async def _escalated(bot: RunningBot) -> tuple[int, str]:
    issue_id, ts = await open_issue(bot)
    await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts)
    await submit_escalation(bot, await opened_view(bot), "U0ALICE", note="Lag growing")
    await wait_post(bot, "#dba")
    return issue_id, ts


async def test_nobody_acknowledges_so_the_chain_climbs_level_by_level(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, ts = await _escalated(bot)

    bot.clock.advance(minutes=10)
    await bot.opsbot.scheduler.run_all_once()
    assert [e.level for e in await escalations(bot, issue_id)] == [1]

    bot.clock.advance(minutes=6)
    await bot.opsbot.scheduler.run_all_once()
    [lead_dm] = await wait_post(bot, "U0LEAD")
    assert "Level 2 (team lead) for DBAs" in lead_dm.args["blocks"][0]["text"]["text"]
    assert "within 15 minutes" in lead_dm.args["blocks"][0]["text"]["text"]
    await wait_thread(bot, ts, "escalated to level 2 (team lead) of DBAs: <@U0LEAD>")
    first, second = await escalations(bot, issue_id)
    assert (first.status, second.status, second.level, second.reason) == ("superseded", "active", 2, "chain")
    assert second.on_call == "U0LEAD" and second.next_level_at is not None

    bot.clock.advance(minutes=31)
    await bot.opsbot.scheduler.run_all_once()
    [managers] = await wait_post(bot, "#ops-managers")
    assert managers.args["text"].startswith("<!subteam^S0MGR>")
    assert "Level 3 (managers) for DBAs" in managers.args["blocks"][0]["text"]["text"]
    rows = await escalations(bot, issue_id)
    assert [(r.level, r.status) for r in rows] == [(1, "superseded"), (2, "superseded"), (3, "active")]
    assert rows[-1].next_level_at is None  # the last level: nobody further to call

    bot.clock.advance(hours=5)
    await bot.opsbot.scheduler.run_all_once()
    assert len(await escalations(bot, issue_id)) == 3
    kinds = [e.kind for e in await issue_events(bot, issue_id)]
    assert kinds.count("escalation_level") == 2


async def test_replicas_racing_on_a_due_level_escalate_it_once(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, _ = await _escalated(bot)
    bot.clock.advance(minutes=16)
    moved = await asyncio.gather(*(bot.opsbot.escalation_chains.advance() for _ in range(4)))
    assert sum(moved) == 1
    assert [e.level for e in await escalations(bot, issue_id)] == [1, 2]
    await wait_post(bot, "U0LEAD")


async def test_acknowledging_the_issue_stops_the_chain(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, ts = await _escalated(bot)
    await click(bot, "issue.ack", issue_id, "U0BOB", ts=ts)
    await wait_thread(bot, ts, "the escalation to DBAs stops here")
    [row] = await escalations(bot, issue_id)
    assert (row.status, row.acknowledged_by, row.next_level_at) == (EscalationStatus.ACKNOWLEDGED, "U0BOB", None)

    bot.clock.advance(minutes=20)
    await bot.opsbot.scheduler.run_all_once()
    await bot.outbox_drained()
    assert len(await escalations(bot, issue_id)) == 1
    lead_dm = bot.standin.workspace.open_dm("U0LEAD")
    assert not [c for c in bot.standin.calls_to("chat.postMessage") if c.args["channel"] == lead_dm]


async def test_im_on_it_from_the_escalation_message_stops_the_chain(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, ts = await _escalated(bot)
    await click(bot, "escalation.ack", issue_id, "U0DBA9", ts="9.9", reply_to="taker")
    [reply] = await bot.standin.wait_for("response_url", count=1)
    assert "you are on it for DBAs" in reply.args["text"]
    await wait_thread(bot, ts, "<@U0DBA9> is on it for DBAs")
    [row] = await escalations(bot, issue_id)
    assert row.status == EscalationStatus.ACKNOWLEDGED and row.acknowledged_by == "U0DBA9"

    await click(bot, "escalation.ack", issue_id, "U0DBA8", ts="9.9", reply_to="second")
    replies = await bot.standin.wait_for("response_url", count=2)
    assert replies[1].path.endswith("/second") and "<@U0DBA9> already took the escalation" in replies[1].args["text"]


async def test_resolving_closes_the_escalations(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, _ = await _escalated(bot)
    await bot.opsbot.issues.resolve(issue_id, "U0BOB", resolution="Replica rebuilt")
    [row] = await escalations(bot, issue_id)
    assert row.status == EscalationStatus.CLOSED and row.next_level_at is None
    assert "escalations_closed" in [e.kind for e in await issue_events(bot, issue_id)]
    bot.clock.advance(minutes=20)
    assert await bot.opsbot.escalation_chains.advance() == 0
