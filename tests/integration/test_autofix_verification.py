"""After the steps: verified by the alert's own resolution, or unverified/failed and escalated for real."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from aiohttp import web

from slack_standin import SlackStandIn
from storage.models import IssueStatus, RunbookRun, RunbookRunStatus
from tests.support.autofix import (
    ALERTNAME,
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


async def test_resolution_within_the_window_verifies_the_fix(database_url: str, standin: SlackStandIn, tmp_path: Path) -> None:
    async with bot_with_runbooks(database_url, standin, [marker_runbook(tmp_path / "m")]) as bot:
        issue_id = await fire(bot)
        await click_autofix(bot, issue_id)
        await wait_for_run(bot, RunbookRunStatus.SUCCEEDED)

        bot.clock.advance(minutes=4)
        status, body = await bot.post_webhook("generic", alert("checkout", status="resolved"))
        assert status == 202 and body["issues_resolved"] == 1
        [run] = await wait_for_run(bot, RunbookRunStatus.VERIFIED)
        assert run.verified_at is not None

        resolved = await issue(bot, issue_id)
        assert resolved.status == IssueStatus.RESOLVED
        assert resolved.resolution == "Auto-fixed by runbook Restart the service"
        assert resolved.root_cause == "Worker pool wedged after a deploy" and resolved.root_cause_category == "application"
        assert any(text.startswith("🟢 Verified: the alert resolved 4m after runbook") for text in thread_texts(bot))
        assert "autofix_verified" in [event.kind for event in await events(bot, issue_id)]
        updates = bot.standin.calls_to("chat.update")
        assert "Auto-fixed by runbook Restart the service" in str(updates[-1].args["blocks"])

        bot.clock.advance(minutes=20)
        await bot.opsbot.scheduler.run_all_once()
        assert (await runs(bot))[0].status == RunbookRunStatus.VERIFIED and await escalations(bot) == []


async def test_no_resolution_by_the_deadline_escalates_through_the_escalation_service(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    async with bot_with_runbooks(database_url, standin, [marker_runbook(tmp_path / "m", verify_window="10m")]) as bot:
        issue_id = await fire(bot)
        await click_autofix(bot, issue_id)
        [run] = await wait_for_run(bot, RunbookRunStatus.SUCCEEDED)

        await bot.opsbot.scheduler.run_all_once()  # before the deadline nothing happens
        assert (await runs(bot))[0].status == RunbookRunStatus.SUCCEEDED
        bot.clock.advance(minutes=11)
        await bot.opsbot.scheduler.run_all_once()
        await bot.opsbot.scheduler.run_all_once()  # a second pass (or replica) finds nothing left to do
        [run] = await wait_for_run(bot, RunbookRunStatus.UNVERIFIED)
        assert "still firing" in (run.error or "")

        [escalation] = await escalations(bot)
        assert escalation.issue_id == issue_id and escalation.reason == "unverified"
        assert escalation.requested_by == "opsbot" and "RB-APP-01" in escalation.note and "Restart" in escalation.note
        assert any("not verified: the alert is still firing. Escalating to the team." in t for t in thread_texts(bot))
        kinds = [event.kind for event in await events(bot, issue_id)]
        assert "autofix_unverified" in kinds and "escalated" in kinds
        assert (await issue(bot, issue_id)).status != IssueStatus.RESOLVED

        status, _ = await bot.post_webhook("generic", alert("checkout", status="resolved"))  # too late to verify
        assert status == 202
        resolved = await issue(bot, issue_id)
        assert resolved.status == IssueStatus.RESOLVED and resolved.resolution != "Auto-fixed by runbook Restart the service"


async def test_a_person_resolving_the_issue_does_not_verify_the_fix(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    async with bot_with_runbooks(database_url, standin, [marker_runbook(tmp_path / "m")]) as bot:
        issue_id = await fire(bot)
        await click_autofix(bot, issue_id)
        await wait_for_run(bot, RunbookRunStatus.SUCCEEDED)
        await bot.opsbot.issues.resolve(issue_id, "U0HUMAN", resolution="Rolled back by hand")
        [run] = await wait_for_run(bot, RunbookRunStatus.UNVERIFIED)
        assert "resolved by hand" in (run.error or "")
        assert (await issue(bot, issue_id)).resolution == "Rolled back by hand"
        bot.clock.advance(minutes=30)
        await bot.opsbot.scheduler.run_all_once()
        assert await escalations(bot) == []  # nothing to escalate on a resolved issue


@pytest.fixture
async def target() -> AsyncIterator[dict[str, Any]]:
    """A local HTTP endpoint standing in for Rundeck/AWX: records requests, answers with `status`."""
    state: dict[str, Any] = {"requests": [], "status": 201}

    async def handle(request: web.Request) -> web.Response:
        state["requests"].append(
            {"method": request.method, "path": request.path, "query": dict(request.query),
             "headers": dict(request.headers), "json": await request.json() if request.can_read_body else None}
        )
        return web.json_response({"execution": "ok" if state["status"] < 400 else "boom"}, status=state["status"])

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state["url"] = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    await runner.cleanup()


def _http_runbook(url: str) -> dict[str, Any]:
    return {
        "id": "RB-HTTP-01",
        "title": "Restart via the job runner",
        "match": {"alertname": ALERTNAME},
        "params": {"service": {"label": "service", "pattern": "[a-z0-9-]{1,40}"}},
        "steps": [{
            "kind": "http", "name": "Run restart job", "method": "POST",
            "url": url + "/api/job/restart-{{ service }}/run?reason=autofix-{{ service }}",
            "headers": {"Authorization": {"env": "RUNDECK_TOKEN", "prefix": "Bearer "}, "Accept": "application/json"},
            "body": {"options": {"service": "{{ service }}", "replicas": 3}, "note": "opsbot"},
            "expected_status": [201], "timeout": 5,
        }],
    }


async def test_http_runbook_sends_the_configured_request(
    database_url: str, standin: SlackStandIn, target: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNDECK_TOKEN", "s3cret-token")
    async with bot_with_runbooks(database_url, standin, [_http_runbook(target["url"])]) as bot:
        issue_id = await fire(bot)
        await click_autofix(bot, issue_id)
        [run] = await wait_for_run(bot, RunbookRunStatus.SUCCEEDED)
        [request] = target["requests"]
        assert request["method"] == "POST" and request["path"] == "/api/job/restart-checkout/run"
        assert request["query"] == {"reason": "autofix-checkout"}
        assert request["headers"]["Authorization"] == "Bearer s3cret-token"
        assert request["json"] == {"options": {"service": "checkout", "replicas": 3}, "note": "opsbot"}
        assert run.steps[0]["detail"] == "HTTP 201"
        assert not any("s3cret" in text for text in thread_texts(bot))
        assert "s3cret" not in str(run.steps) and "s3cret" not in run.output_excerpt


async def test_http_runbook_failing_escalates(
    database_url: str, standin: SlackStandIn, target: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNDECK_TOKEN", "s3cret-token")
    target["status"] = 500
    async with bot_with_runbooks(database_url, standin, [_http_runbook(target["url"])]) as bot:
        issue_id = await fire(bot)
        await click_autofix(bot, issue_id)
        [run] = await wait_for_run(bot, RunbookRunStatus.FAILED)
        assert run.error == "HTTP 500 (expected 201)" and run.verify_deadline is None
        await bot.wait_until(lambda: _escalated(bot))
        [escalation] = await escalations(bot)
        assert escalation.reason == "autofix_failed" and "HTTP 500" in escalation.note
        assert any(t.startswith("❌ Runbook *Restart via the job runner*") and "Escalating" in t for t in thread_texts(bot))


async def test_a_step_that_times_out_is_killed_and_escalated(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    marker = tmp_path / "never"
    script = f"import time, pathlib; time.sleep(30); pathlib.Path({str(marker)!r}).write_text('late')"
    runbook = marker_runbook(marker, steps=[
        {"kind": "command", "name": "Hang", "argv": [sys.executable, "-c", script], "timeout": 0.5},
        {"kind": "manual", "text": "never shown"},
    ])
    async with bot_with_runbooks(database_url, standin, [runbook]) as bot:
        issue_id = await fire(bot)
        await click_autofix(bot, issue_id)
        [run] = await wait_for_run(bot, RunbookRunStatus.FAILED)
        assert "timed out after 0.5s; process group killed" in (run.error or "")
        assert [step["status"] for step in run.steps] == ["timed_out"]  # later steps never ran
        await bot.wait_until(lambda: _escalated(bot))
        assert not any("never shown" in text for text in thread_texts(bot))
    assert not marker.exists()


async def test_auto_runbook_runs_when_its_alert_fires_and_is_verified(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    marker = tmp_path / "restarted"
    async with bot_with_runbooks(database_url, standin, [marker_runbook(marker, auto=True)]) as bot:
        issue_id = await fire(bot, "cart")
        [run] = await wait_for_run(bot, RunbookRunStatus.SUCCEEDED)
        assert run.issue_id == issue_id and run.trigger == "auto" and run.requested_by == "opsbot"
        assert marker.read_text() == "cart"
        assert any("opsbot started runbook" in t and "automatically" in t for t in thread_texts(bot))

        await bot.post_webhook("generic", alert("cart", status="resolved"))
        await wait_for_run(bot, RunbookRunStatus.VERIFIED)
        assert (await issue(bot, issue_id)).resolution == "Auto-fixed by runbook Restart the service"

        other = await fire(bot, "cart", key="k2", title="DiskFull")  # no auto runbook for it
        await bot.outbox_drained()
        assert [r.issue_id for r in await runs(bot)] == [issue_id] and other != issue_id


async def test_a_run_interrupted_by_a_restart_is_failed_and_escalated(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    async with bot_with_runbooks(database_url, standin, [marker_runbook(tmp_path / "m")]) as bot:
        issue_id = await fire(bot)
        started = bot.clock() - timedelta(hours=1)
        async with bot.opsbot.sessionmaker.begin() as session:  # what another process left behind
            session.add(RunbookRun(issue_id=issue_id, runbook_id="RB-APP-01", trigger="button", requested_by="U0OPS",
                                   status=RunbookRunStatus.RUNNING, started_at=started, steps=[]))
        await bot.opsbot.scheduler.run_all_once()
        [run] = await wait_for_run(bot, RunbookRunStatus.FAILED)
        assert run.error == "interrupted"
        [escalation] = await escalations(bot)
        assert escalation.reason == "autofix_failed"
        assert any("was interrupted" in text for text in thread_texts(bot))


async def _escalated(bot: Any) -> bool:
    return bool(await escalations(bot))
