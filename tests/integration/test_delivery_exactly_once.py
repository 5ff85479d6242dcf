"""Each issue is posted to Slack exactly once: across replicas, under a slow Slack, and across a crash.

Issue 13 items 12 and 9. Counts, never durations: what Slack shows per issue (the stand-in's
messages), and how many chat.postMessage calls made a top-level message.
"""

from __future__ import annotations

import asyncio
import collections
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from slack_standin import SlackStandIn
from storage.database import create_engine, create_sessionmaker
from storage.models import OutboxItem, OutboxStatus, SlackMessage, SlackPostAttempt, utcnow
from storage.repositories.outbox import OutboxRepository
from storage.repositories.outbox import DeliveryClaimRepository
from tests.harness import eventually, start_bot, stop_bot, test_config
from tests.integration.delivery_support import (
    alert_issues,
    crash,
    messages_per_issue,
    notification,
    send_all,
    top_level_posts,
)

ONE_ISSUE_PER_ALERT = {"threshold": 1000}  # no storm grouping: every alert opens its own issue
POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@POSTGRES_ONLY
async def test_claims_hand_out_no_more_items_than_asked_and_each_key_once(database_url: str) -> None:
    """The root cause of item 12, at the repository: concurrent claimers while items keep arriving.

    The old `UPDATE ... WHERE id IN (SELECT ... LIMIT 1 FOR UPDATE SKIP LOCKED)` leased up to 15
    rows per call here (and 54 in the two-replica run), which then waited past their lease.
    """
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    arriving = True
    won: collections.Counter[str] = collections.Counter()
    handed_out: list[int] = []

    async def enqueue() -> None:
        n = 0
        while arriving:
            async with sessionmaker.begin() as session:
                now = utcnow()
                rows = [{"ordering_key": f"issue:{n + k % 3}", "operation": "issue.render", "payload": {},
                         "status": OutboxStatus.PENDING, "created_at": now, "next_attempt_at": now} for k in range(6)]
                await session.execute(insert(OutboxItem), rows)
            n += 3
            await asyncio.sleep(0.005)

    async def claim(worker: str) -> None:
        for _ in range(60):
            async with sessionmaker.begin() as session:
                now = utcnow()
                heads = await OutboxRepository(session).due_heads(now=now, limit=1)
                handed_out.append(len(heads))
                keys = await DeliveryClaimRepository(session).take(
                    [item.ordering_key for item in heads], worker, now=now, until=now + timedelta(minutes=5)
                )
                won.update(keys)

    try:
        writer = asyncio.create_task(enqueue())
        await asyncio.gather(*(claim(f"w{n}") for n in range(4)))
        arriving = False
        await writer
    finally:
        await engine.dispose()
    assert max(handed_out) == 1 and sum(handed_out) > 0
    assert [key for key, times in won.items() if times > 1] == []


@POSTGRES_ONLY
async def test_two_replicas_on_one_postgresql_post_each_issue_once(database_url: str, standin: SlackStandIn) -> None:
    """An HA Alertmanager pair sends every notification to both replicas behind a load balancer.

    Paced at 20 posts/s with a 1 s lease, items wait longer than the lease: what made the other
    replica take them over and post them a second time (item 12), unless claims are per issue,
    renewed while in flight, and the claim hands out no more items than asked for.
    """
    config = test_config(
        storm=ONE_ISSUE_PER_ALERT,
        delivery={"channel_messages_per_second": 20, "poll_interval_seconds": 0.05, "lease_seconds": 1},
    )
    replicas = [await start_bot(database_url, standin, config=config) for _ in range(2)]
    try:
        statuses, accepted = await send_all(replicas, [notification(n) for n in range(120)])
        assert len(accepted) == 120, statuses
        for replica in replicas:
            await replica.outbox_drained(timeout=30)
        issues = set((await alert_issues(replicas[0])).values())
        shown = messages_per_issue(standin)
        assert len(issues) == 120 and set(shown) == issues
        assert [issue for issue, count in shown.items() if count != 1] == []
        assert len(top_level_posts(standin)) == len(issues)
    finally:
        for replica in replicas:
            await stop_bot(replica)


