"""Escalating by hand and automatically: the modal, the team's post with full context, DMs, events."""

from __future__ import annotations

from datetime import timedelta

from bot.config import OpsConfig
from handlers.escalations.teams import OnCall
from storage.models import EscalationStatus, RunbookRun
from tests.harness import RunningBot
from tests.integration.escalation_support import (  # noqa: F401 - team_bot is a fixture
    TEAMS,
    alertmanager_body,
    blocks_text,
    click,
    escalations,
    get_issue,
    issue_events,
    open_issue,
    opened_view,
    posts_to,
    submit_escalation,
    team_bot,
    wait_post,
    wait_thread,
)


def on_call_now(bot: RunningBot) -> str:
    return OnCall.model_validate(TEAMS["dba"]["on_call"]).at(bot.clock())


async def test_escalate_by_hand_sends_the_team_everything_already_known(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, ts = await open_issue(bot)
    assert await click(bot, "issue.ack", issue_id, "U0BOB", ts=ts) == 200
    await bot.standin.wait_for("chat.update", count=1)
    async with bot.opsbot.sessionmaker.begin() as session:
        session.add(
            RunbookRun(
                issue_id=issue_id, runbook_id="pg-restart-replica", trigger="button", requested_by="U0BOB",
                status="failed", started_at=bot.clock(), output_excerpt="pg_ctl: could not start server",
                error="step 2 exited 1",
            )
        )

    async with bot.standin.hold("views.open") as modal:
        assert await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts) == 200  # Slack has its ack ...
        await modal.wait_for_waiting(1)  # ... while the modal is still held on its way
    view = await opened_view(bot)
    [opening] = bot.standin.calls_to("views.open")
    assert opening.args["trigger_id"] and opening.response["ok"]  # the click's own trigger, exchanged once
    team_block = next(b for b in view["blocks"] if b.get("block_id") == "escalation.team")
    assert team_block["element"]["initial_option"]["value"] == "dba"
    assert [o["text"]["text"] for o in team_block["element"]["options"]] == ["DBAs", "Developers"]

    status, answer = await submit_escalation(bot, view, "U0ALICE", note="Replica lag keeps growing; restart failed.")
    assert status == 200 and answer == ""
    [team_post] = await wait_post(bot, "#dba")
    text = blocks_text(team_post.args)
    assert team_post.args["text"].startswith("<!subteam^S0DBA>")
    for expected in (
        "Escalated to DBAs", "<@U0ALICE>", "Replica lag keeps growing", "alertname=PostgresReplicationLag",
        "instance=db-2:9187", "Replica db-2 is 45s behind the primary", "pg_replication_lag_seconds &gt; 30",
        "https://runbooks.example.com/pg-lag|Runbook", "https://grafana.example.com/d/pg|Dashboard",
        "https://logs.example.com/search?q=db-2|Logs", "prometheus.example.com:9090/graph", "Acknowledged",
        "pg-restart-replica", "pg_ctl: could not start server", "step 2 exited 1", "escalation.ack",
    ):
        assert expected in text, expected
    on_call = on_call_now(bot)
    [dm] = await wait_post(bot, on_call)
    assert "You are called for *DBAs*" in blocks_text(dm.args) and "alertname=PostgresReplicationLag" in blocks_text(dm.args)
    [thread] = await wait_thread(bot, ts, "escalated")
    assert "<@U0ALICE> escalated this to *DBAs*" in thread.args["text"] and f"<@{on_call}>" in thread.args["text"]

    [row] = await escalations(bot, issue_id)
    assert (row.team, row.level, row.status, row.reason, row.on_call) == ("dba", 1, EscalationStatus.ACTIVE, "manual", on_call)
    assert row.requested_by == "U0ALICE" and row.note.startswith("Replica lag")
    assert row.next_level_at is not None
    assert abs(row.next_level_at - (row.created_at + timedelta(minutes=15))) < timedelta(seconds=1)
    escalated = [e for e in await issue_events(bot, issue_id) if e.kind == "escalated"]
    assert len(escalated) == 1 and escalated[0].actor == "U0ALICE" and escalated[0].detail["team"] == "dba"


