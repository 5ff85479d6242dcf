"""/slack/events as Slack calls it: signed, fresh, and answered within Slack's limits."""

from __future__ import annotations

import json
import time

from sqlalchemy import select

from slack_standin.signing import block_actions_body, event_body
from storage.models import Issue, IssueStatus
from tests.harness import RunningBot, fixture_json


async def _post_one_alert(bot: RunningBot) -> str:
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_amtool_firing.json"))
    [post] = await bot.standin.wait_for("chat.postMessage", count=1)
    await bot.outbox_drained()
    return post.response["ts"]


async def test_url_verification_answers_the_challenge(bot: RunningBot) -> None:
    body = json.dumps(fixture_json("slack_url_verification.json"))
    status, text = await bot.post_slack(body, content_type="application/json")
    assert status == 200 and json.loads(text)["challenge"] == fixture_json("slack_url_verification.json")["challenge"]


async def test_bad_signature_and_stale_requests_are_refused(bot: RunningBot) -> None:
    body = block_actions_body("issue.ack", "1", response_url=bot.standin.response_url())
    assert (await bot.post_slack(body, secret="not-the-secret"))[0] == 401
    assert (await bot.post_slack(body, timestamp=int(time.time()) - 6 * 60))[0] == 401
    async with bot.session.post(f"{bot.url}/slack/events", data=body) as response:
        assert response.status == 401


async def test_acknowledge_button_updates_the_message_in_place(bot: RunningBot) -> None:
    ts = await _post_one_alert(bot)
    body = block_actions_body("issue.ack", "1", user_id="U0ALICE", message_ts=ts, response_url=bot.standin.response_url())
    async with bot.standin.hold("chat.update") as updating:
        status, _ = await bot.post_slack(body)
        assert status == 200  # Slack has its ack ...
        await updating.wait_for_waiting(1)  # ... while the message's update is still held on its way
        assert bot.standin.calls_to("chat.update") == []
    [update] = await bot.standin.wait_for("chat.update", count=1)
    assert update.args["ts"] == ts
    blocks = json.dumps(update.args["blocks"])
    assert "Acknowledged by <@U0ALICE>" in blocks and "issue.unack" in blocks and "issue.ack\"" not in blocks
    async with bot.opsbot.sessionmaker() as session:
        issue = (await session.execute(select(Issue))).scalar_one()
    assert issue.status == IssueStatus.IN_PROGRESS and issue.assignee == "U0ALICE"
    assert issue.acknowledged_at is not None and issue.ack_seconds is not None


async def test_a_button_with_a_forged_value_gets_a_clear_answer(bot: RunningBot) -> None:
    response_url = bot.standin.response_url("forged")
    status, _ = await bot.post_slack(block_actions_body("issue.ack", "1; DROP TABLE issues", response_url=response_url))
    assert status == 200
    [reply] = await bot.standin.wait_for("response_url", count=1)
    assert "does not point at an issue" in reply.args["text"]
    status, _ = await bot.post_slack(block_actions_body("issue.ack", "999", response_url=response_url))
    replies = await bot.standin.wait_for("response_url", count=2)
    assert "does not exist" in replies[1].args["text"]


async def test_unknown_events_are_acknowledged(bot: RunningBot) -> None:
    body = event_body({"type": "reaction_added", "user": "U1", "reaction": "eyes"})
    status, _ = await bot.post_slack(body, content_type="application/json")
    assert status == 200
