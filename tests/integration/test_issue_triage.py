"""Categories and classes out of the box: the bundled sample alerts open issues in the right category and
class with no config, the config overrides, a root cause moves the category, escalation and a failed
auto-fix turn a minor issue complex — through webhooks and signed Slack requests, as in production."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from slack_standin import SlackStandIn
from storage.models import Issue, IssueEvent, RunbookRunStatus
from tests.harness import RunningBot, fixture_json, start_bot, stop_bot, test_config
from tests.integration.escalation_support import (  # noqa: F401 - team_bot is a fixture
    alertmanager_body,
    click,
    get_issue,
    issue_events,
    open_issue,
    opened_view,
    select_state,
    submit_escalation,
    submit_view,
    team_bot,
)
from tests.support.autofix import bot_with_runbooks, wait_for_run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def disk_space_low(fingerprint: str = "disk01") -> dict[str, Any]:
    """A node_exporter DiskSpaceLow at warning, labelled as Prometheus sends it (no `category` label)."""
    body = alertmanager_body("DiskSpaceLow", fingerprint=fingerprint)
    labels = {"alertname": "DiskSpaceLow", "instance": "web-1:9100", "job": "node", "mountpoint": "/var",
              "severity": "warning"}
    body["alerts"][0]["labels"] = body["commonLabels"] = labels
    body["alerts"][0]["annotations"] = {"summary": "/var on web-1 is 91% full"}
    return body


async def _ready(bot: RunningBot) -> None:
    await bot.opsbot.knowledge.get()  # the article lookup answers once the first load is in


async def _newest_issue(bot: RunningBot) -> Issue:
    async with bot.opsbot.sessionmaker() as session:
        return (await session.execute(select(Issue).order_by(Issue.id.desc()).limit(1))).scalar_one()


async def _opened(bot: RunningBot, issue_id: int) -> dict[str, Any]:
    [opened] = [event for event in await issue_events(bot, issue_id) if event.kind == "opened"]
    return opened.detail


async def _fire(bot: RunningBot, source: str, body: Any) -> Issue:
    status, answer = await bot.post_webhook(source, body)
    assert status == 202 and answer["issues_opened"] >= 1, answer
    await bot.outbox_drained()
    return await _newest_issue(bot)


def _message_text(bot: RunningBot, issue_id: int) -> str:
    """The issue's message in #alerts as it is now (its fields say category and class)."""
    field = f'*Issue*\\n#{issue_id}"'
    [text] = [t for m in bot.standin.messages("#alerts") if field in (t := json.dumps(m, ensure_ascii=False))]
    return text


def _runbook_for(bot: RunningBot, labels: dict[str, str]) -> str | None:
    runbook = bot.opsbot.autofix.catalog.runbook_for([labels])
    return runbook.id if runbook else None


async def test_bundled_sample_alerts_open_in_their_category_and_class_with_no_config(bot: RunningBot) -> None:
    await _ready(bot)
    sample = json.loads((EXAMPLES / "alertmanager-firing.json").read_text())
    issue = await _fire(bot, "alertmanager", sample)  # HighErrorRate, critical
    assert (issue.category, issue.issue_class, issue.priority) == ("application", "complex", "High")
    opened = await _opened(bot, issue.id)
    assert (opened["category"], opened["category_from"], opened["issue_class"]) == ("application", "article", "complex")
    text = _message_text(bot, issue.id)
    assert "*Category*\\napplication" in text and "*Class*\\nComplex" in text

    issue = await _fire(bot, "alertmanager", disk_space_low())  # warning, and the library has RB-INF-03
    assert (issue.category, issue.issue_class, issue.priority) == ("infrastructure", "minor", "Medium")
    assert _runbook_for(bot, disk_space_low()["commonLabels"]) == "RB-INF-03"
    assert "*Class*\\nMinor" in _message_text(bot, issue.id)

    issue = await _fire(bot, "alertmanager", fixture_json("alertmanager_real_amtool_firing.json"))  # DiskFull
    assert (issue.category, issue.issue_class) == ("infrastructure", "minor")

    issue = await _fire(bot, "grafana", fixture_json("grafana_webhook_firing_docs.json"))  # "High CPU usage"
    assert issue.category == "infrastructure" and (await _opened(bot, issue.id))["category_from"] == "built-in rule"

    async with bot.opsbot.sessionmaker() as session:
        categories = dict((await session.execute(select(Issue.title, Issue.category))).all())
    assert "other" not in categories.values(), categories


async def test_the_config_still_overrides(database_url: str, standin: SlackStandIn) -> None:
    rules = [{"match": {"alertname": "HighErrorRate"}, "category": "database"}]
    bot = await start_bot(database_url, standin, config=test_config(categories=rules))
    try:
        await _ready(bot)
        issue = await _fire(bot, "alertmanager", json.loads((EXAMPLES / "alertmanager-firing.json").read_text()))
        assert issue.category == "database" and (await _opened(bot, issue.id))["category_from"] == "config"
        issue = await _fire(bot, "alertmanager", disk_space_low())  # no rule for it: the defaults still apply
        assert issue.category == "infrastructure"
    finally:
        await stop_bot(bot)


