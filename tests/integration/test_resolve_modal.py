"""Resolve asks for the resolution and root cause in a modal; Reopen brings the issue back."""

from __future__ import annotations

import json
from typing import Any

from storage.models import IssueStatus
from tests.harness import RunningBot
from tests.integration.escalation_support import (
    click,
    get_issue,
    issue_events,
    open_issue,
    opened_view,
    select_state,
    submit_view,
)


def _values(resolution: str, category: str | None, root_cause: str = "") -> dict[str, Any]:
    return {
        "resolve.resolution": {"resolve.resolution": resolution},
        "resolve.root_cause_category": {
            "resolve.root_cause_category": select_state(category) if category else {"type": "static_select", "selected_option": None}
        },
        "resolve.root_cause": {"resolve.root_cause": root_cause},
    }


async def _latest_update(bot: RunningBot, containing: str) -> dict[str, Any]:
    [*_, update] = await bot.standin.wait_for("chat.update", where=lambda c: containing in json.dumps(c.args["blocks"]))
    return update.args


async def test_resolve_modal_records_resolution_and_root_cause(bot: RunningBot) -> None:
    issue_id, ts = await open_issue(bot)
    async with bot.standin.hold("views.open") as opening:
        assert await click(bot, "issue.resolve", issue_id, "U0BOB", ts=ts) == 200  # Slack has its ack ...
        await opening.wait_for_waiting(1)  # ... while the modal is still held on its way
    view = await opened_view(bot)
    category = next(b for b in view["blocks"] if b.get("block_id") == "resolve.root_cause_category")
    assert category["element"]["initial_option"]["value"] == "database"
    assert await get_issue(bot, issue_id) is not None and (await get_issue(bot, issue_id)).is_open

    status, answer = await submit_view(
        bot, view, _values("Killed the runaway batch job; replica caught up", "application", "Batch job held a lock"),
        "U0BOB",
    )
    assert status == 200 and answer == ""
    message = await _latest_update(bot, "Resolved after")
    text = json.dumps(message["blocks"])
    assert "by <@U0BOB>" in text and "Killed the runaway batch job" in text
    assert "*Root cause:* (application) Batch job held a lock" in text and "issue.reopen" in text

    issue = await get_issue(bot, issue_id)
    assert issue.status == IssueStatus.RESOLVED and issue.resolved_by == "U0BOB"
    assert (issue.root_cause, issue.root_cause_category) == ("Batch job held a lock", "application")
    assert issue.resolution_seconds is not None
    [resolved] = [e for e in await issue_events(bot, issue_id) if e.kind == "resolved"]
    assert resolved.actor == "U0BOB" and resolved.detail["root_cause"] == "Batch job held a lock"


async def test_missing_answers_come_back_into_the_modal(bot: RunningBot) -> None:
    issue_id, ts = await open_issue(bot)
    await click(bot, "issue.resolve", issue_id, "U0BOB", ts=ts)
    view = await opened_view(bot)
    status, answer = await submit_view(bot, view, _values("   ", None), "U0BOB")
    assert status == 200 and answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"resolve.resolution", "resolve.root_cause_category"}
    assert (await get_issue(bot, issue_id)).is_open


async def test_resolving_an_issue_someone_else_just_resolved_says_so(bot: RunningBot) -> None:
    issue_id, ts = await open_issue(bot)
    await click(bot, "issue.resolve", issue_id, "U0BOB", ts=ts)
    view = await opened_view(bot)
    await bot.opsbot.issues.resolve(issue_id, "U0CAROL", resolution="Failover")
    await submit_view(bot, view, _values("Restarted", "database"), "U0BOB")
    [told] = await bot.standin.wait_for("chat.postEphemeral", count=1)
    assert told.args["user"] == "U0BOB" and "already resolved" in told.args["text"]
    assert (await get_issue(bot, issue_id)).resolved_by == "U0CAROL"

    await click(bot, "issue.resolve", issue_id, "U0DAVE", ts=ts, reply_to="dave")
    [reply] = await bot.standin.wait_for("response_url", count=1)
    assert reply.path.endswith("/dave") and "already resolved" in reply.args["text"]
    assert len(bot.standin.calls_to("views.open")) == 1


async def test_reopen_brings_the_issue_back_end_to_end(bot: RunningBot) -> None:
    issue_id, ts = await open_issue(bot)
    await click(bot, "issue.resolve", issue_id, "U0BOB", ts=ts)
    await submit_view(bot, await opened_view(bot), _values("Restarted the replica", "database", "OOM"), "U0BOB")
    await _latest_update(bot, "issue.reopen")

    assert await click(bot, "issue.reopen", issue_id, "U0CAROL", ts=ts) == 200
    message = await _latest_update(bot, "issue.ack")
    text = json.dumps(message["blocks"])
    assert "Resolved after" not in text and "Root cause" not in text and "issue.resolve" in text
    issue = await get_issue(bot, issue_id)
    assert issue.status == IssueStatus.OPEN and issue.resolution is None and issue.root_cause_category is None
    kinds = [e.kind for e in await issue_events(bot, issue_id)]
    assert kinds.index("resolved") < kinds.index("reopened")
    assert [e.actor for e in await issue_events(bot, issue_id) if e.kind == "reopened"] == ["U0CAROL"]

    await click(bot, "issue.resolve", issue_id, "U0CAROL", ts=ts)
    await submit_view(bot, await opened_view(bot, count=2), _values("Rebuilt the replica", "infrastructure"), "U0CAROL")
    await _latest_update(bot, "Rebuilt the replica")
    assert (await get_issue(bot, issue_id)).resolved_by == "U0CAROL"
