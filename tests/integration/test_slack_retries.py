"""Slack's retries and replays are acknowledged but acted on once, also across two replicas."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from slack_standin import SlackStandIn
from slack_standin.signing import event_body, sign_request, slash_command_body
from storage.models import SlackReceipt
from tests.harness import SIGNING_SECRET, RunningBot, start_bot, stop_bot
from tests.integration.questions_support import ALICE, CHANNEL, human_says, posts_to, questions, replies


@pytest.fixture(autouse=True)
async def loaded(bot: RunningBot) -> None:
    await bot.opsbot.knowledge.get()


async def _deliver(bot: RunningBot, body: str, retry: int | None = None) -> int:
    """POST as Slack does: signed afresh for each attempt, retries marked with X-Slack-Retry-Num."""
    headers = {"Content-Type": "application/json", **sign_request(SIGNING_SECRET, body)}
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    async with bot.session.post(f"{bot.url}/slack/events", data=body.encode(), headers=headers) as response:
        return response.status


async def test_an_event_and_its_two_retries_get_one_answer(bot: RunningBot) -> None:
    event = human_says(bot, ALICE, ALICE, "disk is full on the db server")
    body = event_body(event)
    assert [await _deliver(bot, body, retry) for retry in (None, 1, 2)] == [200, 200, 200]
    await posts_to(bot, event["channel"])
    follow_up = human_says(bot, ALICE, ALICE, "I can't log in")  # a new event is still answered
    assert await _deliver(bot, event_body(follow_up)) == 200
    answers = await posts_to(bot, event["channel"], count=2)
    assert answers[0].args["text"].startswith("📖 Disk")
    assert [q.question for q in await questions(bot)] == ["disk is full on the db server", "I can't log in"]
    assert bot.opsbot.metrics.slack_duplicates._value.get() == 2  # noqa: SLF001 - the counter's own value


async def test_a_replayed_command_is_acknowledged_but_not_run_again(bot: RunningBot) -> None:
    body = slash_command_body("/ask", "I can't log in", user_id=ALICE, channel_id=CHANNEL,
                              response_url=bot.standin.response_url("once"))
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign_request(SIGNING_SECRET, body)}
    for _ in range(3):  # the very same bytes and signature, as a captured request would be replayed
        async with bot.session.post(f"{bot.url}/slack/events", data=body.encode(), headers=headers) as response:
            assert response.status == 200
    await replies(bot, "once")
    second = slash_command_body("/ask", "I can't log in", user_id=ALICE, channel_id=CHANNEL,
                                response_url=bot.standin.response_url("again"))
    assert (await bot.post_slack(second))[0] == 200  # asking again (a new signed request) is answered
    await replies(bot, "again")
    assert len(bot.standin.calls_to("response_url")) == 2
    assert len(await questions(bot)) == 2


async def test_two_replicas_given_the_same_event_answer_once(
    bot: RunningBot, database_url: str, standin: SlackStandIn
) -> None:
    other = await start_bot(database_url, standin)
    try:
        await other.opsbot.knowledge.get()
        event = human_says(bot, ALICE, ALICE, "the site is really slow since this morning")
        body = event_body(event)
        statuses = [await _deliver(bot, body), await _deliver(other, body, retry=1)]
        assert statuses == [200, 200]
        await posts_to(bot, event["channel"])
        assert len(await questions(bot)) == 1
        async with bot.opsbot.sessionmaker() as session:
            keys = (await session.execute(select(SlackReceipt.key))).scalars().all()
        assert f"event:{json.loads(body)['event_id']}" in keys
    finally:
        await stop_bot(other)
