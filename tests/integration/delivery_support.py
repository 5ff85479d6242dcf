"""Helpers for the delivery tests: alerts to send, what Slack shows per issue, the outbox, and crashes."""

from __future__ import annotations

import asyncio
import collections
import re
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bot.lifecycle import SUPERVISOR
from slack_standin import SlackStandIn
from storage.models import Alert, OutboxItem, OutboxStatus, SlackRateLimit
from tests.harness import RunningBot, stop_bot

CHANNEL = "#alerts"
ISSUE_MARKER = "opsbot_issue"
_ISSUE_IN_TEXT = re.compile(r"\(#(\d+), ")  # the fallback text: "[High] Disk full (#42, open)"


def notification(n: int, *, name: str | None = None, status: str = "firing") -> dict[str, Any]:
    """One Alertmanager notification carrying one alert (fingerprint fp<n>), as an HA pair sends to each replica."""
    alertname = name or f"Check{n}"
    alert = {
        "status": status,
        "labels": {"alertname": alertname, "instance": f"host{n}", "severity": "warning"},
        "annotations": {"summary": f"{alertname} on host{n}"},
        "startsAt": "2026-11-30T06:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.local/graph",
        "fingerprint": f"fp{n:06d}",
    }
    return {
        "version": "4", "groupKey": f'{{}}:{{alertname="{alertname}"}}', "truncatedAlerts": 0, "status": status,
        "receiver": "opsbot", "groupLabels": {"alertname": alertname}, "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"], "externalURL": "http://alertmanager.local", "alerts": [alert],
    }  # fmt: skip


def messages_per_issue(standin: SlackStandIn, channel: str = CHANNEL) -> collections.Counter[int]:
    """Top-level messages in Slack per issue id: from the marker each issue message carries (or its text)."""
    counts: collections.Counter[int] = collections.Counter()
    for message in standin.messages(channel):
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == ISSUE_MARKER:
            counts[int(metadata["event_payload"]["issue_id"])] += 1
        elif found := _ISSUE_IN_TEXT.search(message.get("text", "")):
            counts[int(found.group(1))] += 1
    return counts


def top_level_posts(standin: SlackStandIn) -> list[Any]:
    """Successful chat.postMessage calls that made a top-level message (not a thread reply)."""
    return [call for call in standin.calls_to("chat.postMessage") if not call.args.get("thread_ts")]


async def send_all(
    bots: list[RunningBot], bodies: list[dict[str, Any]], *, senders: int = 16
) -> tuple[collections.Counter[int], set[str]]:
    """Every body to every bot, `senders` at a time: (how many got each HTTP status, fingerprints accepted).

    An alert is accepted when at least one bot answered 202 for it; 0 counts a bot gone mid-request.
    """
    statuses: collections.Counter[int] = collections.Counter()
    accepted: set[str] = set()
    gate = asyncio.Semaphore(senders)

    async def send(bot: RunningBot, body: dict[str, Any]) -> None:
        async with gate:
            try:
                status, _ = await bot.post_webhook("alertmanager", body, prefer_outcome=False)  # as Alertmanager
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError):  # the bot went away under the request
                status = 0
        statuses[status] += 1
        if status == 202:
            accepted.update(alert["fingerprint"] for alert in body["alerts"])

    await asyncio.gather(*(send(bot, body) for body in bodies for bot in bots))
    return statuses, accepted


async def alert_issues(bot: RunningBot) -> dict[str, int | None]:
    """{fingerprint: issue id} of every alert stored."""
    async with bot.opsbot.sessionmaker() as session:
        rows = await session.execute(select(Alert.fingerprint, Alert.issue_id))
    return {fingerprint: issue_id for fingerprint, issue_id in rows}


async def outbox_items(bot: RunningBot) -> list[OutboxItem]:
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(select(OutboxItem).order_by(OutboxItem.id))).scalars())


async def pending_count(bot: RunningBot) -> int:
    async with bot.opsbot.sessionmaker() as session:
        query = select(func.count()).where(OutboxItem.status == OutboxStatus.PENDING)
        return int((await session.execute(query)).scalar_one())


async def rate_limits(bot: RunningBot) -> dict[tuple[str, str], Any]:
    async with bot.opsbot.sessionmaker() as session:
        rows = (await session.execute(select(SlackRateLimit))).scalars()
        return {(row.method, row.channel): row.until for row in rows}


async def crash(bot: RunningBot) -> None:
    """As near to kill -9 as one process gets: the webhook processor, the delivery worker and every
    delivery in flight are cancelled wherever they are (mid-call included), so no outcome of theirs
    is recorded; then the server goes away."""
    await bot.app[SUPERVISOR].kill("webhook-processor")
    await bot.app[SUPERVISOR].kill("delivery")
    await stop_bot(bot)
