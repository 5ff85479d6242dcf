"""/summary as Slack sends it: ack at once, figures ephemerally, the chart uploaded to the asker's DM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import AsyncIterator

import pytest

from slack_standin import SlackStandIn
from slack_standin.signing import slash_command_body
from tests.harness import RunningBot, start_bot, stop_bot, test_config
from tests.integration.test_summary_figures import PERIOD, seed_log

MANAGER = "U0BOSS"


@pytest.fixture
async def managed_bot(database_url: str, standin: SlackStandIn) -> AsyncIterator[RunningBot]:
    running = await start_bot(database_url, standin, config=test_config(roles={"manager": [MANAGER]}))
    yield running
    await stop_bot(running)


async def _ask(bot: RunningBot, text: str, user: str, name: str = "summary") -> str:
    response_url = bot.standin.response_url(name)
    status, _ = await bot.post_slack(slash_command_body("/summary", text, user_id=user, response_url=response_url))
    assert status == 200
    return name


def _text(call) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(call.args.get("blocks") or [], ensure_ascii=False) + call.args.get("text", "")


async def test_a_manager_gets_the_figures_and_the_chart(managed_bot: RunningBot) -> None:
    bot = managed_bot
    async with bot.opsbot.sessionmaker.begin() as session:
        await seed_log(session)
    # How fast the figures come is bench/summary_1m.py's to measure; here: the ack comes first, then
    # the figures, then the chart.
    async with bot.standin.hold("response_url") as answering:
        await _ask(bot, PERIOD, MANAGER)  # Slack has its ack ...
        await answering.wait_for_waiting(1)  # ... while the figures are still held on their way
        assert not bot.standin.calls_to("files.getUploadURLExternal")

    [reply] = await bot.standin.wait_for("response_url")
    assert reply.args["response_type"] == "ephemeral"
    blocks = reply.args["blocks"]
    title = "📊 Summary: 2026-10-01 – 2026-10-10"
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}}
    text = _text(reply)
    for expected in (
        "*Issues logged:* 6   ↑ +3 (was 3)",
        "*Resolved:* 5   ↑ +3 (was 2)",
        "*Open at the end:* 2   ↑ +1 (was 1)",
        "*By priority:* High 2 ↑+1 · Low 2 ↑+1 · Medium 2 ↑+1",
        "avg 4m   ↓ −11m (was 15m) · p90 10m   ↓ −20m (was 30m)",
        "avg 21h 24m   ↑ +17h 54m (was 3h 30m) · p90 3d   ↑ +2d 18h (was 6h)",
        "*Past their resolution target:* 3   ↑ +2 (was 1) (2 resolved late, 1 still open)",
        "_Targets:_ High 4h · Medium 24h · Low 3d",
        "*Auto-fix runs:* 3   ↑ +2 (was 1) · success rate 50% (1 of 2 finished)   ↓ −50 pts (was 100%)",
        "*Escalations:* 2   ↑ +1 (was 1) · by team: dba 1 ↑+1 · developers 1 ↑+1",
        "*First-contact resolution:* 60% (3 of 5 resolved)   ↑ +10 pts (was 50%)",
        "*Self-service (knowledge base):* 50% (2 of 4 questions solved)   ↓ −50 pts (was 100%)",
        "*Satisfaction:* 3.8/5   ↓ −1.2 (was 5.0/5) · helpful 3.0/5 · speed 4.0/5 · professional 4.5/5",
        "*Survey response rate:* 67% (2 of 3 answered)   ↓ −33 pts (was 100%)",
        "1. `DiskFull` fired 7× · 2 issues",
        "Compared with 2026-09-21 – 2026-09-30",
        "resolved without an escalation and never reopened",
    ):
        assert expected in text, expected

    [upload] = await bot.standin.wait_for("files.completeUploadExternal")
    dm_channel = bot.standin.workspace.open_dm(MANAGER)
    assert upload.args["channel_id"] == dm_channel
    [file_id] = [f["id"] for f in upload.args["files"]]
    png = bot.standin.files[file_id]["content"]
    assert png.startswith(b"\x89PNG") and len(png) > 5_000
    assert bot.standin.files[file_id]["filename"] == "summary-2026-10-01..2026-10-10.png"


async def test_a_non_manager_is_refused_once_a_manager_is_configured(managed_bot: RunningBot) -> None:
    await _ask(managed_bot, "week", "U0INTERN")
    [reply] = await managed_bot.standin.wait_for("response_url")
    assert reply.args["text"] == "You need the manager role to read summaries."
    assert "blocks" not in reply.args or not reply.args["blocks"]
    assert not managed_bot.standin.calls_to("files.completeUploadExternal")


async def test_anyone_may_ask_while_no_manager_is_configured(bot: RunningBot) -> None:
    await _ask(bot, "", "U0ANYONE")
    [reply] = await bot.standin.wait_for("response_url")
    assert reply.args["blocks"][0]["text"]["text"].startswith("📊 Summary: ")  # today, by default
    await bot.standin.wait_for("files.completeUploadExternal")


async def test_an_unknown_period_gets_the_accepted_forms(bot: RunningBot) -> None:
    await _ask(bot, "fortnight", "U0ANYONE")
    [reply] = await bot.standin.wait_for("response_url")
    assert "I don't know the period" in reply.args["text"] and "YYYY-MM-DD..YYYY-MM-DD" in reply.args["text"]


async def test_deployment_templates_override_the_bundled_ones(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    (tmp_path / "summary.mrkdwn.j2").write_text(
        "{% block title %}Ops numbers, {{ period.label }}{% endblock %}\n"
        "{% block overview %}We logged {{ cur.logged|count }} issues ({{ trend.logged }}); "
        "busiest category {{ (cur.by_category|list)[0]|mrkdwn }}. {{ '<!channel>'|mrkdwn }}{% endblock %}\n"
    )
    bot = await start_bot(database_url, standin, config=test_config(reports={"templates_dir": str(tmp_path)}))
    try:
        async with bot.opsbot.sessionmaker.begin() as session:
            await seed_log(session)
        await _ask(bot, PERIOD, "U0ANYONE")
        [reply] = await bot.standin.wait_for("response_url")
        blocks = reply.args["blocks"]
        assert blocks[0]["text"]["text"] == "Ops numbers, 2026-10-01 – 2026-10-10"
        overview = "We logged 6 issues (↑ +3 (was 3)); busiest category application. &lt;!channel&gt;"
        assert blocks[1]["text"]["text"] == overview
        assert [b["type"] for b in blocks] == ["header", "section", "context"]  # sections left out are gone
    finally:
        await stop_bot(bot)
