"""`/issue export`: the CSV uploaded through files upload v2, read back from the stand-in column by column."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.vocabulary import Category, Priority
from handlers.issues.export import EXPORT_COLUMNS
from handlers.issues.log import NewIssue
from slack_standin import SlackStandIn
from slack_standin.signing import event_body
from storage.models import Issue
from tests.harness import RunningBot, fixture_json, start_bot, stop_bot, test_config
from tests.integration.test_issue_commands import ALICE, BOB, CAROL, ack_text, replies, slash

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def berlin_bot(database_url: str, standin: SlackStandIn) -> AsyncIterator[RunningBot]:
    """Small export pages (10 rows a read) so paging is exercised, and a team that is not on UTC."""
    config = test_config(issue_log={"timezone": "Europe/Berlin", "export_page_size": 10})
    running = await start_bot(database_url, standin, config=config)
    yield running
    await stop_bot(running)


def _period_around_now(bot: RunningBot) -> str:
    today = bot.clock().astimezone(BERLIN).date()
    return f"{today - timedelta(days=1)}..{today + timedelta(days=2)}"


async def _issue(bot: RunningBot, issue_id: int) -> Issue:
    async with bot.opsbot.sessionmaker() as session:
        return (await session.execute(select(Issue).where(Issue.id == issue_id))).scalar_one()


def _local(moment) -> str:  # type: ignore[no-untyped-def]
    return moment.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M")


async def _exported_rows(bot: RunningBot) -> tuple[dict, list[list[str]]]:
    [upload] = await bot.standin.wait_for("files.completeUploadExternal")
    [record] = bot.standin.files.values()
    rows = list(csv.reader(io.StringIO(record["content"].decode("utf-8"), newline="")))
    return record | {"upload": upload}, rows


async def test_export_uploads_the_issue_log_template_columns(berlin_bot: RunningBot) -> None:
    bot = berlin_bot
    bot.clock.advance(days=-40)
    await bot.opsbot.issues.report(NewIssue("Long ago", "outside the period", Priority.LOW, Category.OTHER), ALICE)
    bot.clock.advance(days=40)

    log = bot.opsbot.issues
    tricky = await log.report(
        NewIssue('Login, "SSO" broken', "Step 1: open the LMS\nStep 2: click Login", Priority.HIGH, Category.SECURITY),
        ALICE,
    )
    await log.assign(tricky.issue_id, BOB, BOB)
    await log.comment(tricky.issue_id, '=HYPERLINK("http://evil.example")', BOB)
    [post] = await bot.standin.wait_for("chat.postMessage", where=lambda c: "SSO" in c.args["text"] and bot.standin.same_channel(c.args["channel"], "#help-desk"))
    await bot.outbox_drained()
    thread_reply = {"type": "message", "channel": post.response["channel"], "user": CAROL, "ts": "1900000000.000100",
                    "thread_ts": post.response["ts"], "text": "Works again, thanks <@U0BOB> &amp; team"}
    await bot.post_slack(event_body(thread_reply), content_type="application/json")
    await bot.wait_until(lambda: _has_comments(bot, tricky.issue_id, 2))
    bot.clock.advance(minutes=65)
    await bot.opsbot.issues.resolve(tricky.issue_id, BOB, resolution="Renewed the IdP certificate", root_cause="Expired certificate")

    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_amtool_firing.json"))
    formula = await log.report(NewIssue("-1 balance shown", "@here look", Priority.MEDIUM, Category.DATABASE), CAROL)
    for n in range(12):  # more than one export page
        await log.report(NewIssue(f"Filler {n}", "", Priority.LOW, Category.OTHER), CAROL)

    status, answer = await slash(bot, f"export {_period_around_now(bot)}", reply="export")
    assert status == 200 and "Preparing the issue log for" in ack_text(answer)

    record, rows = await _exported_rows(bot)
    assert record["channel_id"] == "C0OPS" and record["filename"].startswith("issue-log-") and record["filename"].endswith(".csv")
    assert "15 issues reported in the period" in record["initial_comment"] and "Europe/Berlin" in record["initial_comment"]
    assert rows[0] == list(EXPORT_COLUMNS)
    assert len(rows) == 1 + 15 and all(len(row) == len(EXPORT_COLUMNS) for row in rows)
    assert "Long ago" not in json.dumps(rows)

    resolved = await _issue(bot, tricky.issue_id)
    row = dict(zip(EXPORT_COLUMNS, rows[1]))
    assert row["Issue ID"] == str(tricky.issue_id)
    assert row["Date Reported"] == _local(resolved.reported_at)
    assert row["Reported By"] == "User U0ALICE"
    assert row["Issue Description"] == 'Login, "SSO" broken\nStep 1: open the LMS\nStep 2: click Login'
    assert (row["Priority"], row["Status"], row["Assigned To"]) == ("High", "Resolved", "User U0BOB")
    assert (row["Category"], row["Class"]) == ("security", "Complex")  # a person's report: no runbook applies
    assert row["Date Resolved"] == _local(resolved.resolved_at)
    assert (row["Resolution Details"], row["Root Cause"]) == ("Renewed the IdP certificate", "Expired certificate")
    assert row["Resolution Time"] == "1h 5m"
    first, second = row["Comments"].split("\n")
    assert first.endswith("User U0BOB: =HYPERLINK(\"http://evil.example\")") and first.startswith("[")
    assert second.endswith("User U0CAROL: Works again, thanks @User U0BOB & team")

    alert_row = dict(zip(EXPORT_COLUMNS, rows[2]))
    assert alert_row["Reported By"] == "alertmanager" and alert_row["Status"] == "Open"
    assert (alert_row["Category"], alert_row["Class"]) == ("infrastructure", "Minor")  # DiskFull: RB-INF-03, warning
    assert alert_row["Date Resolved"] == alert_row["Resolution Time"] == alert_row["Comments"] == ""

    formula_row = dict(zip(EXPORT_COLUMNS, rows[3]))
    assert formula_row["Issue ID"] == str(formula.issue_id)
    assert formula_row["Issue Description"] == "'-1 balance shown\n@here look"

    raw = record["content"].decode("utf-8")
    assert '"Login, ""SSO"" broken\nStep 1' in raw  # quoted cell, doubled quotes, newline kept inside
    assert raw.count("\r\n") >= 16


async def _has_comments(bot: RunningBot, issue_id: int, count: int) -> bool:
    from storage.models import IssueEvent

    async with bot.opsbot.sessionmaker() as session:
        query = select(IssueEvent).where(IssueEvent.issue_id == issue_id, IssueEvent.kind == "comment")
        return len((await session.execute(query)).scalars().all()) == count


async def test_export_of_an_empty_period_uploads_nothing(bot: RunningBot) -> None:
    status, answer = await slash(bot, "export 2001-01-01..2001-01-31", reply="empty")
    assert status == 200 and "2001-01-01 – 2001-01-31" in ack_text(answer)
    [reply] = await replies(bot, "empty")
    assert "No issues were reported in 2001-01-01 – 2001-01-31" in reply["text"]
    assert bot.standin.calls_to("files.getUploadURLExternal") == []


async def test_export_explains_a_bad_period_and_a_channel_it_cannot_post_in(bot: RunningBot) -> None:
    status, answer = await slash(bot, "export fortnight")
    assert status == 200 and "I don't know the period “fortnight”" in ack_text(answer)

    await bot.opsbot.issues.report(NewIssue("Disk full", "on build-3", Priority.HIGH, Category.INFRASTRUCTURE), ALICE)
    bot.standin.fail_next("files.completeUploadExternal", status=200, error="not_in_channel")
    await slash(bot, "export today", reply="refused")
    [reply] = await replies(bot, "refused")
    assert "invite me with `/invite @opsbot`" in reply["text"]
