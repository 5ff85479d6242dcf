"""Driving the questions feature as Slack would: people's messages, signed events, commands and clicks."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from slack_standin.signing import block_actions_body, event_body, slash_command_body
from slack_standin.state import RecordedCall
from storage.models import KbQuestion
from tests.harness import RunningBot

ALICE, BOB = "U0ALICE", "U0BOB"
CHANNEL = "C0OPS"


def human_says(bot: RunningBot, channel: str, user: str, text: str, *, thread_ts: str | None = None,
               kind: str = "message") -> dict[str, Any]:
    """Store the person's message in the stand-in (as Slack would) and return the event Slack sends."""
    workspace = bot.standin.workspace
    conversation = workspace.find_conversation(channel)  # a user id opens (or finds) the DM with the bot
    channel_id = conversation.id if conversation else workspace.resolve_channel(channel)
    message = {"type": "message", "user": user, "text": text, "ts": workspace.next_ts()}
    workspace.add_message(channel_id, message, thread_ts)
    event = {"type": kind, "channel": channel_id, "user": user, "text": text, "ts": message["ts"],
             "event_ts": message["ts"], "channel_type": "im" if channel_id.startswith("D") else "channel"}
    if kind == "app_mention":
        event.pop("channel_type")
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


async def send_event(bot: RunningBot, event: dict[str, Any]) -> None:
    """Slack's 200 comes back; that it comes before the work is done, tests show by holding a call."""
    status, _ = await bot.post_slack(event_body(event), content_type="application/json")
    assert status == 200


async def dm(bot: RunningBot, text: str, *, user: str = ALICE, thread_ts: str | None = None) -> dict[str, Any]:
    """A DM to the bot; returns the event sent."""
    event = human_says(bot, user, user, text, thread_ts=thread_ts)
    await send_event(bot, event)
    return event


async def posts_to(bot: RunningBot, channel: str, count: int = 1) -> list[RecordedCall]:
    return await bot.standin.wait_for("chat.postMessage", count=count, where=lambda c: bot.standin.same_channel(c.args["channel"], channel))


async def command(bot: RunningBot, name: str, text: str, *, user: str = ALICE, reply: str = "r1") -> str:
    body = slash_command_body(name, text, user_id=user, channel_id=CHANNEL, response_url=bot.standin.response_url(reply))
    status, answer = await bot.post_slack(body)
    assert status == 200
    return answer


async def replies(bot: RunningBot, name: str, count: int = 1) -> list[dict[str, Any]]:
    calls = await bot.standin.wait_for("response_url", count=count, where=lambda c: c.path.endswith("/" + name))
    return [call.args for call in calls]


async def click(bot: RunningBot, element: dict[str, Any], *, user: str = ALICE, reply: str = "click",
                message: dict[str, Any] | None = None, trigger_id: str | None = None) -> None:
    body = block_actions_body(element["action_id"], element["value"], user_id=user, message=message,
                              response_url=bot.standin.response_url(reply), trigger_id=trigger_id)
    status, _ = await bot.post_slack(body)
    assert status == 200


def elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        for element in [block.get("accessory"), *block.get("elements", [])]:
            if isinstance(element, dict) and element.get("type") == "button":
                found.append(element)
    return found


def button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    return next(e for e in elements(blocks) if e["action_id"] == action_id)


def shown(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


async def questions(bot: RunningBot) -> list[KbQuestion]:
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(select(KbQuestion).order_by(KbQuestion.id))).scalars())
