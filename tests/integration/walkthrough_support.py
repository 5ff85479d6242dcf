"""Helpers for the walkthrough tests: the step messages in the issue's thread, and clicks on their buttons."""

from __future__ import annotations

import json
from typing import Any

from slack_standin.signing import block_actions_body
from storage.models import RunbookRun
from tests.harness import RunningBot
from tests.support.autofix import OPERATOR, runs

CHANNEL = "#alerts"
STEP_ACTIONS = ("autofix.step.done", "autofix.step.skip", "autofix.step.stuck")


def issue_message(bot: RunningBot, issue_id: int) -> dict[str, Any]:
    """The issue's top-level message as the stand-in holds it now (replies included)."""
    for message in bot.standin.messages(CHANNEL):
        if f"(#{issue_id}," in message.get("text", ""):
            return message
    raise AssertionError(f"no message for issue {issue_id}")


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """action_id -> button, over the message's actions blocks."""
    return {e["action_id"]: e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]}


def step_replies(bot: RunningBot, issue_id: int) -> list[dict[str, Any]]:
    """The thread's replies that are (or were) walkthrough steps, oldest first."""
    replies = issue_message(bot, issue_id).get("replies", [])
    return [reply for reply in replies if "Step " in reply.get("text", "") and reply.get("blocks")]


def waiting_step(bot: RunningBot, issue_id: int) -> dict[str, Any]:
    """The one step message that still has its buttons."""
    [waiting] = [reply for reply in step_replies(bot, issue_id) if "autofix.step.done" in buttons(reply)]
    return waiting


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


def channel_id(bot: RunningBot) -> str:
    return next(c.args["channel"] for c in bot.standin.calls_to("chat.postMessage") if c.args.get("thread_ts"))


async def click_step(
    bot: RunningBot, issue_id: int, action: str, *, user_id: str = OPERATOR, response: str = "step",
    message: dict[str, Any] | None = None,
) -> int:
    """Click `action` on the step waiting now (or on `message`), as Slack sends it from the thread."""
    target = message if message is not None else waiting_step(bot, issue_id)
    value = buttons(target)[action]["value"] if action in buttons(target) else buttons(target)[STEP_ACTIONS[0]]["value"]
    body = block_actions_body(
        action, value, user_id=user_id, channel_id=channel_id(bot), message_ts=target["ts"],
        response_url=bot.standin.response_url(response), message=target,
    )
    status, _ = await bot.post_slack(body)
    return status


async def the_run(bot: RunningBot, issue_id: int) -> RunbookRun:
    [run] = await runs(bot, issue_id)
    return run


async def wait_for_steps(bot: RunningBot, issue_id: int, count: int) -> RunbookRun:
    """Until the run has `count` steps recorded and the thread shows what follows them."""

    async def recorded() -> bool:
        found = await runs(bot, issue_id)
        return len(found) == 1 and len(found[0].steps) >= count

    await bot.wait_until(recorded, 10.0)
    await bot.outbox_drained()
    return await the_run(bot, issue_id)


def responses(bot: RunningBot, name: str) -> list[str]:
    return [c.args.get("text", "") for c in bot.standin.calls_to("response_url") if c.path == f"/response_url/{name}"]


async def response_to(bot: RunningBot, name: str) -> str:
    """The first thing the bot said through response URL `name`, once it has said it."""

    async def said() -> bool:
        return bool(responses(bot, name))

    await bot.wait_until(said, 10.0)
    return responses(bot, name)[0]