async def test_bad_input_comes_back_into_the_modal(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, ts = await open_issue(bot)
    await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts)
    view = await opened_view(bot)
    status, answer = await submit_escalation(bot, view, "U0ALICE", team="nope", urgency="whenever", note="x" * 2001)
    assert status == 200 and answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"escalation.team", "escalation.urgency", "escalation.note"}
    assert await escalations(bot, issue_id) == []


async def test_a_second_escalation_to_the_same_team_is_refused_ephemerally(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, ts = await open_issue(bot)
    await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts)
    view = await opened_view(bot)
    await submit_escalation(bot, view, "U0ALICE")
    await wait_post(bot, "#dba")
    await submit_escalation(bot, view, "U0CAROL")
    [refusal] = await bot.standin.wait_for("chat.postEphemeral", count=1)
    assert refusal.args["user"] == "U0CAROL" and "already escalated to DBAs" in refusal.args["text"]
    assert len(await escalations(bot, issue_id)) == 1


async def test_escalating_a_resolved_issue_is_refused_at_the_click(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, ts = await open_issue(bot)
    await bot.opsbot.issues.resolve(issue_id, "U0BOB", resolution="Restarted the replica")
    await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts, reply_to="late")
    [reply] = await bot.standin.wait_for("response_url", count=1)
    assert reply.path.endswith("/late") and "reopen it before escalating" in reply.args["text"]
    assert bot.standin.calls_to("views.open") == []


async def test_unconfigured_deployment_still_escalates_to_the_default_channel(bot: RunningBot) -> None:
    issue_id, ts = await open_issue(bot)
    await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts)
    view = await opened_view(bot)
    assert "No teams are set up" in blocks_text({"blocks": view["blocks"]})
    team_block = next(b for b in view["blocks"] if b.get("block_id") == "escalation.team")
    names = [o["text"]["text"] for o in team_block["element"]["options"]]
    assert names == ["DBAs", "Developers", "System administrators", "Vendor liaison", "Security"]
    assert team_block["element"]["initial_option"]["value"] == "dba"

    await submit_escalation(bot, view, "U0ALICE", note="Need a DBA")
    posts = await wait_post(bot, OpsConfig().default_channel, containing="Escalated to DBAs")
    assert len(posts) == 1 and "No on-call person" in blocks_text(posts[0].args)
    assert bot.standin.calls_to("conversations.open") == []
    [row] = await escalations(bot, issue_id)
    assert row.on_call is None and row.next_level_at is None


async def test_automatic_escalation_picks_the_category_team_and_never_pages_twice(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, _ = await open_issue(bot)
    detail = "Runbook pg-restart-replica failed at step 2: exit 1"
    await bot.opsbot.escalations.escalate_automatically(issue_id, reason="autofix_failed", detail=detail)
    await bot.opsbot.escalations.escalate_automatically(issue_id, reason="unverified", detail="still firing")
    await bot.outbox_drained()

    [team_post] = posts_to(bot, "#dba")
    text = blocks_text(team_post.args)
    assert "Escalated to DBAs by opsbot" in text and "auto-fix failed" in text and "exit 1" in text
    [row] = await escalations(bot, issue_id)
    assert (row.reason, row.requested_by, row.urgency) == ("autofix_failed", "opsbot", "high")
    kinds = [e.kind for e in await issue_events(bot, issue_id)]
    assert kinds.count("escalated") == 1 and kinds.count("escalation_skipped") == 1
    issue = await get_issue(bot, issue_id)
    assert issue.is_open


async def test_automatic_escalation_of_an_uncovered_category_goes_to_operations(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, _ = await open_issue(bot, alertmanager_body("CertificateExpiry", category="security", fingerprint="c1"))
    await bot.opsbot.escalations.escalate_automatically(issue_id, reason="autofix_refused", detail="bad parameters")
    await bot.outbox_drained()
    [post] = [p for p in posts_to(bot, "#alerts") if "Escalated to Operations" in blocks_text(p.args)]
    assert "auto-fix refused to run" in blocks_text(post.args)
