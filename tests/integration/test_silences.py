"""Silence from Slack, against a real Alertmanager (Debian's prometheus-alertmanager): it delivers its alerts to
the bot, the Silence menu creates the silence there, Lift expires it, and refusals are told, never crashes."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import select

from slack_standin import SlackStandIn
from storage.models import Issue
from tests.harness import WEBHOOK_TOKEN, RunningBot, start_bot, stop_bot, test_config
from tests.integration.escalation_support import alertmanager_body, click, issue_events, opened_view, submit_view
from tests.integration.silence_support import (
    alertmanager_silence,
    alertmanager_silences,
    choose,
    message_now,
    run_expiry_job,
    silences_of,
)
from tests.support.alertmanager import AlertmanagerServer, alertmanager_factory  # noqa: F401 - fixture
from tests.support.processes import free_port

LABELS = {"alertname": "DiskFull", "service": "db", "severity": "warning", "instance": "db-1:9100"}
ALERTS = [{"labels": LABELS, "annotations": {"summary": "Disk almost full on db-1"}}]
EXACT = [
    {"name": name, "value": LABELS[name], "isRegex": False, "isEqual": True}
    for name in ("alertname", "instance", "service", "severity")
]

pytestmark = pytest.mark.alertmanager


@pytest.fixture
async def am_bot(database_url: str, standin: SlackStandIn, alertmanager_factory) -> AsyncIterator[RunningBot]:  # noqa: F811
    """A bot whose config lists the Alertmanager that delivers to it (the bot's port is chosen first)."""
    port = free_port()
    alertmanager = alertmanager_factory(f"http://127.0.0.1:{port}/webhooks/alertmanager", WEBHOOK_TOKEN)
    config = test_config(alertmanager={"urls": [alertmanager.url]})
    running = await start_bot(database_url, standin, config=config, port=port)
    running.extra["alertmanager"] = alertmanager
    yield running
    await stop_bot(running)


async def _fired(bot: RunningBot) -> tuple[int, str, str]:
    """Alertmanager fires the alert at the bot: (issue id, channel id, message ts)."""
    alertmanager: AlertmanagerServer = bot.extra["alertmanager"]
    await asyncio.to_thread(alertmanager.post_alerts, ALERTS)
    [post] = await bot.standin.wait_for("chat.postMessage", count=1, timeout=20)
    await bot.outbox_drained()
    async with bot.opsbot.sessionmaker() as session:
        issue_id = (await session.execute(select(Issue.id))).scalar_one()
    return issue_id, post.response["channel"], post.response["ts"]


async def _updated(bot: RunningBot, containing: str, *, absent: bool = False) -> dict[str, Any]:
    def shows(call: Any) -> bool:
        return (containing not in json.dumps(call.args["blocks"])) if absent else containing in json.dumps(call.args["blocks"])

    calls = await bot.standin.wait_for("chat.update", where=shows, timeout=10)
    return calls[-1].args


async def test_silence_for_an_hour_then_lift_it_in_the_real_alertmanager(am_bot: RunningBot) -> None:
    bot = am_bot
    alertmanager: AlertmanagerServer = bot.extra["alertmanager"]
    issue_id, channel, ts = await _fired(bot)
    menu = message_now(bot, channel, ts)
    assert "silence.choose" in menu and f'"{issue_id}:1h"' in menu and "snooze.choose" in menu

    assert await choose(bot, "silence.choose", issue_id, "1h", "U0BOB", channel_id=channel, ts=ts) == 200
    await bot.wait_until(lambda: _has_silence(bot, issue_id))
    [row] = await silences_of(bot, issue_id)
    assert row.ends_at - row.starts_at == timedelta(hours=1) and row.created_by == "U0BOB"
    assert row.alertmanager_url == alertmanager.url and row.matchers == EXACT

    [silence] = [s for s in await asyncio.to_thread(alertmanager_silences, alertmanager.url) if s["id"] == row.silence_id]
    assert silence["status"]["state"] == "active"
    assert sorted(silence["matchers"], key=lambda m: m["name"]) == EXACT
    assert silence["createdBy"] == "user-u0bob (Slack U0BOB)"
    assert silence["comment"].startswith(f"opsbot issue #{issue_id}: Disk almost full on db-1 https://")
    assert f"/archives/{channel}/p{ts.replace('.', '')}" in silence["comment"]  # the message's permalink
    assert silence["endsAt"] == row.ends_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    expiry = f"<!date^{int(row.ends_at.timestamp())}^{{time}}|"
    message = await _updated(bot, "Silenced in Alertmanager until")
    shown = json.dumps(message["blocks"])
    assert expiry in shown and "by <@U0BOB>" in shown and "silence.lift" in shown and "silence.choose" not in shown
    [line] = await bot.standin.wait_for("chat.postMessage", where=lambda c: c.args.get("thread_ts") == ts)
    assert line.args["text"].startswith("🔕 <@U0BOB> silenced `alertname=\"DiskFull\"")
    [silenced] = [e for e in await issue_events(bot, issue_id) if e.kind == "silenced"]
    assert silenced.actor == "U0BOB" and silenced.detail["silence_id"] == row.silence_id

    assert await click(bot, "silence.lift", issue_id, "U0CAROL", ts=ts) == 200
    await bot.wait_until(lambda: _silence_ended(bot, issue_id))
    lifted = await asyncio.to_thread(alertmanager_silence, alertmanager.url, row.silence_id)
    assert lifted["status"]["state"] == "expired"
    message = await _updated(bot, "Silenced in Alertmanager", absent=True)
    assert "silence.choose" in json.dumps(message["blocks"])  # it can be silenced again
    [row] = await silences_of(bot, issue_id)
    assert row.ended_by == "U0CAROL"
    kinds = [e.kind for e in await issue_events(bot, issue_id)]
    assert kinds.index("silenced") < kinds.index("silence_lifted")


async def test_custom_silence_checks_its_input_in_the_modal(am_bot: RunningBot) -> None:
    bot = am_bot
    alertmanager: AlertmanagerServer = bot.extra["alertmanager"]
    issue_id, channel, ts = await _fired(bot)
    await choose(bot, "silence.choose", issue_id, "custom", "U0BOB", channel_id=channel, ts=ts)
    view = await opened_view(bot)
    assert "alertname=\\\"DiskFull\\\"" in json.dumps(view["blocks"]) and alertmanager.url in json.dumps(view["blocks"])

    status, answer = await submit_view(bot, view, _custom("next tuesday"), "U0BOB")
    assert status == 200 and answer["response_action"] == "errors" and list(answer["errors"]) == ["silence.duration"]
    status, answer = await submit_view(bot, view, _custom("45d"), "U0BOB")
    assert answer["response_action"] == "errors" and "At most 30d" in answer["errors"]["silence.duration"]
    assert await silences_of(bot, issue_id) == [] and await asyncio.to_thread(alertmanager_silences, alertmanager.url) == []

    status, answer = await submit_view(bot, view, _custom("90m", "Disk swap tonight"), "U0BOB")
    assert status == 200 and answer == ""
    await bot.wait_until(lambda: _has_silence(bot, issue_id))
    [row] = await silences_of(bot, issue_id)
    assert row.ends_at - row.starts_at == timedelta(minutes=90)
    [silence] = await asyncio.to_thread(alertmanager_silences, alertmanager.url)
    assert silence["id"] == row.silence_id and silence["comment"].endswith("\nDisk swap tonight")
    await _updated(bot, "Silenced in Alertmanager until")


async def test_a_silence_that_runs_out_leaves_the_message(am_bot: RunningBot) -> None:
    bot = am_bot
    issue_id, channel, ts = await _fired(bot)
    await choose(bot, "silence.choose", issue_id, "1h", "U0BOB", channel_id=channel, ts=ts)
    await bot.wait_until(lambda: _has_silence(bot, issue_id))
    await _updated(bot, "Silenced in Alertmanager until")

    bot.clock.advance(minutes=59)
    assert await run_expiry_job(bot) == 0
    bot.clock.advance(minutes=2)
    assert await run_expiry_job(bot) == 1
    assert await run_expiry_job(bot) == 0  # noted once
    await bot.standin.wait_for("chat.postMessage", where=lambda c: "silence ran out" in c.args.get("text", ""))
    await _updated(bot, "Silenced in Alertmanager", absent=True)
    [row] = await silences_of(bot, issue_id)
    assert row.ended_by == "expired"
    assert "silence_expired" in [e.kind for e in await issue_events(bot, issue_id)]


async def test_refusals_are_told_to_the_clicker_and_nothing_is_recorded(am_bot: RunningBot) -> None:
    bot = am_bot
    alertmanager: AlertmanagerServer = bot.extra["alertmanager"]

    # An externalURL the config does not list: opsbot calls nothing, and says how to allow it.
    body = alertmanager_body("NotListed", fingerprint="x1")
    body["externalURL"] = "http://169.254.169.254/latest"
    await bot.post_webhook("alertmanager", body)
    await bot.outbox_drained()
    await choose(bot, "silence.choose", 1, "1h", "U0BOB", reply_to="listed")
    [reply] = await bot.standin.wait_for("response_url", where=lambda c: c.path.endswith("/listed"))
    assert "alertmanager.urls" in reply.args["text"] and "169.254.169.254" in reply.args["text"]

    # Alertmanager refuses (a label name it does not accept, from a webhook sent straight to the bot).
    body = alertmanager_body("BadLabel", fingerprint="x2")
    body["externalURL"] = alertmanager.url
    body["alerts"][0]["labels"]["not-a-label"] = "x"
    await bot.post_webhook("alertmanager", body)
    await bot.outbox_drained()
    await choose(bot, "silence.choose", 2, "4h", "U0BOB", reply_to="refused")
    [reply] = await bot.standin.wait_for("response_url", where=lambda c: c.path.endswith("/refused"))
    assert f"Alertmanager at {alertmanager.url} refused to create the silence (HTTP 4" in reply.args["text"]

    # Alertmanager down: a listed URL where nothing answers.
    await asyncio.to_thread(alertmanager.stop)
    await choose(bot, "silence.choose", 2, "24h", "U0BOB", reply_to="down")
    [reply] = await bot.standin.wait_for("response_url", where=lambda c: c.path.endswith("/down"), timeout=15)
    assert "is unreachable" in reply.args["text"] and "nothing changed there" in reply.args["text"]

    # Forged or stale menu values and people without the role are refused the same way.
    await choose(bot, "silence.choose", 999, "1h", "U0BOB", reply_to="gone")
    [reply] = await bot.standin.wait_for("response_url", where=lambda c: c.path.endswith("/gone"))
    assert "Issue #999 does not exist" in reply.args["text"]
    assert await silences_of(bot, 1) == [] and await silences_of(bot, 2) == []


def _custom(duration: str, comment: str = "") -> dict[str, Any]:
    return {"silence.duration": {"silence.duration": duration}, "silence.comment": {"silence.comment": comment}}


async def _has_silence(bot: RunningBot, issue_id: int) -> bool:
    return bool(await silences_of(bot, issue_id))


async def _silence_ended(bot: RunningBot, issue_id: int) -> bool:
    return all(row.ended_at is not None for row in await silences_of(bot, issue_id))
