"""The delivery worker against an unreliable Slack: 429s, 5xx, outages, crashes and restarts."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from slack_standin import SlackStandIn
from storage.models import OutboxItem, OutboxStatus
from tests.harness import RunningBot, fixture_json, start_bot, stop_bot, test_config


async def test_rate_limited_post_is_retried_after_retry_after(bot: RunningBot) -> None:
    bot.standin.fail_next("chat.postMessage", status=429, retry_after=1)
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_amtool_firing.json"))
    await bot.standin.wait_for("chat.postMessage", count=1, timeout=6)
    attempts = bot.standin.calls_to("chat.postMessage", include_failed=True)
    assert [call.status for call in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 0.9  # waited for Retry-After


async def test_server_errors_are_retried_with_backoff(bot: RunningBot) -> None:
    bot.standin.fail_next("chat.postMessage", status=503, times=2)
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_amtool_firing.json"))
    await bot.standin.wait_for("chat.postMessage", count=1, timeout=10)
    statuses = [call.status for call in bot.standin.calls_to("chat.postMessage", include_failed=True)]
    assert statuses == [503, 503, 200]


async def test_permanent_refusal_is_kept_not_retried(bot: RunningBot) -> None:
    bot.standin.fail_next("chat.postMessage", status=200, error="channel_not_found")
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_amtool_firing.json"))

    async def failed() -> bool:
        async with bot.opsbot.sessionmaker() as session:
            items = (await session.execute(select(OutboxItem))).scalars().all()
        return any(item.status == OutboxStatus.FAILED for item in items)

    await bot.wait_until(failed)
    async with bot.opsbot.sessionmaker() as session:
        item = (await session.execute(select(OutboxItem))).scalars().one()
    assert item.last_error == "slack refused: channel_not_found"


async def test_order_per_issue_is_kept_when_slack_hiccups(bot: RunningBot) -> None:
    """The resolve thread reply never overtakes the message it belongs to."""
    bot.standin.fail_next("chat.postMessage", status=503)
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_amtool_firing.json"))
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_amtool_resolved.json"))
    await bot.outbox_drained(timeout=10)
    successful = bot.standin.calls_to("chat.postMessage")
    assert not successful[0].args.get("thread_ts")
    assert successful[1].args.get("thread_ts") == successful[0].response["ts"]


async def test_nothing_is_lost_across_a_slack_outage_and_a_crash(database_url: str, standin: SlackStandIn) -> None:
    config = test_config(delivery={"channel_messages_per_second": 200, "poll_interval_seconds": 0.05, "lease_seconds": 1})
    first = await start_bot(database_url, standin, config=config)
    standin.fail_all("*", status=503)
    firing = fixture_json("alertmanager_real_firing.json")
    status, _ = await first.post_webhook("alertmanager", firing)
    assert status == 202
    await standin.wait_for("chat.postMessage", count=1, include_failed=True)
    # Crash: the process goes away mid-outage, with work still pending.
    first.opsbot.worker.wake()
    await stop_bot(first)
    assert standin.calls_to("chat.postMessage") == []

    standin.clear_failures()
    second = await start_bot(database_url, standin, config=config)
    try:
        await second.outbox_drained(timeout=15)
        posts = standin.calls_to("chat.postMessage")
        assert len([c for c in posts if not c.args.get("thread_ts")]) == 2
        # The same alerts again after the restart: updates, no new messages.
        await second.post_webhook("alertmanager", firing)
        await second.outbox_drained(timeout=10)
        assert len(standin.calls_to("chat.postMessage")) == 2
        assert len(standin.calls_to("chat.update")) >= 2
    finally:
        await stop_bot(second)


async def test_posts_to_one_channel_are_paced(database_url: str, standin: SlackStandIn) -> None:
    config = test_config(
        storm={"threshold": 100},
        delivery={"channel_messages_per_second": 5, "poll_interval_seconds": 0.05, "lease_seconds": 5},
    )
    running = await start_bot(database_url, standin, config=config)
    try:
        for n in range(6):
            await running.post_webhook("generic", {"title": f"Check {n}", "dedup_key": f"k{n}"})
        posts = await standin.wait_for("chat.postMessage", count=6, timeout=10)
        gaps = [b.at - a.at for a, b in zip(posts, posts[1:])]
        assert min(gaps) >= 0.15  # ~5/s, never a burst
    finally:
        await stop_bot(running)


async def test_worker_shutdown_is_prompt(bot: RunningBot) -> None:
    started = asyncio.get_running_loop().time()
    await bot.runner.cleanup()
    assert asyncio.get_running_loop().time() - started < 5
