"""The daily report: yesterday's figures, posted once a day even with two replicas on one database."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from handlers.summaries.daily import DailyReport
from slack_standin import SlackStandIn
from storage.models import Issue, IssueStatus, ReportRun
from tests.harness import Clock, RunningBot, start_bot, stop_bot, test_config

CHANNEL = "C0OPSREPORT"
LONDON = ZoneInfo("Europe/London")


def _config(**daily: Any):  # type: ignore[no-untyped-def]
    settings = {"enabled": True, "time": "00:00", "timezone": "Europe/London", "channel": CHANNEL, **daily}
    return test_config(reports={"daily": settings})


@pytest.fixture
async def replicas(database_url: str, standin: SlackStandIn) -> AsyncIterator[tuple[RunningBot, RunningBot]]:
    """Two bots on one database, like two replicas behind a load balancer."""
    first = await start_bot(database_url, standin, config=_config())
    second = await start_bot(database_url, standin, config=_config())
    yield first, second
    await stop_bot(second)
    await stop_bot(first)


async def _log_yesterday(bot: RunningBot) -> None:
    """Two issues reported yesterday (London time), one resolved in 90 minutes."""
    yesterday = (bot.clock().astimezone(LONDON) - timedelta(days=1)).date()
    noon = datetime(yesterday.year, yesterday.month, yesterday.day, 12, 0, tzinfo=LONDON).astimezone(timezone.utc)
    async with bot.opsbot.sessionmaker.begin() as session:
        session.add_all(
            [
                Issue(
                    reported_at=noon, reported_by="alertmanager", source="alertmanager", title="Disk full",
                    priority="High", category="infrastructure", status=IssueStatus.RESOLVED,
                    resolved_at=noon + timedelta(minutes=90), resolution_seconds=5400,
                    acknowledged_at=noon + timedelta(minutes=2), ack_seconds=120, updated_at=noon,
                ),
                Issue(reported_at=noon, reported_by="U0STAFF", source="slack", title="VPN", priority="Low",
                      category="other", status=IssueStatus.OPEN, updated_at=noon),
            ]
        )


def _posts(bot: RunningBot) -> list:  # type: ignore[type-arg]
    return [c for c in bot.standin.calls_to("chat.postMessage") if bot.standin.same_channel(c.args["channel"], CHANNEL)]


async def test_two_replicas_running_the_job_at_the_same_moment_post_once(
    replicas: tuple[RunningBot, RunningBot],
) -> None:
    first, second = replicas
    await _log_yesterday(first)
    posted = await asyncio.gather(first.opsbot.daily_report.run_if_due(), second.opsbot.daily_report.run_if_due())
    assert sorted(posted) == [False, True]

    [post] = await first.standin.wait_for("chat.postMessage", where=lambda c: first.standin.same_channel(c.args["channel"], CHANNEL))
    yesterday = (first.clock().astimezone(LONDON) - timedelta(days=1)).date()
    header = post.args["blocks"][0]["text"]["text"]
    assert header == f"🗓 Daily performance report: {yesterday:%a %d %b %Y}"
    text = json.dumps(post.args["blocks"], ensure_ascii=False)
    assert "*Issues logged:* 2   ↑ +2 (was 0)" in text and "*Resolved:* 1   ↑ +1 (was 0)" in text
    assert "*Time to resolve (MTTR):* avg 1h 30m" in text and "Compared with " in text

    [upload] = await first.standin.wait_for("files.completeUploadExternal")
    assert upload.args["channel_id"] == CHANNEL
    png = first.standin.files[upload.args["files"][0]["id"]]["content"]
    assert png.startswith(b"\x89PNG")

    for _ in range(2):  # every later minute, on both replicas: nothing more
        await asyncio.gather(first.opsbot.scheduler.run_all_once(), second.opsbot.scheduler.run_all_once())
    await first.outbox_drained()
    await second.outbox_drained()
    assert len(_posts(first)) == 1 and len(first.standin.calls_to("files.completeUploadExternal")) == 1
    async with first.opsbot.sessionmaker() as session:
        [run] = (await session.execute(select(ReportRun))).scalars().all()
    assert (run.kind, run.period) == ("daily", yesterday.isoformat())
    assert run.claimed_by in (first.opsbot.daily_report.replica, second.opsbot.daily_report.replica)


async def test_the_next_day_gets_its_own_report(replicas: tuple[RunningBot, RunningBot]) -> None:
    first, second = replicas
    assert await first.opsbot.daily_report.run_if_due()
    first.clock.advance(days=1)
    second.clock.advance(days=1)
    assert await second.opsbot.daily_report.run_if_due()
    assert not await first.opsbot.daily_report.run_if_due()
    await first.standin.wait_for("chat.postMessage", count=2, where=lambda c: first.standin.same_channel(c.args["channel"], CHANNEL))
    async with first.opsbot.sessionmaker() as session:
        periods = sorted(run.period for run in (await session.execute(select(ReportRun))).scalars())
    assert len(periods) == 2 and periods[0] < periods[1]


async def test_a_channel_name_gets_the_figures_without_the_chart(database_url: str, standin: SlackStandIn) -> None:
    bot = await start_bot(database_url, standin, config=_config(channel="#ops-managers"))
    try:
        assert await bot.opsbot.daily_report.run_if_due()
        await bot.standin.wait_for("chat.postMessage", where=lambda c: bot.standin.same_channel(c.args["channel"], "#ops-managers"))
        assert not bot.standin.calls_to("files.completeUploadExternal")
    finally:
        await stop_bot(bot)


def _bare_report(settings: Any, clock: Any) -> DailyReport:
    """Only the schedule is exercised: no database, no Slack."""
    nothing: Any = None
    return DailyReport(nothing, nothing, nothing, settings, default_channel="#m", client=None, clock=clock)


def test_the_report_is_due_after_its_local_time_and_covers_yesterday() -> None:
    settings = _config(time="08:30").reports
    moments = {
        datetime(2026, 7, 1, 7, 29, tzinfo=timezone.utc): None,  # 08:29 in London (BST)
        datetime(2026, 7, 1, 7, 30, tzinfo=timezone.utc): "2026-06-30",  # 08:30 in London
        datetime(2026, 12, 1, 8, 29, tzinfo=timezone.utc): None,  # 08:29 in London (GMT)
        datetime(2026, 12, 1, 23, 59, tzinfo=timezone.utc): "2026-11-30",
    }
    for moment, expected in moments.items():
        report = _bare_report(settings, lambda m=moment: m)
        period = report.due()
        assert (period.key if period else None) == expected, moment
        if period is not None:
            assert period.start == datetime.fromisoformat(expected).replace(tzinfo=LONDON).astimezone(timezone.utc)
    disabled = _bare_report(_config(enabled=False).reports, Clock())
    assert disabled.due() is None
    assert _bare_report(test_config().reports, Clock()).due() is None  # opt-in: off unless configured