async def test_a_slow_slack_gets_one_post_per_issue(database_url: str, standin: SlackStandIn) -> None:
    """Every post lands but is answered after the client gave up: a retry finds it instead of posting again."""
    config = test_config(
        storm=ONE_ISSUE_PER_ALERT,
        delivery={"channel_messages_per_second": 200, "poll_interval_seconds": 0.05, "lease_seconds": 5,
                  "slack_timeout_seconds": 0.5},
    )  # fmt: skip
    standin.delay("chat.postMessage", seconds=30, times=None)
    bot = await start_bot(database_url, standin, config=config)
    try:
        _, accepted = await send_all([bot], [notification(n) for n in range(8)])
        assert len(accepted) == 8
        await bot.outbox_drained(timeout=20)
        issues = set((await alert_issues(bot)).values())
        shown = messages_per_issue(standin)
        assert set(shown) == issues and set(shown.values()) == {1}
        assert len(top_level_posts(standin)) == len(issues)  # not one second attempt
        lookups = standin.calls_to("conversations.history")
        assert 1 <= len(lookups) <= len(issues)  # one read of the channel serves the look-ups it covers
        assert all(call.args["include_all_metadata"] in ("1", "true") for call in lookups)
        # Found, recorded, then brought up to date in place.
        assert len(standin.calls_to("chat.update")) >= len(issues)
        async with bot.opsbot.sessionmaker() as session:
            assert (await session.execute(select(SlackPostAttempt))).scalars().all() == []
    finally:
        standin.clear_delays()
        await stop_bot(bot)


async def test_a_worker_stopped_after_posting_and_before_recording_does_not_post_again(
    database_url: str, standin: SlackStandIn
) -> None:
    config = test_config(delivery={"channel_messages_per_second": 200, "poll_interval_seconds": 0.05, "lease_seconds": 1})
    first = await start_bot(database_url, standin, config=config)
    standin.delay("chat.postMessage", seconds=60)  # the post lands; its answer would come long after the crash
    status, _ = await first.post_webhook("alertmanager", notification(1))
    assert status == 202
    [posted] = await standin.wait_for("chat.postMessage")  # in Slack, while the worker still waits for the answer
    await crash(first)

    second = await start_bot(database_url, standin, config=config)
    try:
        await second.outbox_drained(timeout=10)  # once the crashed worker's claim has expired
        assert len(top_level_posts(standin)) == 1
        [issue_id] = set((await alert_issues(second)).values())
        assert messages_per_issue(standin) == {issue_id: 1}
        async with second.opsbot.sessionmaker() as session:
            message = (await session.execute(select(SlackMessage))).scalars().one()
        assert (message.issue_id, message.ts) == (issue_id, posted.response["ts"])
        # By name: nothing told this bot the channel's id yet (Slack would want the id to look it up).
        assert standin.workspace.resolve_channel(message.channel) == posted.response["channel"]
        # Known now: the same alert again updates that message.
        await second.post_webhook("alertmanager", notification(1))
        await second.outbox_drained()
        assert len(top_level_posts(standin)) == 1
        assert standin.calls_to("chat.update")[-1].args["ts"] == posted.response["ts"]
    finally:
        await stop_bot(second)


async def test_a_worker_whose_claim_ran_out_mid_delivery_does_not_deliver_the_item_again(
    database_url: str, standin: SlackStandIn
) -> None:
    """The crash storm's repeated thread lines on PostgreSQL: heartbeats lost to deadlocks let a claim
    run out while its post was still in flight, the same worker won the key again and posted the item
    a second time (the fence checks the claim's worker, which was this one both times)."""
    config = test_config(delivery={"channel_messages_per_second": 200, "poll_interval_seconds": 0.05, "lease_seconds": 1})
    bot = await start_bot(database_url, standin, config=config)
    worker = bot.opsbot.worker

    async def heartbeat_lost(every: float) -> None:
        return None

    worker._renew_claims = heartbeat_lost  # type: ignore[method-assign]
    try:
        async with standin.hold("chat.postMessage") as gate:
            status, _ = await bot.post_webhook("alertmanager", notification(1))
            assert status == 202
            await gate.wait_for_waiting(1)  # the post is in flight, unanswered
            async with bot.opsbot.sessionmaker() as session:
                [item] = (await session.execute(select(OutboxItem))).scalars().all()
                first_lease = item.locked_until

            async def claimed_again() -> bool:
                async with bot.opsbot.sessionmaker() as session:
                    again = await session.get(OutboxItem, item.id, populate_existing=True)
                    return again is not None and again.locked_until is not None and again.locked_until > first_lease

            await eventually(claimed_again, what="the worker claims the key again once its lease ran out")
        await bot.outbox_drained(timeout=10)
        assert len(top_level_posts(standin)) == 1
        assert list(messages_per_issue(standin).values()) == [1]
    finally:
        await stop_bot(bot)
