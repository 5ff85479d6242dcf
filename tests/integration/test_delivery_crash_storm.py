"""A storm through a misbehaving Slack and two crashes: every accepted alert's issue is shown exactly once.

2,000 alerts (150 storm notifications of 10 alerts, 250 notifications of 2 alerts with names of
their own) reach three bots in turn on one database: the first while Slack answers 429, then
accepts, then answers 500, and is killed mid-delivery; the second while Slack stores posts but
answers after the client has given up, and is killed with those posts unrecorded; the third
delivers the rest. Counted in the stand-in: top-level messages per issue, thread lines per
outbox item.
"""

from __future__ import annotations

import collections
from typing import Any

from slack_standin import SlackStandIn
from tests.harness import RunningBot, start_bot, stop_bot, test_config
from tests.integration.delivery_support import (
    CHANNEL,
    alert_issues,
    crash,
    messages_per_issue,
    notification,
    send_all,
    top_level_posts,
)

STORMS, STORM_SIZE, PAIRS = 150, 10, 250  # 1,500 + 500 = 2,000 alerts


def _bodies() -> list[dict[str, Any]]:
    bodies = []
    for storm in range(STORMS):
        alerts = [notification(storm * STORM_SIZE + k, name=f"Storm{storm}")["alerts"][0] for k in range(STORM_SIZE)]
        bodies.append({**notification(storm * STORM_SIZE, name=f"Storm{storm}"), "alerts": alerts})
    first = STORMS * STORM_SIZE
    for pair in range(PAIRS):
        alerts = [notification(first + 2 * pair + k)["alerts"][0] for k in range(2)]
        bodies.append({**notification(first + 2 * pair), "alerts": alerts})
    return bodies[0::3] + bodies[1::3] + bodies[2::3]  # storms and pairs mixed in every third


def _calls(standin: SlackStandIn, status: int) -> int:
    return sum(1 for call in standin.calls_to("chat.postMessage", include_failed=True) if call.status == status)


def _thread_lines_per_item(standin: SlackStandIn) -> collections.Counter[int]:
    lines: collections.Counter[int] = collections.Counter()
    for message in standin.messages(CHANNEL):
        for reply in message.get("replies", []):
            payload = (reply.get("metadata") or {}).get("event_payload") or {}
            if "outbox_id" in payload:
                lines[int(payload["outbox_id"])] += 1
    return lines


async def test_a_storm_through_429s_500s_slow_answers_and_two_crashes_shows_every_issue_once(
    database_url: str, standin: SlackStandIn
) -> None:
    config = test_config(
        delivery={"channel_messages_per_second": 200, "poll_interval_seconds": 0.05, "lease_seconds": 1,
                  "slack_timeout_seconds": 0.5},
    )  # fmt: skip
    bodies = _bodies()
    third = len(bodies) // 3
    accepted: set[str] = set()
    bot: RunningBot | None = None
    try:
        # 1. Rate limited, then fine, then failing: killed while posts fail with 500.
        standin.fail_all("chat.postMessage", status=429, retry_after=1)
        bot = await start_bot(database_url, standin, config=config)
        _, taken = await send_all([bot], bodies[:third])
        accepted |= taken
        await standin.wait_for("chat.postMessage", count=5, include_failed=True, timeout=20)
        standin.clear_failures()
        await standin.wait_for("chat.postMessage", count=60, timeout=20)
        standin.fail_all("chat.postMessage", status=500)
        await standin.wait_for("chat.postMessage", count=_calls(standin, 500) + 10, include_failed=True,
                               where=lambda call: call.status == 500, timeout=20)
        await crash(bot)
        bot = None

        # 2. Slow: posts land, answers come after the client gave up; killed with those unrecorded.
        standin.clear_failures()
        standin.delay("chat.postMessage", seconds=30, times=None)
        landed = len(standin.calls_to("chat.postMessage"))
        bot = await start_bot(database_url, standin, config=config)
        _, taken = await send_all([bot], bodies[third:2 * third])
        accepted |= taken
        await standin.wait_for("chat.postMessage", count=landed + 40, timeout=20)
        await crash(bot)
        bot = None

        # 3. Slack is well again: the last bot delivers everything.
        standin.clear_delays()
        bot = await start_bot(database_url, standin, config=config)
        _, taken = await send_all([bot], bodies[2 * third:])
        accepted |= taken
        await bot.outbox_drained(timeout=60)

        issue_of = await alert_issues(bot)
        shown = messages_per_issue(standin)
        wanted = {issue_of.get(fingerprint) for fingerprint in accepted}
        lost = sorted(fingerprint for fingerprint in accepted if shown.get(issue_of.get(fingerprint) or 0, 0) == 0)
        duplicated = sorted(issue for issue, count in shown.items() if count > 1)
        print(
            f"\nstorm: {len(accepted)} alerts accepted, {len(wanted)} issues, "
            f"{sum(1 for issue in wanted if shown.get(issue or 0) == 1)} shown once, "
            f"{len(lost)} alerts lost, {len(duplicated)} issues duplicated; "
            f"chat.postMessage 429={_calls(standin, 429)} 500={_calls(standin, 500)} "
            f"top-level posts={len(top_level_posts(standin))}, "
            f"history reads={len(standin.calls_to('conversations.history'))}"
        )
        assert len(accepted) == STORMS * STORM_SIZE + 2 * PAIRS
        assert lost == [] and duplicated == []
        assert set(shown) == {issue for issue in issue_of.values() if issue is not None}
        repeated_lines = [item for item, count in _thread_lines_per_item(standin).items() if count > 1]
        assert repeated_lines == []
    finally:
        standin.clear_failures()
        standin.clear_delays()
        if bot is not None:
            await stop_bot(bot)