def _resolution(category: str) -> dict[str, Any]:
    return {
        "resolve.resolution": {"resolve.resolution": "Moved the WAL archive off /var"},
        "resolve.root_cause_category": {"resolve.root_cause_category": select_state(category)},
        "resolve.root_cause": {"resolve.root_cause": "Postgres WAL archiving was stuck"},
    }


async def test_a_root_cause_category_moves_the_issue_and_the_timeline_keeps_the_first(bot: RunningBot) -> None:
    await _ready(bot)
    issue_id, ts = await open_issue(bot, disk_space_low())
    assert (await get_issue(bot, issue_id)).category == "infrastructure"

    assert await click(bot, "issue.resolve", issue_id, "U0BOB", ts=ts) == 200
    view = await opened_view(bot)
    status, _ = await submit_view(bot, view, _resolution("database"), "U0BOB")
    assert status == 200
    await bot.wait_until(lambda: _resolved(bot, issue_id))
    await bot.outbox_drained()

    issue = await get_issue(bot, issue_id)
    assert (issue.category, issue.root_cause_category) == ("database", "database")
    kinds = [event.kind for event in await issue_events(bot, issue_id)]
    assert kinds.index("opened") < kinds.index("resolved") < kinds.index("category_changed")
    [changed] = [event for event in await issue_events(bot, issue_id) if event.kind == "category_changed"]
    assert changed.actor == "U0BOB" and changed.detail == {"from": "infrastructure", "to": "database", "why": "root_cause"}
    assert (await _opened(bot, issue_id))["category"] == "infrastructure"
    assert "*Category*\\ndatabase" in _message_text(bot, issue_id)


async def _resolved(bot: RunningBot, issue_id: int) -> bool:
    return not (await get_issue(bot, issue_id)).is_open


async def test_escalating_turns_a_minor_issue_complex(team_bot: RunningBot) -> None:
    bot = team_bot
    await _ready(bot)
    issue_id, ts = await open_issue(bot, disk_space_low())
    assert (await get_issue(bot, issue_id)).issue_class == "minor"

    assert await click(bot, "issue.escalate", issue_id, "U0BOB", ts=ts) == 200
    status, _ = await submit_escalation(bot, await opened_view(bot), "U0BOB", team="dba", urgency="low")
    assert status == 200
    await bot.wait_until(lambda: _has_event(bot, issue_id, "reclassified"))
    await bot.outbox_drained()

    assert (await get_issue(bot, issue_id)).issue_class == "complex"
    events = await issue_events(bot, issue_id)
    kinds = [event.kind for event in events]
    assert kinds.index("escalated") < kinds.index("reclassified")
    [reclassified] = [event for event in events if event.kind == "reclassified"]
    assert reclassified.actor == "U0BOB" and reclassified.detail == {
        "from": "minor", "to": "complex", "reason": "escalated to DBAs"
    }
    assert "*Class*\\nComplex" in _message_text(bot, issue_id)

    # Escalating again changes nothing more: complex stays complex, one reclassification.
    assert await click(bot, "issue.escalate", issue_id, "U0BOB", ts=ts, reply_to="r2") == 200
    await submit_escalation(bot, await opened_view(bot, count=2), "U0BOB", team="developers")
    await bot.wait_until(lambda: _count_events(bot, issue_id, "escalated", 2))
    assert [e.kind for e in await issue_events(bot, issue_id)].count("reclassified") == 1


async def _has_event(bot: RunningBot, issue_id: int, kind: str) -> bool:
    return await _count_events(bot, issue_id, kind, 1)


async def _count_events(bot: RunningBot, issue_id: int, kind: str, count: int) -> bool:
    async with bot.opsbot.sessionmaker() as session:
        query = select(IssueEvent.id).where(IssueEvent.issue_id == issue_id, IssueEvent.kind == kind)
        return len((await session.execute(query)).all()) >= count


def failing_runbook() -> dict[str, Any]:
    """An automatic runbook for QueueBacklogHigh whose only step fails."""
    return {
        "id": "RB-QUEUE-01", "title": "Drain the queue", "match": {"alertname": "QueueBacklogHigh"}, "auto": True,
        "steps": [{"kind": "command", "name": "Drain", "argv": [sys.executable, "-c", "import sys; sys.exit(3)"]}],
    }


async def test_a_failed_auto_fix_turns_a_minor_issue_complex(database_url: str, standin: SlackStandIn) -> None:
    async with bot_with_runbooks(database_url, standin, [failing_runbook()]) as bot:
        backlog = {"title": "QueueBacklogHigh", "dedup_key": "q1", "service": "mailer", "severity": "warning",
                   "status": "firing"}
        status, _ = await bot.post_webhook("generic", backlog)
        assert status == 202
        issue = await _newest_issue(bot)
        assert issue.issue_class == "minor"  # opened minor: a runbook applies, Medium
        await wait_for_run(bot, RunbookRunStatus.FAILED)
        await bot.wait_until(lambda: _has_event(bot, issue.id, "reclassified"))
        assert (await get_issue(bot, issue.id)).issue_class == "complex"
        [reclassified] = [e for e in await issue_events(bot, issue.id) if e.kind == "reclassified"]
        assert reclassified.actor == "opsbot" and reclassified.detail["reason"] == "auto-fix failed"
