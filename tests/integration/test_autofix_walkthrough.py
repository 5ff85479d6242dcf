"""The bundled runbook library end to end: with no runbooks configured, an alert whose article cites a
runbook offers it; a person is walked through its steps in the thread, each checked off in the
timeline; Skip, Stuck → escalate, the operator role's refusal, and a configured runbook replacing a bundled one."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from aiohttp import web

from handlers.autofix.library import bundled_runbooks
from slack_standin import SlackStandIn
from slack_standin.signing import view_submission_body
from storage.models import IssueStatus, RunbookRunStatus
from tests.integration.walkthrough_support import (
    buttons,
    click_step,
    issue_message,
    response_to,
    responses,
    shown,
    step_replies,
    wait_for_steps,
    waiting_step,
)
from tests.support.autofix import (
    OPERATOR,
    alert,
    bot_with_runbooks,
    click_autofix,
    escalations,
    events,
    fire,
    issue,
    marker_runbook,
    runs,
    thread_texts,
    wait_for_run,
)

DISK = "DiskFull"  # disk-space.md lists it and cites RB-INF-03
DISK_RUNBOOK = next(runbook for runbook in bundled_runbooks() if runbook.id == "RB-INF-03")


async def test_a_bundled_runbook_is_walked_through_step_by_step_then_verified(
    database_url: str, standin: SlackStandIn
) -> None:
    async with bot_with_runbooks(database_url, standin, []) as bot:
        issue_id = await fire(bot, "db-1", title=DISK)
        offered = buttons(issue_message(bot, issue_id))["issue.autofix"]
        assert offered["text"]["text"] == "Walk me through it"

        assert await click_autofix(bot, issue_id) == 200
        run = await wait_for_steps(bot, issue_id, 0)
        await bot.wait_until(lambda: _has_step(bot, issue_id, 1), 10.0)
        assert run.status == RunbookRunStatus.RUNNING and run.runbook_id == "RB-INF-03" and run.trigger == "button"
        assert "Started walking through runbook *Disk space running out*" in await response_to(bot, "r1")
        total = len(DISK_RUNBOOK.steps)
        assert thread_texts(bot)[0].startswith(f"🧭 <@{OPERATOR}> started walking through runbook *Disk space running out*")

        first = waiting_step(bot, issue_id)
        assert f"Step 1/{total}" in shown(first) and "Which filesystem, how full, how fast?" in shown(first)
        assert "df -h" in shown(first)  # the article's commands, as a code block
        assert list(buttons(first)) == ["autofix.step.done", "autofix.step.skip", "autofix.step.stuck"]

        for number in range(1, total + 1):
            assert await click_step(bot, issue_id, "autofix.step.done", response=f"s{number}") == 200
            await wait_for_steps(bot, issue_id, number)
            if number < total:
                await bot.wait_until(lambda n=number: _has_step(bot, issue_id, n + 1), 10.0)

        [finished] = await wait_for_run(bot, RunbookRunStatus.SUCCEEDED)
        assert [step["status"] for step in finished.steps] == ["done"] * total
        assert {step["by"] for step in finished.steps} == {OPERATOR} and finished.verify_deadline is not None
        assert len(finished.output_digest or "") == 64
        checked = step_replies(bot, issue_id)
        assert len(checked) == total and not any("autofix.step.done" in buttons(reply) for reply in checked)
        assert f"done by <@{OPERATOR}>" in shown(checked[0])
        assert "Every step of runbook *Disk space running out*" in thread_texts(bot)[-1]
        assert f"{total} done" in thread_texts(bot)[-1] and "resolve the issue from its message" in thread_texts(bot)[-1]

        timeline = [event for event in await events(bot, issue_id) if event.kind == "autofix_step"]
        assert [event.detail["step"] for event in timeline] == list(range(1, total + 1))
        assert {event.actor for event in timeline} == {OPERATOR}
        assert [event.at for event in timeline] == sorted(event.at for event in timeline)
        assert timeline[0].summary.startswith("Runbook Disk space running out, step 1/")

        bot.clock.advance(minutes=3)
        status, body = await bot.post_webhook("generic", alert("db-1", status="resolved", title=DISK))
        assert status == 202 and body["issues_resolved"] == 1
        await wait_for_run(bot, RunbookRunStatus.VERIFIED)
        resolved = await issue(bot, issue_id)
        assert resolved.status == IssueStatus.RESOLVED
        assert resolved.resolution == "Fixed by following runbook Disk space running out"
        assert resolved.root_cause_category == "infrastructure"


async def test_skip_goes_on_and_stuck_stops_the_walkthrough_and_escalates(database_url: str, standin: SlackStandIn) -> None:
    async with bot_with_runbooks(database_url, standin, []) as bot:
        issue_id = await fire(bot, "db-1", title=DISK)
        await click_autofix(bot, issue_id)
        await bot.wait_until(lambda: _has_step(bot, issue_id, 1), 10.0)
        first = waiting_step(bot, issue_id)

        await click_step(bot, issue_id, "autofix.step.skip", user_id="U0RESPONDER", response="skip")
        await wait_for_steps(bot, issue_id, 1)
        await bot.wait_until(lambda: _has_step(bot, issue_id, 2), 10.0)
        assert "skipped by <@U0RESPONDER>" in shown(step_replies(bot, issue_id)[0])

        await click_step(bot, issue_id, "autofix.step.done", response="late", message=first)  # the old message
        assert "Step 1 was already checked off by <@U0RESPONDER>" in await response_to(bot, "late")

        second = waiting_step(bot, issue_id)
        await click_step(bot, issue_id, "autofix.step.stuck", response="stuck")
        [failed] = await wait_for_run(bot, RunbookRunStatus.FAILED)
        assert [step["status"] for step in failed.steps] == ["skipped", "stuck"]
        assert [step["by"] for step in failed.steps] == ["U0RESPONDER", OPERATOR]
        [stuck] = [text for text in thread_texts(bot) if text.startswith(f"🆘 <@{OPERATOR}> is stuck at step 2")]
        assert stuck.endswith("Escalating to the team.")

        async def escalated() -> bool:  # the run's failure is recorded first, its escalation right after
            return bool(await escalations(bot))

        await bot.wait_until(escalated, 10.0)
        [paged] = await escalations(bot)
        assert paged.issue_id == issue_id and paged.reason == "autofix_failed"
        assert "stuck by U0OPS" in paged.note
        kinds = [(event.kind, event.detail.get("outcome")) for event in await events(bot, issue_id)
                 if event.kind in ("autofix_step", "autofix_run")]
        assert kinds == [("autofix_step", "skipped"), ("autofix_step", "stuck"), ("autofix_run", "failed")]

        await click_step(bot, issue_id, "autofix.step.done", response="after", message=second)
        assert await response_to(bot, "after") == f"Step 2 was already checked off by <@{OPERATOR}> (stuck)."
        assert len(await escalations(bot)) == 1


async def test_without_the_operator_role_the_reply_names_who_grants_it_and_nothing_runs(
    database_url: str, standin: SlackStandIn
) -> None:
    roles = {"operator": [OPERATOR], "admin": ["U0ADMIN"]}
    async with bot_with_runbooks(database_url, standin, [], roles=roles) as bot:
        issue_id = await fire(bot, "db-1", title=DISK)
        assert "issue.autofix" in buttons(issue_message(bot, issue_id))
        await click_autofix(bot, issue_id, user_id="U0RESPONDER")
        [reply] = await bot.standin.wait_for("response_url", count=1)
        assert reply.args["text"] == (
            "You need the operator role to run auto-fix: ask <@U0ADMIN> (opsbot admin) to add you to roles.operator."
        )
        assert await runs(bot) == [] and not step_replies(bot, issue_id)


async def test_with_no_roles_configured_the_reply_says_how_an_admin_grants_it(database_url: str, standin: SlackStandIn) -> None:
    async with bot_with_runbooks(database_url, standin, [], roles={}) as bot:
        issue_id = await fire(bot, "db-1", title=DISK)
        assert buttons(issue_message(bot, issue_id))["issue.autofix"]["text"]["text"] == "Walk me through it"
        await click_autofix(bot, issue_id)
        [reply] = await bot.standin.wait_for("response_url", count=1)
        assert reply.args["text"] == (
            "Nobody may run auto-fix yet: ask an opsbot admin to add you to roles.operator in OPSBOT_CONFIG "
            "(no admin is named there yet)."
        )
        assert [event.kind for event in await events(bot, issue_id)].count("denied") == 1
        assert await runs(bot) == []


async def test_a_configured_runbook_with_a_bundled_id_replaces_it(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    marker = tmp_path / "cleaned"
    ours = marker_runbook(marker, id="RB-INF-03", title="Our disk clean-up", match={})  # keeps the bundled alerts
    async with bot_with_runbooks(database_url, standin, [ours]) as bot:
        issue_id = await fire(bot, "db-1", title=DISK)
        assert buttons(issue_message(bot, issue_id))["issue.autofix"]["text"]["text"] == "Auto-fix"
        await click_autofix(bot, issue_id)
        [run] = await wait_for_run(bot, RunbookRunStatus.SUCCEEDED)
        assert run.runbook_id == "RB-INF-03" and marker.read_text() == "db-1"
        assert [step["status"] for step in run.steps] == ["ok", "shown"]
        assert not step_replies(bot, issue_id)
        assert thread_texts(bot)[0].startswith(f"🛠️ <@{OPERATOR}> started runbook *Our disk clean-up*")


@pytest.fixture
async def cache_endpoint() -> AsyncIterator[dict[str, Any]]:
    """The team's cache-flush endpoint, on loopback: records what it is sent."""
    state: dict[str, Any] = {"requests": []}

    async def flush(request: web.Request) -> web.Response:
        state["requests"].append({"method": request.method, "path": request.path,
                                  "auth": request.headers.get("Authorization")})
        return web.json_response({"flushed": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", flush)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state["url"] = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    await runner.cleanup()


async def test_the_cache_runbook_calls_its_endpoint_only_once_configured(
    database_url: str, standin: SlackStandIn, cache_endpoint: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHE_TOKEN", "t0ken")
    library = {"clear_cache": {"url": cache_endpoint["url"] + "/flush/{{ service }}",
                               "headers": {"Authorization": {"env": "CACHE_TOKEN", "prefix": "Bearer "}}}}
    async with bot_with_runbooks(database_url, standin, [], runbook_library=library) as bot:
        issue_id = await fire(bot, "shop", title="CacheHitRateLow")
        assert buttons(issue_message(bot, issue_id))["issue.autofix"]["text"]["text"] == "Auto-fix"
        await click_autofix(bot, issue_id)
        [opened] = await bot.standin.wait_for("views.open", count=1)
        view = opened.args["view"]
        assert "/flush/shop" in json.dumps(view["blocks"]) and cache_endpoint["requests"] == []
        body = view_submission_body("autofix.confirm", {}, user_id=OPERATOR, private_metadata=view["private_metadata"])
        await bot.post_slack(body)
        [run] = await wait_for_run(bot, RunbookRunStatus.SUCCEEDED)
        assert run.runbook_id == "RB-APP-06" and run.steps[0]["detail"] == "HTTP 200"
        assert cache_endpoint["requests"] == [{"method": "POST", "path": "/flush/shop", "auth": "Bearer t0ken"}]

    async with bot_with_runbooks(database_url, standin, []) as bot:  # not configured: walked through by hand
        issue_id = await fire(bot, "shop", key="k9", title="CacheHitRateLow")
        assert buttons(issue_message(bot, issue_id))["issue.autofix"]["text"]["text"] == "Walk me through it"


async def _has_step(bot: Any, issue_id: int, number: int) -> bool:
    return any(f"Step {number}/" in reply.get("text", "") for reply in step_replies(bot, issue_id))


async def test_two_clicks_on_one_step_record_it_once_and_a_restart_loses_nothing(
    database_url: str, standin: SlackStandIn
) -> None:
    async with bot_with_runbooks(database_url, standin, []) as bot:
        issue_id = await fire(bot, "db-1", title=DISK)
        await click_autofix(bot, issue_id)
        await bot.wait_until(lambda: _has_step(bot, issue_id, 1), 10.0)
        first = waiting_step(bot, issue_id)
        await asyncio.gather(
            click_step(bot, issue_id, "autofix.step.done", response="a", message=first),
            click_step(bot, issue_id, "autofix.step.done", user_id="U0RESPONDER", response="b", message=first),
        )
        await bot.wait_until(lambda: _has_step(bot, issue_id, 2), 10.0)

        async def one_refused() -> bool:
            return bool(responses(bot, "a") or responses(bot, "b"))

        await bot.wait_until(one_refused, 10.0)
        refused = responses(bot, "a") + responses(bot, "b")
        assert len(refused) == 1 and refused[0].startswith("Step 1 was already checked off by <@")
        assert len((await wait_for_steps(bot, issue_id, 1)).steps) == 1
        assert [e.kind for e in await events(bot, issue_id)].count("autofix_step") == 1

    async with bot_with_runbooks(database_url, standin, []) as bot:  # a new process: the run waits in the database
        await click_step(bot, issue_id, "autofix.step.skip", response="c")
        await bot.wait_until(lambda: _has_step(bot, issue_id, 3), 10.0)
        run = await wait_for_steps(bot, issue_id, 2)
        assert run.status == RunbookRunStatus.RUNNING and [s["status"] for s in run.steps] == ["done", "skipped"]
