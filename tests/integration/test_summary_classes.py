"""/summary counts minor and complex issues, the share of minor issues fixed without a human and the share
escalated, from issues that went through the real paths: an automatic runbook verified by its alert, a
hand escalation, a High alert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slack_standin import SlackStandIn
from slack_standin.signing import slash_command_body
from storage.models import RunbookRunStatus
from tests.harness import RunningBot
from tests.integration.escalation_support import TEAMS, click, get_issue, open_issue, opened_view, submit_escalation
from tests.integration.test_issue_triage import EXAMPLES, disk_space_low
from tests.support.autofix import bot_with_runbooks, marker_runbook, wait_for_run


def _worker_stuck(status: str = "firing") -> dict[str, Any]:
    return {"title": "WorkerStuck", "dedup_key": "w1", "service": "mailer", "severity": "warning", "status": status}


async def _summary(bot: RunningBot) -> str:
    response_url = bot.standin.response_url("summary")
    status, _ = await bot.post_slack(slash_command_body("/summary", "today", user_id="U0BOSS", response_url=response_url))
    assert status == 200
    [reply] = await bot.standin.wait_for("response_url", where=lambda c: "blocks" in c.args)
    return json.dumps(reply.args["blocks"], ensure_ascii=False)


async def test_summary_shows_minor_issues_fixed_without_a_human_and_issues_escalated(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    runbook = marker_runbook(tmp_path / "restarted", id="RB-WORKER-01", match={"alertname": "WorkerStuck"}, auto=True)
    async with bot_with_runbooks(database_url, standin, [runbook], teams=TEAMS) as bot:
        await bot.opsbot.knowledge.get()

        # Minor, fixed by its automatic runbook and verified by its own alert resolving: nobody touched it.
        status, _ = await bot.post_webhook("generic", _worker_stuck())
        assert status == 202
        [run] = await wait_for_run(bot, RunbookRunStatus.SUCCEEDED)
        await bot.post_webhook("generic", _worker_stuck("resolved"))
        await wait_for_run(bot, RunbookRunStatus.VERIFIED)
        fixed = await get_issue(bot, run.issue_id)
        assert (fixed.issue_class, fixed.resolved_by) == ("minor", "generic")

        # Minor (the bundled RB-INF-03 applies), then escalated by hand: complex.
        escalated_id, ts = await open_issue(bot, disk_space_low())
        assert await click(bot, "issue.escalate", escalated_id, "U0BOB", ts=ts) == 200
        await submit_escalation(bot, await opened_view(bot), "U0BOB", team="dba")
        await bot.wait_until(lambda: _is_complex(bot, escalated_id))

        # Complex from the start: High.
        await open_issue(bot, json.loads((EXAMPLES / "alertmanager-firing.json").read_text()))

        text = await _summary(bot)
    assert "*By class:* minor 1 ↑+1 · complex 2 ↑+2" in text
    assert "*Minor issues fixed without a human:* 50% (1 of 2 minor)" in text
    assert "*Issues escalated:* 33% (1 of 3 logged)" in text


async def _is_complex(bot: RunningBot, issue_id: int) -> bool:
    return (await get_issue(bot, issue_id)).issue_class == "complex"
