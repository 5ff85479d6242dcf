"""The delivery worker against an unreliable Slack: 429s, 5xx, outages, crashes and restarts."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from slack_standin import SlackStandIn
from storage.models import OutboxItem, OutboxStatus, SlackMessage
from bot.lifecycle import SUPERVISOR
from tests.harness import RunningBot, fixture_json, start_bot, stop_bot, test_config

HANG_GUARD_SECONDS = 60  # longer than the app's own shutdown fallbacks (10 s, 15 s), so those show as failures


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
    """The pacer gives a channel's k-th post a slot k intervals after the first one's.

    So the k-th post reaches Slack no earlier than k intervals after the alerts were sent. A busy
    machine only makes posts later, which this bound allows; gaps between two arrivals prove
    nothing (a late post and an on-time one arrive together). Without pacing, the six posts of
    one webhook go out at once, well inside the second this asks them to spread over.
    """
    per_second = 5
    config = test_config(
        storm={"threshold": 100},
        delivery={"channel_messages_per_second": per_second, "poll_interval_seconds": 0.05, "lease_seconds": 5},
    )
    running = await start_bot(database_url, standin, config=config)
    try:
        alerts = [{"title": f"Check {n}", "dedup_key": f"k{n}"} for n in range(6)]
        sent = time.time()  # the clock the stand-in stamps calls with
        status, answer = await running.post_webhook("generic", {"alerts": alerts})
        assert status == 202 and answer["issues_opened"] == 6, answer
        posts = await standin.wait_for("chat.postMessage", count=6, timeout=15)
        assert {post.args["channel"] for post in posts} == {standin.workspace.resolve_channel("#alerts")}
        arrived = sorted(post.at - sent for post in posts)
        earliest = [k / per_second - 0.01 for k in range(6)]  # 10 ms for the clocks' rounding
        assert all(at >= bound for at, bound in zip(arrived, earliest)), (arrived, earliest)
    finally:
        await stop_bot(running)


async def test_shutdown_finishes_the_delivery_in_flight_and_the_worker_stops_by_itself(
    database_url: str, standin: SlackStandIn
) -> None:
    bot = await start_bot(database_url, standin)
    worker = bot.app[SUPERVISOR].task("delivery")
    async with standin.hold("chat.postMessage") as slack:
        status, _ = await bot.post_webhook("generic", {"title": "Disk full", "dedup_key": "d1"})
        assert status == 202
        await slack.wait_for_waiting(1)  # the message is on its way and Slack has not answered
        shutdown = asyncio.create_task(stop_bot(bot))

        async def stopped_listening() -> bool:
            return not bot.runner.sites

        await bot.wait_until(stopped_listening)  # shutdown is under way
        assert not shutdown.done() and not worker.done()  # shutdown waits for the delivery in flight
    # Released: Slack answers, the worker records it and returns; a worker that ignored its stop
    # would be cancelled by the app's fallback instead. The guard only keeps a hang from lasting.
    await asyncio.wait_for(shutdown, timeout=HANG_GUARD_SECONDS)
    assert worker.done() and not worker.cancelled() and worker.exception() is None
    assert len(standin.calls_to("chat.postMessage")) == 1

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            statuses = (await connection.execute(select(OutboxItem.status))).scalars().all()
            messages = (await connection.execute(select(SlackMessage.ts))).scalars().all()
    finally:
        await engine.dispose()
    assert statuses == [OutboxStatus.DONE]  # recorded before the database closed: no repost on restart
    assert messages == [standin.calls_to("chat.postMessage")[0].response["ts"]]
