"""Shared by the silence and snooze tests: menu choices signed as Slack sends them, reading Alertmanager's
silences, the issue message as it now stands, and the snooze job."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import select

from slack_standin.signing import block_actions_body
from storage.models import AlertSilence, IssueSnooze
from tests.harness import RunningBot
from tests.support.processes import LOOPBACK

EXPIRY_JOB = "snoozes-and-silences"


def menu_body(
    action_id: str, value: str, user_id: str, *, channel_id: str = "C0LOCAL", ts: str = "1.1", response_url: str = ""
) -> str:
    """A choice in a static_select on a message: Slack sends `selected_option` where a button has `value`."""
    body = block_actions_body(action_id, "", user_id=user_id, channel_id=channel_id, message_ts=ts, response_url=response_url)
    payload = json.loads(unquote(body.removeprefix("payload=")))
    action = payload["actions"][0]
    del action["value"]
    action.update(type="static_select", selected_option={"text": {"type": "plain_text", "text": value}, "value": value})
    return "payload=" + quote(json.dumps(payload))


async def choose(
    bot: RunningBot, action_id: str, issue_id: int, choice: str, user_id: str, *, channel_id: str = "C0LOCAL",
    ts: str = "1.1", reply_to: str = "r1",
) -> int:
    body = menu_body(
        action_id, f"{issue_id}:{choice}", user_id, channel_id=channel_id, ts=ts,
        response_url=bot.standin.response_url(reply_to),
    )
    status, _ = await bot.post_slack(body)
    return status


def alertmanager_silences(url: str) -> list[dict[str, Any]]:
    with LOOPBACK.open(f"{url}/api/v2/silences", timeout=10) as response:
        return json.loads(response.read())


def alertmanager_silence(url: str, silence_id: str) -> dict[str, Any]:
    with LOOPBACK.open(f"{url}/api/v2/silence/{silence_id}", timeout=10) as response:
        return json.loads(response.read())


async def silences_of(bot: RunningBot, issue_id: int) -> list[AlertSilence]:
    async with bot.opsbot.sessionmaker() as session:
        query = select(AlertSilence).where(AlertSilence.issue_id == issue_id).order_by(AlertSilence.id)
        return list((await session.execute(query)).scalars())


async def snoozes_of(bot: RunningBot, issue_id: int) -> list[IssueSnooze]:
    async with bot.opsbot.sessionmaker() as session:
        query = select(IssueSnooze).where(IssueSnooze.issue_id == issue_id).order_by(IssueSnooze.id)
        return list((await session.execute(query)).scalars())


def message_now(bot: RunningBot, channel: str, ts: str) -> str:
    """The issue message as people see it now (text and blocks), from the stand-in's workspace."""
    [message] = [m for m in bot.standin.messages(channel) if m["ts"] == ts]
    return message.get("text", "") + "\n" + json.dumps(message.get("blocks") or [], ensure_ascii=False)


async def run_expiry_job(bot: RunningBot) -> int:
    [job] = [job for job in bot.opsbot.scheduler.jobs if job.name == EXPIRY_JOB]
    moved = await job.run()
    await bot.outbox_drained()
    return int(moved)  # type: ignore[call-overload]
