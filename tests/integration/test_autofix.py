"""The Auto-fix button end to end: signed clicks on loopback, real runbook steps, the thread as Slack sees it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from slack_standin import SlackStandIn
from slack_standin.signing import view_submission_body
from storage.models import RunbookRunStatus
from tests.support.autofix import (
    OPERATOR,
    bot_with_runbooks,
    click_autofix,
    ephemerals,
    escalations,
    events,
    fire,
    marker_runbook,
    runs,
    thread_texts,
    wait_for_run,
    wait_for_statuses,
)


def _action_ids(message: dict) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def test_command_runbook_runs_in_the_background_and_reports_in_the_thread(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    marker = tmp_path / "restarted"
    async with bot_with_runbooks(database_url, standin, [marker_runbook(marker)]) as bot:
        issue_id = await fire(bot, "checkout")
        other = await fire(bot, "checkout", key="k2", title="PrinterOnFire")  # no runbook, bundled or configured
        posts = [c.args for c in standin.calls_to("chat.postMessage") if not c.args.get("thread_ts")]
        assert "issue.autofix" in _action_ids(posts[0]) and "issue.autofix" not in _action_ids(posts[1])

        assert await click_autofix(bot, issue_id) == 200
        [run] = await wait_for_run(bot, RunbookRunStatus.SUCCEEDED)
        assert marker.read_text() == "checkout"
        assert run.issue_id == issue_id and run.requested_by == OPERATOR and run.trigger == "button"
        assert run.verify_deadline is not None and len(run.output_digest or "") == 64
        assert [step["status"] for step in run.steps] == ["ok", "shown"]
        assert "restarted checkout" in run.output_excerpt

        assert any("Started runbook *Restart the service*" in text for text in ephemerals(bot))
        thread = thread_texts(bot)
        assert thread[0].startswith("🛠️ <@U0OPS> started runbook *Restart the service* (`RB-APP-01`)")
        assert thread[1].startswith("✅ Step 1/2 *Restart* — exit 0 in") and "```restarted checkout```" in thread[1]
        assert thread[2] == "📋 Step 2/2 *Watch* (for you to do):\nWatch the error rate for five minutes."
        assert "finished in" in thread[3] and "Waiting for the alert to resolve" in thread[3]

        kinds = {event.kind: event for event in await events(bot, issue_id)}
        assert kinds["autofix_started"].actor == OPERATOR
        outcome = kinds["autofix_run"]
        assert outcome.actor == OPERATOR and outcome.detail["runbook"] == "RB-APP-01"
        assert outcome.detail["outcome"] == "succeeded" and outcome.detail["output_digest"] == run.output_digest

        status = await click_autofix(bot, other, response="r2")
        await bot.standin.wait_for("response_url", count=2)
        assert status == 200 and "No runbook applies" in ephemerals(bot, "r2")[0]


async def test_with_no_operators_configured_nobody_may_run_auto_fix(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    marker = tmp_path / "restarted"
    async with bot_with_runbooks(database_url, standin, [marker_runbook(marker)], roles={}) as bot:
        issue_id = await fire(bot)
        await click_autofix(bot, issue_id)
        [reply] = await bot.standin.wait_for("response_url", count=1)
        assert "Nobody may run auto-fix yet" in reply.args["text"] and "roles.operator" in reply.args["text"]
        denied = [event for event in await events(bot, issue_id) if event.kind == "denied"]
        assert denied[0].actor == OPERATOR and denied[0].detail == {"role": "operator"}
        assert await runs(bot) == [] and not marker.exists()


async def test_a_responder_without_the_operator_role_is_refused(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    marker = tmp_path / "restarted"
    async with bot_with_runbooks(database_url, standin, [marker_runbook(marker)]) as bot:
        issue_id = await fire(bot)
        await click_autofix(bot, issue_id, user_id="U0RESPONDER")
        [reply] = await bot.standin.wait_for("response_url", count=1)
        assert "You need the operator role to run auto-fix" in reply.args["text"]
        assert [event.actor for event in await events(bot, issue_id) if event.kind == "denied"] == ["U0RESPONDER"]
        assert await runs(bot) == [] and not marker.exists()


HOSTILE = ["x; rm -rf /", "$(id)", "`id`", "checkout\nmalicious", "../../etc"]


async def test_hostile_label_values_are_refused_nothing_runs_and_the_issue_escalates(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    marker = tmp_path / "restarted"
    runbook = marker_runbook(marker, match={}, match_re={"alertname": "Hostile.*"})
    async with bot_with_runbooks(database_url, standin, [runbook]) as bot:
        issue_ids = [await fire(bot, value, key=f"h{n}", title=f"Hostile{n}") for n, value in enumerate(HOSTILE)]
        for n, issue_id in enumerate(issue_ids):
            await click_autofix(bot, issue_id, response=f"r{n}")
        refused = await wait_for_run(bot, RunbookRunStatus.REFUSED, count=len(HOSTILE))
        assert not marker.exists()
        assert all(run.steps == [] and run.output_digest is None for run in refused)
        await bot.standin.wait_for("response_url", count=len(HOSTILE))
        assert all("was refused" in ephemerals(bot, f"r{n}")[0] for n in range(len(HOSTILE)))
        refusals = [text for text in thread_texts(bot) if text.startswith("⛔")]
        assert len(refusals) == len(HOSTILE) and all("Nothing was run" in text for text in refusals)
        assert any("&quot;" not in text and '"x; rm -rf /"' in text for text in refusals)
        paged = await escalations(bot)
        assert sorted(e.issue_id for e in paged) == issue_ids
        assert {e.reason for e in paged} == {"autofix_refused"} and {e.requested_by for e in paged} == {"opsbot"}


async def test_two_clicks_at_once_start_one_run(database_url: str, standin: SlackStandIn, tmp_path: Path) -> None:
    release, marker = tmp_path / "release", tmp_path / "done"
    wait_then_write = (
        "import pathlib, sys, time\n"
        "while not pathlib.Path(sys.argv[1]).exists(): time.sleep(0.02)\n"
        "pathlib.Path(sys.argv[2]).write_text('done')\n"
    )
    runbook = marker_runbook(marker, steps=[
        {"kind": "command", "name": "Slow fix", "argv": [sys.executable, "-c", wait_then_write, str(release), str(marker)]}
    ])
    async with bot_with_runbooks(database_url, standin, [runbook]) as bot:
        issue_id = await fire(bot)
        statuses = await asyncio.gather(click_autofix(bot, issue_id, response="a"), click_autofix(bot, issue_id, response="b"))
        assert statuses == [200, 200]
        await bot.standin.wait_for("response_url", count=2)
        replies = ephemerals(bot, "a") + ephemerals(bot, "b")
        assert sum("already running" in text for text in replies) == 1
        assert sum("Started runbook" in text for text in replies) == 1
        assert [run.status for run in await runs(bot)] == [RunbookRunStatus.RUNNING]

        release.write_text("go")
        await wait_for_run(bot, RunbookRunStatus.SUCCEEDED)
        assert marker.read_text() == "done" and len(await runs(bot)) == 1


async def test_cool_down_then_maximum_attempts(database_url: str, standin: SlackStandIn, tmp_path: Path) -> None:
    runbook = marker_runbook(tmp_path / "m", cooldown="5m", max_attempts=2)
    async with bot_with_runbooks(database_url, standin, [runbook]) as bot:
        issue_id = await fire(bot)
        await click_autofix(bot, issue_id, response="first")
        await wait_for_run(bot, RunbookRunStatus.SUCCEEDED)

        await click_autofix(bot, issue_id, response="cooling")
        await bot.standin.wait_for("response_url", count=2)
        [cooling] = ephemerals(bot, "cooling")
        assert "it can run again at <!date^" in cooling and "in about 5m" in cooling

        bot.clock.advance(minutes=6)
        await click_autofix(bot, issue_id, response="second")
        first, _ = await wait_for_statuses(bot, [RunbookRunStatus.UNVERIFIED, RunbookRunStatus.SUCCEEDED])
        assert "superseded" in (first.error or "")

        bot.clock.advance(minutes=6)
        await click_autofix(bot, issue_id, response="third")
        await bot.standin.wait_for("response_url", count=4)
        assert "already ran 2 times on issue" in ephemerals(bot, "third")[0]
        assert len(await runs(bot)) == 2


async def test_confirm_opens_a_modal_and_its_submission_starts_the_run(
    database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    marker = tmp_path / "restarted"
    async with bot_with_runbooks(database_url, standin, [marker_runbook(marker, confirm=True)]) as bot:
        issue_id = await fire(bot)
        await click_autofix(bot, issue_id)
        [opened] = await bot.standin.wait_for("views.open", count=1)
        view = opened.args["view"]
        assert opened.args["trigger_id"] and view["callback_id"] == "autofix.confirm"
        assert "checkout" in json.dumps(view["blocks"]) and await runs(bot) == [] and not marker.exists()

        body = view_submission_body("autofix.confirm", {}, user_id=OPERATOR, private_metadata=view["private_metadata"])
        status, _ = await bot.post_slack(body)
        assert status == 200
        await wait_for_run(bot, RunbookRunStatus.SUCCEEDED)
        assert marker.read_text() == "checkout"
        [note] = await bot.standin.wait_for("chat.postEphemeral", count=1)
        assert note.args["user"] == OPERATOR and "Started runbook" in note.args["text"]

        forged = view_submission_body("autofix.confirm", {}, user_id="U0MALLORY", private_metadata=view["private_metadata"])
        await bot.post_slack(forged)
        notes = await bot.standin.wait_for("chat.postEphemeral", count=2)
        assert notes[1].args["user"] == "U0MALLORY" and "operator role" in notes[1].args["text"]
        assert len(await runs(bot)) == 1


async def test_a_forged_confirmation_runs_nothing(database_url: str, standin: SlackStandIn, tmp_path: Path) -> None:
    marker = tmp_path / "restarted"
    async with bot_with_runbooks(database_url, standin, [marker_runbook(marker, confirm=True)]) as bot:
        issue_id = await fire(bot)
        forged = ["", "not json", '{"issue": "1; DROP", "runbook": "x"}', f'{{"issue": {issue_id}, "runbook": "../x"}}',
                  f'{{"issue": {issue_id}, "runbook": "RB-OTHER", "channel": "C0LOCAL"}}']
        for metadata in forged:
            status, _ = await bot.post_slack(view_submission_body("autofix.confirm", {}, user_id=OPERATOR,
                                                                  private_metadata=metadata))
            assert status == 200
        [note] = await bot.standin.wait_for("chat.postEphemeral", count=1)
        assert "Runbook RB-OTHER no longer applies" in note.args["text"]
        assert await runs(bot) == [] and not marker.exists()
