"""Slack's 429s pause a method (and channel) for every replica; updates coalesce and are paced (item 8).

Time is the harness Clock: a pause ends when the test moves the clock past Retry-After, so what
happens during the pause is counted, never timed.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from slack_standin import SlackStandIn
from storage.models import OutboxStatus
from tests.harness import Clock, eventually, start_bot, stop_bot, test_config
from tests.integration.delivery_support import (
    CHANNEL,
    messages_per_issue,
    notification,
    outbox_items,
    rate_limits,
    send_all,
    top_level_posts,
)

RETRY_AFTER = 30
IN_FLIGHT = 4


def _config(**delivery: Any) -> Any:
    return test_config(
        storm={"threshold": 1000},
        delivery={"channel_messages_per_second": 200, "poll_interval_seconds": 0.05, "lease_seconds": 5, **delivery},
    )


async def _all_waiting_out(bot: Any, method: str) -> bool:
    """The pause is in the database, and every key's next item waits for it to end, none in flight.

    Each replica defers to the end of the pause it knows of (its own 429, or the database's), so
    "waits" is: due no sooner than most of Retry-After from now.
    """
    if not any(key[0] == method for key in await rate_limits(bot)):
        return False
    later = bot.clock() + timedelta(seconds=RETRY_AFTER - 5)
    heads: dict[str, Any] = {}  # the item each ordering key sends next
    for item in await outbox_items(bot):
        if item.status == OutboxStatus.PENDING:
            heads.setdefault(item.ordering_key, item)
    return bool(heads) and all(item.locked_until is None and item.next_attempt_at >= later for item in heads.values())


async def test_a_standing_429_on_posts_pauses_every_replica_until_retry_after(
    database_url: str, standin: SlackStandIn
) -> None:
    """Before: every claimed item called once more and got its own 429 (31 calls/s under a storm)."""
    clock = Clock()
    config = _config(max_in_flight=IN_FLIGHT)
    standin.fail_all("chat.postMessage", status=429, retry_after=RETRY_AFTER)
    replicas = [await start_bot(database_url, standin, config=config, clock=clock) for _ in range(2)]
    try:
        _, accepted = await send_all(replicas[:1], [notification(n) for n in range(30)])
        assert len(accepted) == 30

        async def paused() -> bool:
            return await _all_waiting_out(replicas[0], "chat.postMessage")

        await eventually(paused, what="every post deferred past the pause")
        refused = standin.calls_to("chat.postMessage", include_failed=True)
        assert refused and {call.status for call in refused} == {429}
        # At most what each replica had on its way when the first 429 came back; not one per item.
        assert len(refused) <= 2 * IN_FLIGHT
        assert set(await rate_limits(replicas[0])) == {("chat.postMessage", CHANNEL)}

        standin.clear_failures()
        clock.advance(seconds=RETRY_AFTER + 1)
        for replica in replicas:
            replica.opsbot.worker.wake()
            await replica.outbox_drained(timeout=15)
        assert len(standin.calls_to("chat.postMessage", include_failed=True)) == len(refused) + 30
        shown = messages_per_issue(standin)
        assert len(shown) == 30 and set(shown.values()) == {1}
    finally:
        for replica in replicas:
            await stop_bot(replica)


async def test_a_429_on_updates_pauses_them_and_the_latest_render_wins(database_url: str, standin: SlackStandIn) -> None:
    clock = Clock()
    bot = await start_bot(database_url, standin, config=_config(), clock=clock)
    try:
        await bot.post_webhook("alertmanager", notification(1))
        await bot.outbox_drained()
        [posted] = top_level_posts(standin)
        standin.fail_all("chat.update", status=429, retry_after=RETRY_AFTER)
        for _ in range(5):  # the same alert again: fired 6 times in all
            status, _ = await bot.post_webhook("alertmanager", notification(1))
            assert status == 202

        async def paused() -> bool:
            return await _all_waiting_out(bot, "chat.update")

        await eventually(paused, what="the update deferred past the pause")
        assert len(standin.calls_to("chat.update", include_failed=True)) == 1  # the one that got the 429

        standin.clear_failures()
        clock.advance(seconds=RETRY_AFTER + 1)
        bot.opsbot.worker.wake()
        await bot.outbox_drained()
        [update] = standin.calls_to("chat.update")  # five renders, one update: the latest state
        assert update.args["ts"] == posted.response["ts"]
        assert "*Fired*\\n6×" in json.dumps(update.args["blocks"], ensure_ascii=False)
        assert len(standin.calls_to("chat.update", include_failed=True)) == 2
    finally:
        await stop_bot(bot)


async def test_updates_to_one_channel_are_paced(database_url: str, standin: SlackStandIn) -> None:
    """Like posts: the k-th update of a channel reaches Slack no earlier than k intervals after the first could."""
    per_second = 5
    bot = await start_bot(database_url, standin, config=_config(channel_messages_per_second=per_second))
    try:
        alerts = [notification(n)["alerts"][0] for n in range(4)]
        body = {**notification(0), "alerts": alerts}
        await bot.post_webhook("alertmanager", body)
        await bot.outbox_drained(timeout=10)
        sent = time.time()  # the clock the stand-in stamps calls with
        await bot.post_webhook("alertmanager", body)  # all four again: four updates, one channel
        updates = await standin.wait_for("chat.update", count=4, timeout=10)
        arrived = sorted(update.at - sent for update in updates)
        earliest = [k / per_second - 0.01 for k in range(4)]  # 10 ms for the clocks' rounding
        assert all(at >= bound for at, bound in zip(arrived, earliest)), (arrived, earliest)
    finally:
        await stop_bot(bot)
