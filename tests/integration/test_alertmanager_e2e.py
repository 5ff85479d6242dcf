"""End to end with a real Alertmanager (Debian's prometheus-alertmanager) delivering to the bot on loopback."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from storage.models import Issue, IssueStatus
from tests.harness import WEBHOOK_TOKEN, RunningBot
from tests.support.alertmanager import alertmanager_factory  # noqa: F401 - fixture

ALERTS = [
    {
        "labels": {"alertname": "DiskFull", "service": "db", "severity": "warning", "instance": "db-1:9100"},
        "annotations": {"summary": "Disk almost full on db-1", "runbook_url": "https://runbooks.example.com/DiskFull"},
        "generatorURL": "http://prometheus.example.com:9090/graph",
    }
]


@pytest.mark.alertmanager
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_real_alertmanager_fires_and_resolves_through_the_bot(bot: RunningBot, alertmanager_factory) -> None:  # noqa: F811
    alertmanager = alertmanager_factory(f"{bot.url}/webhooks/alertmanager", WEBHOOK_TOKEN)
    await asyncio.to_thread(alertmanager.post_alerts, ALERTS)

    [post] = await bot.standin.wait_for("chat.postMessage", count=1, timeout=20)
    assert post.args["channel"] == bot.standin.workspace.resolve_channel("#alerts")  # by id
    assert "Disk almost full on db-1" in post.args["text"]

    await asyncio.to_thread(alertmanager.resolve_alerts, ALERTS)

    async def resolved() -> bool:
        async with bot.opsbot.sessionmaker() as session:
            issue = (await session.execute(select(Issue))).scalar_one()
        return issue.status == IssueStatus.RESOLVED

    await bot.wait_until(resolved, timeout=20)
    await bot.outbox_drained()
    replies = [call for call in bot.standin.calls_to("chat.postMessage") if call.args.get("thread_ts")]
    assert replies and "Resolved by alertmanager" in replies[-1].args["text"]
    assert len([call for call in bot.standin.calls_to("chat.postMessage") if not call.args.get("thread_ts")]) == 1
