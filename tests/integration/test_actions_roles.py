"""Roles on every issue button: without the responder role a click is refused, said so, and audited."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from handlers.slack.metadata import encode_metadata
from slack_standin import SlackStandIn
from tests.harness import RunningBot, start_bot, stop_bot, test_config
from tests.integration.escalation_support import (
    TEAMS,
    click,
    escalations,
    get_issue,
    issue_events,
    open_issue,
    opened_view,
    submit_escalation,
    wait_post,
)


@pytest.fixture
async def guarded_bot(database_url: str, standin: SlackStandIn) -> AsyncIterator[RunningBot]:
    config = test_config(teams=TEAMS, roles={"responder": ["U0ALICE"]})
    running = await start_bot(database_url, standin, config=config)
    yield running
    await stop_bot(running)


async def _denials(bot: RunningBot, issue_id: int) -> list[str]:
    return [e.summary for e in await issue_events(bot, issue_id) if e.kind == "denied" and e.actor == "U0MALLORY"]


@pytest.mark.parametrize(
    ("action_id", "to_do"),
    [("issue.ack", "acknowledge issues"), ("issue.escalate", "escalate issues"), ("issue.resolve", "resolve issues")],
)
async def test_a_click_without_the_role_is_refused_and_audited(
    guarded_bot: RunningBot, action_id: str, to_do: str
) -> None:
    bot = guarded_bot
    issue_id, ts = await open_issue(bot)
    assert await click(bot, action_id, issue_id, "U0MALLORY", ts=ts, reply_to="mallory") == 200
    [reply] = await bot.standin.wait_for("response_url", count=1)
    assert reply.args["text"] == f"You need the responder role to {to_do}."
    assert reply.args["response_type"] == "ephemeral"
    assert await _denials(bot, issue_id) == [f"Refused: {to_do}"]
    assert bot.standin.calls_to("views.open") == []
    issue = await get_issue(bot, issue_id)
    assert issue.is_open and issue.acknowledged_by is None


async def test_reopen_without_the_role_is_refused(guarded_bot: RunningBot) -> None:
    bot = guarded_bot
    issue_id, ts = await open_issue(bot)
    await bot.opsbot.issues.resolve(issue_id, "U0ALICE", resolution="Fixed")
    await click(bot, "issue.reopen", issue_id, "U0MALLORY", ts=ts)
    [reply] = await bot.standin.wait_for("response_url", count=1)
    assert reply.args["text"] == "You need the responder role to reopen issues."
    assert not (await get_issue(bot, issue_id)).is_open


async def test_a_forged_escalation_submission_without_the_role_is_refused(guarded_bot: RunningBot) -> None:
    bot = guarded_bot
    issue_id, _ = await open_issue(bot)
    view = {"callback_id": "escalation.modal", "private_metadata": encode_metadata(issue=issue_id, channel="C0LOCAL", ts="1.1")}
    status, answer = await submit_escalation(bot, view, "U0MALLORY")
    assert status == 200 and answer == ""
    [told] = await bot.standin.wait_for("chat.postEphemeral", count=1)
    assert told.args["user"] == "U0MALLORY" and told.args["channel"] == "C0LOCAL"
    assert told.args["text"] == "You need the responder role to escalate issues."
    assert await _denials(bot, issue_id) == ["Refused: escalate issues"]
    assert await escalations(bot, issue_id) == []


async def test_a_responder_may_do_it_all(guarded_bot: RunningBot) -> None:
    bot = guarded_bot
    issue_id, ts = await open_issue(bot)
    await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts)
    await submit_escalation(bot, await opened_view(bot), "U0ALICE")
    await wait_post(bot, "#dba")
    assert [e.team for e in await escalations(bot, issue_id)] == ["dba"]
    assert bot.standin.calls_to("response_url") == []


async def test_the_people_an_escalation_called_may_take_it_without_the_role(guarded_bot: RunningBot) -> None:
    bot = guarded_bot
    issue_id, ts = await open_issue(bot)
    await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts)
    await submit_escalation(bot, await opened_view(bot), "U0ALICE")
    await wait_post(bot, "#dba")
    [row] = await escalations(bot, issue_id)

    await click(bot, "escalation.ack", issue_id, "U0MALLORY", reply_to="mallory")
    [refused] = await bot.standin.wait_for("response_url", count=1)
    assert refused.args["text"] == "You need the responder role to take escalations."
    assert await _denials(bot, issue_id) == ["Refused: take escalations"]

    assert row.on_call is not None
    await click(bot, "escalation.ack", issue_id, row.on_call, reply_to="on-call")
    replies = await bot.standin.wait_for("response_url", count=2)
    assert replies[1].path.endswith("/on-call") and "you are on it for DBAs" in replies[1].args["text"]
    [taken] = await escalations(bot, issue_id)
    assert taken.acknowledged_by == row.on_call
