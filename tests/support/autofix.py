"""Helpers for the auto-fix integration tests: a bot with runbooks, alerts that match them, clicks, polling."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, AsyncIterator

from sqlalchemy import select

from slack_standin import SlackStandIn
from slack_standin.signing import block_actions_body
from storage.models import Escalation, Issue, IssueEvent, RunbookRun
from tests.harness import RunningBot, start_bot, stop_bot, test_config

OPERATOR = "U0OPS"
ALERTNAME = "HighErrorRate"


def marker_runbook(marker: Path, **overrides: Any) -> dict[str, Any]:
    """A command runbook that really runs: writes the `service` parameter into `marker`."""
    script = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text(sys.argv[2]); print('restarted', sys.argv[2])"
    runbook: dict[str, Any] = {
        "id": "RB-APP-01",
        "title": "Restart the service",
        "match": {"alertname": ALERTNAME},
        "params": {"service": {"label": "service", "pattern": "[a-z0-9-]{1,40}"}},
        "steps": [
            {"kind": "command", "name": "Restart", "argv": [sys.executable, "-c", script, str(marker), "{{ service }}"]},
            {"kind": "manual", "name": "Watch", "text": "Watch the error rate for five minutes."},
        ],
        "root_cause": "Worker pool wedged after a deploy",
        "category": "application",
    }
    runbook.update(overrides)
    return runbook


@contextlib.asynccontextmanager
async def bot_with_runbooks(
    database_url: str, standin: SlackStandIn, runbooks: list[dict[str, Any]], **config: Any
) -> AsyncIterator[RunningBot]:
    config.setdefault("roles", {"operator": [OPERATOR]})
    config.setdefault("storm", {"threshold": 50})
    bot = await start_bot(database_url, standin, config=test_config(runbooks=runbooks, **config))
    try:
        yield bot
    finally:
        await bot.opsbot.autofix.wait_idle()
        await stop_bot(bot)


def alert(service: str, key: str = "k1", *, status: str = "firing", title: str = ALERTNAME) -> dict[str, Any]:
    return {"title": title, "dedup_key": key, "service": service, "severity": "critical", "status": status}


async def fire(bot: RunningBot, service: str = "checkout", key: str = "k1", **fields: Any) -> int:
    """Fire an alert and wait for its message; returns the new issue's id."""
    status, body = await bot.post_webhook("generic", alert(service, key, **fields))
    assert status == 202 and body["issues_opened"] == 1, body
    await bot.outbox_drained()
    async with bot.opsbot.sessionmaker() as session:
        return (await session.execute(select(Issue.id).order_by(Issue.id.desc()).limit(1))).scalar_one()


async def click_autofix(bot: RunningBot, issue_id: int, user_id: str = OPERATOR, response: str = "r1") -> int:
    body = block_actions_body("issue.autofix", str(issue_id), user_id=user_id, response_url=bot.standin.response_url(response))
    status, _ = await bot.post_slack(body)
    return status


async def runs(bot: RunningBot, issue_id: int | None = None) -> list[RunbookRun]:
    query = select(RunbookRun).order_by(RunbookRun.id)
    if issue_id is not None:
        query = query.where(RunbookRun.issue_id == issue_id)
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(query)).scalars())


async def wait_for_run(bot: RunningBot, status: str, count: int = 1, timeout: float = 10.0) -> list[RunbookRun]:
    async def reached() -> bool:
        return len([run for run in await runs(bot) if run.status == status]) >= count

    await bot.wait_until(reached, timeout)
    await bot.outbox_drained()
    return [run for run in await runs(bot) if run.status == status]


async def wait_for_statuses(bot: RunningBot, expected: list[str], timeout: float = 10.0) -> list[RunbookRun]:
    """Wait until the runs, oldest first, have exactly these statuses."""

    async def reached() -> bool:
        return [run.status for run in await runs(bot)] == expected

    await bot.wait_until(reached, timeout)
    await bot.outbox_drained()
    return await runs(bot)


async def events(bot: RunningBot, issue_id: int) -> list[IssueEvent]:
    async with bot.opsbot.sessionmaker() as session:
        query = select(IssueEvent).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.id)
        return list((await session.execute(query)).scalars())


async def escalations(bot: RunningBot) -> list[Escalation]:
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(select(Escalation).order_by(Escalation.id))).scalars())


async def issue(bot: RunningBot, issue_id: int) -> Issue:
    async with bot.opsbot.sessionmaker() as session:
        found = await session.get(Issue, issue_id)
        assert found is not None
        return found


def thread_texts(bot: RunningBot) -> list[str]:
    return [call.args["text"] for call in bot.standin.calls_to("chat.postMessage") if call.args.get("thread_ts")]


def ephemerals(bot: RunningBot, response: str = "r1") -> list[str]:
    return [call.args.get("text", "") for call in bot.standin.calls_to("response_url") if call.path == f"/response_url/{response}"]
