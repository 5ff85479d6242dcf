"""`/summary performance` against a real Prometheus over known data: every figure checked against the
samples themselves (tests/integration/kpi_expectations.py), the statuses and trends against the data's story.

The data (tests/support/kpi_data.py): the eventful day has a 47-minute outage, a slow hour of the
API, a CPU spike, a memory peak, slower database queries and busier connections; the day before is
calm. The bot's clock stands at the eventful day's last second, so "today" is that whole day.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import AsyncIterator, Callable

import pytest

from slack_standin import SlackStandIn
from storage.models.performance import Adjustment
from tests.harness import RunningBot, stop_bot, test_config
from tests.integration.kpi_expectations import Samples, Span, api_p95_ms, day_span, expected_kpis, midnight
from tests.integration.performance_support import (
    MANAGER,
    ask,
    at,
    blocks_text,
    kpi_lines,
    last_second_of,
    section,
    seed_issues,
    start_kpi_bot,
)
from tests.support.prometheus import PrometheusServer

# KPI -> how the team writes its figure (independent of opsbot's formatting code)
SHOWN: dict[str, tuple[str, Callable[[float], str]]] = {
    "uptime": ("Uptime", lambda v: f"{v:.2f}%"),
    "downtime": ("Downtime", lambda v: f"{v:.0f} min"),
    "page_load": ("Page load time", lambda v: f"{v:.2f} s"),
    "api_p95": ("API response time (p95)", lambda v: f"{v:.0f} ms"),
    "errors_4xx": ("4xx errors", lambda v: f"{v:.2f}%"),
    "errors_5xx": ("5xx errors", lambda v: f"{v:.3f}%"),
    "errors_total": ("Errors (4xx and 5xx)", lambda v: f"{v:,.0f}"),
    "db_query": ("Database query time (mean)", lambda v: f"{v:.0f} ms"),
    "cpu": ("CPU (busiest 5 min)", lambda v: f"{v:.1f}%"),
    "memory": ("Memory (peak)", lambda v: f"{v:.1f}%"),
    "disk": ("Disk used (fullest)", lambda v: f"{v:.1f}%"),
    "network_latency": ("Network latency", lambda v: f"{v:.0f} ms"),
    "db_connections": ("DB connections (peak, of max)", lambda v: f"{v:.0f}%"),
}
# What the data's story makes of each KPI: (status marker, trend) against the team's targets and the calm day.
VERDICTS = {
    "uptime": ("🔴", "worse"),  # 47 failed probes of 1,440: 96.74 %, below the 99.5 % warning line
    "downtime": ("🟡", "worse"),  # 47 min: over the 30 min budget, under the 60 min warning line
    "page_load": ("🟢", "worse"),  # slower than the day before, still under 2 s
    "api_p95": ("🟢", "worse"),  # one slow hour lifts the day's p95, still under 500 ms
    "errors_4xx": ("🟢", "steady"),  # six 404s a minute both days
    "errors_5xx": ("🟡", "worse"),  # the outage's 500s: over 0.1 %, under 0.5 %
    "errors_total": ("🔴", "worse"),  # thousands, against a budget of 50 a day
    "db_query": ("🟡", "worse"),  # slower second query: over 100 ms, under 200 ms
    "cpu": ("🔴", "worse"),  # the 93 % spike, beyond the 90 % warning line
    "memory": ("🟡", "worse"),  # 78 % peak: over 75 %, under 90 %
    "disk": ("🟢", "worse"),  # filling slowly, far from 80 %
    "network_latency": ("🟢", "improved"),  # 6 ms faster than the day before
    "db_connections": ("🟡", "worse"),  # 88 of 100 at the spike: over 80 %, under 95 %
}
TARGETS = {
    "uptime": "≥ 99.9%", "downtime": "< 30 min", "page_load": "< 2 s", "api_p95": "< 500 ms", "errors_4xx": "< 1%",
    "errors_5xx": "< 0.1%", "errors_total": "< 50", "db_query": "< 100 ms", "cpu": "< 75%", "memory": "< 75%",
    "disk": "< 80%", "network_latency": "< 100 ms", "db_connections": "< 80%",
}  # fmt: skip


@pytest.fixture(scope="module")
def samples(prometheus_kpis: PrometheusServer) -> Samples:
    assert prometheus_kpis.openmetrics is not None
    return Samples.read(prometheus_kpis.openmetrics)


@pytest.fixture
async def kpi_bot(database_url: str, standin: SlackStandIn, prometheus_kpis: PrometheusServer) -> AsyncIterator[RunningBot]:
    running = await start_kpi_bot(database_url, standin, prometheus_kpis.url, last_second_of(prometheus_kpis.day))
    yield running
    await stop_bot(running)


def _expected_table(samples: Samples, prometheus: PrometheusServer, now) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    """KPI name -> (value, previous value) as the team would write them, from the samples."""
    day = midnight(prometheus.day)
    today = expected_kpis(samples, day_span(day, now))
    before = expected_kpis(samples, day_span(day - timedelta(days=1)))
    return {name: (shown(today[key]), shown(before[key])) for key, (name, shown) in SHOWN.items()}


async def test_a_manager_gets_the_kpi_table_the_data_says(
    kpi_bot: RunningBot, samples: Samples, prometheus_kpis: PrometheusServer
) -> None:
    async with kpi_bot.opsbot.sessionmaker.begin() as session:
        await seed_issues(session, prometheus_kpis.day)
    reply = await ask(kpi_bot, "performance today")
    assert reply["response_type"] == "ephemeral"
    blocks = reply["blocks"]
    assert blocks[0]["text"]["text"] == f"📈 Performance report: {prometheus_kpis.day:%a %d %b %Y}"
    assert len(blocks) <= 50 and all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)

    lines = kpi_lines(blocks)
    expected = _expected_table(samples, prometheus_kpis, kpi_bot.clock())
    assert list(lines) == [name for name, _ in SHOWN.values()]  # every KPI, in the team's order
    for key, (name, _) in SHOWN.items():
        line, (value, previous) = lines[name], expected[name]
        assert (line.value, line.was, line.target) == (value, previous, TARGETS[key]), name
        assert (line.marker, line.trend) == VERDICTS[key], name
    assert (lines["Uptime"].value, lines["Downtime"].value) == ("96.74%", "47 min")  # the outage, in the team's words

    issues = section(blocks, "issues")
    assert "(2 in the period)" in issues and "Probe blip" not in issues  # the day before's issue is not this day's
    outage, slow = issues.splitlines()[1:3]  # High first
    assert outage.startswith("• #") and "Shop unreachable: probe failing" in outage
    assert "Restarted the load balancer (<@U0OPS>)" in outage and "✅ resolved" in outage
    assert "Escalated to Developers (<@U0LEAD>)" in slow and "⏳ unresolved" in slow
    assert "None recorded: `/adjustment` logs one." in section(blocks, "adjustments")
    assert "Compared with " in blocks[-1]["elements"][0]["text"]

    [upload] = await kpi_bot.standin.wait_for("files.completeUploadExternal", timeout=30)
    assert upload.args["channel_id"] == kpi_bot.standin.workspace.open_dm(MANAGER)
    [file_id] = [f["id"] for f in upload.args["files"]]
    assert kpi_bot.standin.files[file_id]["content"].startswith(b"\x89PNG")
    assert kpi_bot.standin.files[file_id]["filename"] == f"performance-{prometheus_kpis.day.isoformat()}.png"


async def test_an_adjustment_shows_its_kpi_change_since_it_was_made(
    kpi_bot: RunningBot, samples: Samples, prometheus_kpis: PrometheusServer
) -> None:
    day = prometheus_kpis.day
    made = at(day, "11:00")  # after the slow hour: the cache change
    async with kpi_bot.opsbot.sessionmaker.begin() as session:
        session.add(
            Adjustment(made_at=made, made_by="U0DEV", area="API", change="Redis cache in front of the product API",
                       expected_impact="p95 under 450 ms", kpi="api_p95", follow_up_on=day + timedelta(days=7))
        )
    reply = await ask(kpi_bot, "performance today")

    now = kpi_bot.clock()
    length = now - made  # the time since, against as long just before
    edge = timedelta(milliseconds=1)
    before = api_p95_ms(samples, Span(made - length - edge, made - edge))
    after = api_p95_ms(samples, Span(made - edge, now - edge))
    change = after - before
    assert change < 0
    adjustments = section(reply["blocks"], "adjustments")
    assert "*API*: Redis cache in front of the product API (<@U0DEV>) · expected: p95 under 450 ms" in adjustments
    assert f"*API response time (p95) −{abs(change):.0f} ms* since the change ({before:.0f} ms → {after:.0f} ms)" in adjustments


async def test_export_uploads_the_report_as_markdown_and_the_kpis_as_csv(
    kpi_bot: RunningBot, samples: Samples, prometheus_kpis: PrometheusServer
) -> None:
    async with kpi_bot.opsbot.sessionmaker.begin() as session:
        await seed_issues(session, prometheus_kpis.day)
    reply = await ask(kpi_bot, "performance today export")
    assert "the KPI table as CSV are in your direct messages" in reply["blocks"][-1]["elements"][-1]["text"]
    uploads = await kpi_bot.standin.wait_for("files.completeUploadExternal", count=2, timeout=30)
    files = {kpi_bot.standin.files[f["id"]]["filename"]: kpi_bot.standin.files[f["id"]]["content"]
             for upload in uploads for f in upload.args["files"]}
    base = f"performance-{prometheus_kpis.day.isoformat()}"
    assert set(files) == {f"{base}.png", f"{base}.md", f"{base}-kpis.csv"}

    rows = {row["kpi"]: row for row in csv.DictReader(io.StringIO(files[f"{base}-kpis.csv"].decode()))}
    expected = _expected_table(samples, prometheus_kpis, kpi_bot.clock())
    assert list(rows) == list(SHOWN)
    for key, (name, _) in SHOWN.items():
        value, previous = expected[name]
        number = lambda text: text.rstrip("%").split(" ")[0].replace(",", "")  # noqa: E731
        assert (rows[key]["current"], rows[key]["previous"]) == (number(value), number(previous)), key
        assert rows[key]["status"] == {"🟢": "green", "🟡": "yellow", "🔴": "red"}[VERDICTS[key][0]]
        assert rows[key]["trend"] == VERDICTS[key][1]

    markdown = files[f"{base}.md"].decode()
    assert markdown.startswith(f"# Performance report: {prometheus_kpis.day:%a %d %b %Y}")
    assert "| Uptime | ≥ 99.9% | 96.74% | 99.93% | red | worse (−3.19 pts) |" in markdown
    assert "## Identified issues & actions taken" in markdown and "Restarted the load balancer" in markdown


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_week_scales_the_daily_budgets(kpi_bot: RunningBot, prometheus_kpis: PrometheusServer) -> None:
    first = prometheus_kpis.day - timedelta(days=1)  # both days of data, and five to come
    reply = await ask(kpi_bot, f"performance {first.isoformat()}..{(first + timedelta(days=6)).isoformat()}")
    lines = kpi_lines(reply["blocks"])
    assert lines["Downtime"].target == "< 210 min" and lines["Errors (4xx and 5xx)"].target == "< 350"
    assert lines["Downtime"].value == "48 min" and lines["Downtime"].marker == "🟢"  # 1 + 47 failed probes, of 210
    assert lines["API response time (p95)"].target == "< 500 ms"  # a latency target does not scale

    later = await ask(kpi_bot, f"performance {(prometheus_kpis.day + timedelta(days=3)).isoformat()}", name="later")
    assert section(later["blocks"], "kpis") == "" and section(later["blocks"], "problems") == "ℹ️ No KPI data for this period."


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_without_a_kpi_source_the_report_says_so_and_keeps_the_issue_log(bot: RunningBot) -> None:
    reply = await ask(bot, "performance week", user="U0ANYONE")
    assert section(reply["blocks"], "problems") == (
        "⚠️ *No KPI figures:* no KPI source is configured (set PROMETHEUS_URL). "
        "The issues and adjustments below are complete."
    )
    assert "(0 in the period)" in section(reply["blocks"], "issues")
    assert not bot.standin.calls_to("files.completeUploadExternal")


async def test_an_unreachable_source_still_reports_the_issue_log_in_one_line(
    database_url: str, standin: SlackStandIn, prometheus_kpis: PrometheusServer
) -> None:
    bot = await start_kpi_bot(database_url, standin, "http://127.0.0.1:9", last_second_of(prometheus_kpis.day))
    try:
        async with bot.opsbot.sessionmaker.begin() as session:
            await seed_issues(session, prometheus_kpis.day)
        reply = await ask(bot, "performance today")
        blocks = reply["blocks"]
        assert section(blocks, "kpis") == ""  # no table of "no data" rows
        problems = section(blocks, "problems")
        assert problems.startswith("⚠️ *No KPI figures:* Prometheus at http://127.0.0.1:9 failed: ")
        assert "is unreachable" in problems and len(problems.splitlines()) == 1
        assert "(2 in the period)" in section(blocks, "issues")
        assert not bot.standin.calls_to("files.completeUploadExternal")  # no chart of nothing
    finally:
        await stop_bot(bot)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_refused_query_is_named_at_start_up_and_in_the_report(
    database_url: str, standin: SlackStandIn, prometheus_kpis: PrometheusServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = test_config(performance={"kpis": {"memory": {"query": "max(node_memory_MemAvailable_bytes[$__range]"}}})
    bot = await start_kpi_bot(database_url, standin, prometheus_kpis.url, last_second_of(prometheus_kpis.day), config=config)
    try:
        feature = bot.opsbot.performance

        async def checked() -> bool:
            return feature.startup_problems is not None

        await bot.wait_until(checked, timeout=30)
        [problem] = feature.startup_problems or []
        assert problem.startswith("KPI memory (Memory (peak)): the query was refused: ") and "parse error" in problem
        assert any("KPI memory (Memory (peak))" in record.getMessage() for record in caplog.records)

        reply = await ask(bot, "performance today")
        lines = kpi_lines(reply["blocks"])
        assert lines["Memory (peak)"].value == "no data" and lines["Uptime"].value == "96.74%"
        assert section(reply["blocks"], "problems").startswith("⚠️ *Memory (peak):* the query was refused: ")
    finally:
        await stop_bot(bot)


async def test_the_daily_report_carries_the_kpi_section_of_the_whole_day(
    database_url: str, standin: SlackStandIn, samples: Samples, prometheus_kpis: PrometheusServer
) -> None:
    channel = "C0OPSREPORT"
    config = test_config(reports={"daily": {"enabled": True, "time": "08:00", "timezone": "UTC", "channel": channel}})
    morning_after = midnight(prometheus_kpis.day) + timedelta(days=1, hours=8, seconds=30)
    bot = await start_kpi_bot(database_url, standin, prometheus_kpis.url, morning_after, config=config)
    try:
        assert await bot.opsbot.daily_report.run_if_due()
        [post] = await bot.standin.wait_for("chat.postMessage", where=lambda c: bot.standin.same_channel(c.args["channel"], channel), timeout=30)
        blocks = post.args["blocks"]
        assert blocks[0]["text"]["text"].startswith("🗓 Daily performance report: ")  # the issue log's report ...
        text = blocks_text(blocks)
        assert f"📈 Performance report: {prometheus_kpis.day:%a %d %b %Y}" in text  # ... with the KPI section
        lines = kpi_lines(blocks)
        whole_day = expected_kpis(samples, day_span(midnight(prometheus_kpis.day)))
        for key, (name, shown) in SHOWN.items():
            assert lines[name].value == shown(whole_day[key]), name
            assert (lines[name].marker, lines[name].trend) == VERDICTS[key], name
        charts = await bot.standin.wait_for("files.completeUploadExternal", count=2, timeout=30)
        names = {bot.standin.files[f["id"]]["filename"] for c in charts for f in c.args["files"]}
        assert f"daily-performance-{prometheus_kpis.day.isoformat()}.png" in names
    finally:
        await stop_bot(bot)
