"""Post-incident reviews: a resolved High-priority issue offers "Start a review"; the draft goes into the
issue's thread with the KPIs around the incident (checked against the samples), the Markdown document
beside it, and "Save to KB drafts" writes it where the knowledge base keeps drafts out of answers."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import select

from knowledge_base.loading import load_articles
from slack_standin import SlackStandIn
from storage.models import IssueStatus
from storage.models.performance import IncidentReview
from tests.harness import RunningBot, stop_bot, test_config
from tests.integration.escalation_support import alertmanager_body, click, open_issue
from tests.integration.kpi_expectations import Samples, Span, expected_kpis
from tests.integration.performance_support import FrozenClock, at, blocks_text, last_second_of, start_kpi_bot
from tests.support.prometheus import PrometheusServer

OPS = "U0OPS"


@pytest.fixture
def drafts(tmp_path: Path) -> Path:
    return tmp_path / "kb" / "drafts"


@pytest.fixture
async def kpi_bot(
    database_url: str, standin: SlackStandIn, prometheus_kpis: PrometheusServer, drafts: Path
) -> AsyncIterator[RunningBot]:
    config = test_config(performance={"drafts_dir": str(drafts)})
    running = await start_kpi_bot(database_url, standin, prometheus_kpis.url, at(prometheus_kpis.day, "10:14"), config=config)
    yield running
    await stop_bot(running)


async def _the_outage(bot: RunningBot, prometheus: PrometheusServer) -> tuple[int, str]:
    """The outage as the bot lived it: the alert at 10:14, acknowledged 10:16, resolved 11:02; the review that evening."""
    clock = bot.clock
    assert isinstance(clock, FrozenClock)
    issue_id, ts = await open_issue(bot, alertmanager_body("ShopProbeFailing", category="infrastructure"))
    clock.advance(minutes=2)
    await bot.opsbot.issues.acknowledge(issue_id, OPS)
    clock.advance(minutes=46)
    await bot.opsbot.issues.resolve(
        issue_id, OPS, resolution="Restarted the load balancer", root_cause="Conntrack table full",
        root_cause_category="infrastructure",
    )
    await bot.outbox_drained(timeout=30)
    clock.advance(seconds=(last_second_of(prometheus.day) - clock()).total_seconds())
    return issue_id, ts


async def test_a_review_is_drafted_in_the_thread_with_the_kpis_around_the_incident(
    kpi_bot: RunningBot, prometheus_kpis: PrometheusServer, drafts: Path
) -> None:
    issue_id, ts = await _the_outage(kpi_bot, prometheus_kpis)
    [*_, update] = await kpi_bot.standin.wait_for("chat.update")
    assert "performance.review.start" in json.dumps(update.args["blocks"])  # resolved and High: it is offered

    assert await click(kpi_bot, "performance.review.start", issue_id, OPS, ts=ts) == 200
    [thread] = await kpi_bot.standin.wait_for("chat.postMessage", where=lambda c: c.args.get("thread_ts") == ts
                                              and "Post-incident review" in c.args["text"], timeout=30)
    text = blocks_text(thread.args["blocks"])
    assert f"📝 Post-incident review (draft): #{issue_id} " in text
    assert "*Timeline* (UTC)" in text and "Acknowledged (<@U0OPS>)" in text and "Resolved (<@U0OPS>)" in text
    assert "*Root cause:* (infrastructure) Conntrack table full" in text
    assert "*Resolution:* Restarted the load balancer" in text
    assert "Find the root cause" not in text  # it is known
    assert "Agree the preventive actions in the review and log them with /adjustment (<@U0OPS>)" in text

    samples = Samples.read(prometheus_kpis.openmetrics)  # type: ignore[arg-type]
    began, ended = at(prometheus_kpis.day, "10:14"), at(prometheus_kpis.day, "11:02")
    edge, hour = timedelta(milliseconds=1), timedelta(hours=1)
    uptime = [expected_kpis(samples, Span(a - edge, b - edge))["uptime"] for a, b in
              ((began - hour, began), (began, ended), (ended, ended + hour))]
    assert [round(u, 2) for u in uptime] == [98.33, 4.17, 100.0]  # 59 of 60 probes · 2 of 48 · 60 of 60
    assert f"*Uptime:* {uptime[0]:.2f}% · {uptime[1]:.2f}% · {uptime[2]:.2f}% (target ≥ 99.9%)" in text

    [upload] = await kpi_bot.standin.wait_for("files.completeUploadExternal", timeout=30)
    assert upload.args["thread_ts"] == ts
    [file_id] = [f["id"] for f in upload.args["files"]]
    markdown = kpi_bot.standin.files[file_id]["content"].decode()
    assert kpi_bot.standin.files[file_id]["filename"] == f"incident-{issue_id}-review.md"
    assert markdown.startswith("---\ntitle: \"Post-incident review: #") and "\ndraft: true\n" in markdown
    assert f"| Uptime | ≥ 99.9% | {uptime[0]:.2f}% | {uptime[1]:.2f}% | {uptime[2]:.2f}% |" in markdown

    save = next(e for b in thread.args["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert save["action_id"] == "performance.review.save"
    assert await click(kpi_bot, "performance.review.save", int(save["value"]), OPS, reply_to="saved") == 200
    [saved] = await kpi_bot.standin.wait_for("response_url", where=lambda c: "Saved as" in c.args.get("text", ""))
    path = drafts / f"incident-{issue_id}-review.md"
    assert str(path) in saved.args["text"] and path.read_text(encoding="utf-8") == markdown
    report = load_articles([drafts.parent])
    assert path in report.skipped and not report.articles  # a draft: never an answer until it is published
    async with kpi_bot.opsbot.sessionmaker() as session:
        [review] = (await session.execute(select(IncidentReview))).scalars().all()
    assert (review.issue_id, review.started_by, review.saved_by, review.saved_path) == (issue_id, OPS, OPS, str(path))


async def test_a_second_click_points_at_the_review_already_started(
    kpi_bot: RunningBot, prometheus_kpis: PrometheusServer
) -> None:
    issue_id, ts = await _the_outage(kpi_bot, prometheus_kpis)
    await click(kpi_bot, "performance.review.start", issue_id, OPS, ts=ts)
    await kpi_bot.standin.wait_for("files.completeUploadExternal", timeout=30)
    await click(kpi_bot, "performance.review.start", issue_id, "U0CAROL", ts=ts, reply_to="again")
    [told] = await kpi_bot.standin.wait_for("response_url", where=lambda c: "was started by" in c.args.get("text", ""))
    assert told.args["text"].startswith(f"A review of issue #{issue_id} was started by <@U0OPS>")
    assert len(kpi_bot.standin.calls_to("files.completeUploadExternal")) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_only_high_priority_issues_get_reviews(kpi_bot: RunningBot) -> None:
    body = alertmanager_body("DiskAlmostFull", category="infrastructure")
    body["alerts"][0]["labels"]["severity"] = body["commonLabels"]["severity"] = "warning"  # Medium
    issue_id, ts = await open_issue(kpi_bot, body)
    await kpi_bot.opsbot.issues.resolve(issue_id, OPS, resolution="Cleaned up", root_cause_category="infrastructure")
    await kpi_bot.outbox_drained(timeout=30)
    assert all("performance.review.start" not in json.dumps(c.args["blocks"]) for c in kpi_bot.standin.calls_to("chat.update"))
    await click(kpi_bot, "performance.review.start", issue_id, OPS, ts=ts)  # an old or forged button
    [told] = await kpi_bot.standin.wait_for("response_url")
    assert told.args["text"] == f"Reviews are drafted for High-priority issues; #{issue_id} is Medium."
    async with kpi_bot.opsbot.sessionmaker() as session:
        assert (await session.execute(select(IncidentReview))).first() is None
    assert (await kpi_bot.opsbot.issues.get(issue_id)).status == IssueStatus.RESOLVED
