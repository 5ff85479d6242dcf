"""An automatic runbook is requested in the alert's own transaction (an outbox row), so a crash between
that commit and the run does not lose it: the next process starts the run."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.lifecycle import SUPERVISOR
from slack_standin import SlackStandIn
from storage.models import OutboxItem, OutboxStatus, RunbookRunStatus
from tests.harness import start_bot, stop_bot, test_config
from tests.support.autofix import alert, marker_runbook, runs, wait_for_run


async def test_the_bot_killed_between_the_alert_commit_and_the_run_starts_it_after_restart(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    marker = tmp_path / "restarted"
    config = test_config(runbooks=[marker_runbook(marker, auto=True)], storm={"threshold": 50})
    first = await start_bot(database_url, standin, config=config)
    await first.app[SUPERVISOR].kill("delivery")  # the process dies right after the commit: nothing acts on it
    status, body = await first.post_webhook("generic", alert("cart"))
    assert status == 202 and body["issues_opened"] == 1
    async with first.opsbot.sessionmaker() as session:
        [request] = (
            await session.execute(select(OutboxItem).where(OutboxItem.operation == "autofix.start"))
        ).scalars().all()
    assert request.status == OutboxStatus.PENDING and await runs(first) == []
    await stop_bot(first)
    assert not marker.exists()

    second = await start_bot(database_url, standin, config=config)
    try:
        [run] = await wait_for_run(second, RunbookRunStatus.SUCCEEDED)
        assert run.issue_id == request.issue_id and run.trigger == "auto"
        assert marker.read_text() == "cart"
        await second.outbox_drained()
        assert len(await runs(second)) == 1  # started once, however often the request was seen
    finally:
        await second.opsbot.autofix.wait_idle()
        await stop_bot(second)
