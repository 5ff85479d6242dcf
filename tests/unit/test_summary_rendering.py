"""Summaries on plain data: trends, templates (bundled, overridden, sandboxed), blocks, chart, buckets, config."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from handlers.summaries.settings import ReportSettings
from bot.config import ConfigError, OpsConfig, load_config
from handlers.slack.blockkit import HEADER_TEXT_LIMIT, MESSAGE_BLOCK_LIMIT, SECTION_TEXT_LIMIT
from handlers.periods import day_period, month_period, parse_period, range_period, week_period
from handlers.summaries.blocks import SECTION_ORDER, build_report_message
from handlers.summaries.chart import render_chart
from storage.repositories.summaries import AlertRecurrence, PeriodFigures, SeriesPoint
from handlers.summaries.rendering import (
    DAILY_TEMPLATE,
    SUMMARY_TEMPLATE,
    RenderedReport,
    ReportTemplates,
    TemplateProblem,
)
from handlers.summaries.service import chart_buckets
from handlers.summaries.trends import Direction, Trend, TrendKind, compare

UTC = timezone.utc
NOW = datetime(2026, 10, 20, 12, tzinfo=UTC)


def _context(cur: PeriodFigures, prev: PeriodFigures | None = None) -> dict:
    prev = prev or PeriodFigures()
    period = parse_period("week", NOW, UTC)
    return {
        "period": period, "previous": week_period(period.first_day - timedelta(days=7), UTC), "cur": cur, "prev": prev,
        "trend": compare(cur, prev), "targets": {"High": 14400, "Medium": 86400}, "generated_at": NOW,
    }


@pytest.mark.parametrize(
    ("kind", "current", "previous", "direction", "text"),
    [
        (TrendKind.COUNT, 12, 9, Direction.UP, "↑ +3 (was 9)"),
        (TrendKind.COUNT, 1200, 1500, Direction.DOWN, "↓ −300 (was 1,500)"),
        (TrendKind.COUNT, 4, 4, Direction.SAME, "→ no change"),
        (TrendKind.SECONDS, 3600.4, 3600.2, Direction.SAME, "→ no change"),  # compared as shown, not to the µs
        (TrendKind.SECONDS, 5400, 1800, Direction.UP, "↑ +1h (was 30m)"),
        (TrendKind.RATE, 0.834, 0.831, Direction.SAME, "→ no change"),
        (TrendKind.RATE, 0.5, 0.75, Direction.DOWN, "↓ −25 pts (was 75%)"),
        (TrendKind.SCORE, 4.26, 3.9, Direction.UP, "↑ +0.4 (was 3.9/5)"),
        (TrendKind.RATE, 0.5, None, Direction.UNKNOWN, "· (was n/a)"),
        (TrendKind.SECONDS, None, None, Direction.UNKNOWN, ""),
    ],
)
def test_trends_compare_what_people_read(
    kind: TrendKind, current: float | None, previous: float | None, direction: Direction, text: str
) -> None:
    trend = Trend(kind, current, previous)
    assert (trend.direction, str(trend)) == (direction, text)


def test_short_trends_for_lists() -> None:
    assert Trend(TrendKind.COUNT, 5, 2).short == "↑+3"
    assert Trend(TrendKind.COUNT, 1, 2).short == "↓−1"
    assert Trend(TrendKind.COUNT, 2, 2).short == "→"


def test_bundled_templates_render_every_section_with_escaped_names() -> None:
    cur = PeriodFigures(
        logged=3, resolved=2, by_priority={"High": 3}, by_category={"<db> & co": 3}, by_source={"grafana": 3},
        escalations=1, escalations_by_team={"dba <oncall>": 1},
        top_alerts=(AlertRecurrence("Disk<Full>", 4, 2),),
    )
    report = ReportTemplates().render(SUMMARY_TEMPLATE, _context(cur))
    assert set(SECTION_ORDER) | {"title", "definitions"} == set(report.sections)
    assert report.get("title") == "📊 Summary: week 43 of 2026 (19 Oct – 25 Oct)"
    assert "*By category:* &lt;db&gt; &amp; co 3 ↑+3" in report.get("breakdown")
    assert "dba &lt;oncall&gt; 1 ↑+1" in report.get("work")
    assert "1. `Disk&lt;Full&gt;` fired 4× · 2 issues" in report.get("recurring_alerts")
    assert "_Targets:_ High 4h · Medium 24h" in report.get("targets")
    daily = ReportTemplates().render(DAILY_TEMPLATE, _context(cur))
    assert daily.get("title").startswith("🗓 Daily performance report: ")
    assert daily.get("overview") == report.get("overview")


def test_an_override_directory_wins_file_by_file(tmp_path: Path) -> None:
    (tmp_path / DAILY_TEMPLATE).write_text(
        "{% block title %}Morning numbers{% endblock %}{% block satisfaction %}{% endblock %}"
    )
    templates = ReportTemplates(tmp_path)
    daily = templates.render(DAILY_TEMPLATE, _context(PeriodFigures(logged=1)))
    assert daily.get("title") == "Morning numbers" and daily.get("satisfaction") == ""
    assert daily.get("overview").startswith("*Issues logged:* 1")  # from the bundled summary
    assert templates.render(SUMMARY_TEMPLATE, _context(PeriodFigures())).get("title").startswith("📊 Summary")


def test_deployment_templates_are_sandboxed(tmp_path: Path) -> None:
    (tmp_path / SUMMARY_TEMPLATE).write_text(
        "{% block overview %}{{ cur.__class__.__init__.__globals__ }}{% endblock %}"
    )
    with pytest.raises(TemplateProblem, match="summary.mrkdwn.j2, block overview"):
        ReportTemplates(tmp_path).render(SUMMARY_TEMPLATE, _context(PeriodFigures()))
    (tmp_path / SUMMARY_TEMPLATE).write_text("{% block overview %}{{ ''.join.__self__.__class__.mro() }}{% endblock %}")
    with pytest.raises(TemplateProblem):
        ReportTemplates(tmp_path).render(SUMMARY_TEMPLATE, _context(PeriodFigures()))


def test_compiled_templates_are_reused_but_an_edited_override_is_compiled_again(tmp_path: Path) -> None:
    """Apps built in one process share compiled templates (core.templates); Jinja checks the source."""
    (tmp_path / DAILY_TEMPLATE).write_text("{% block title %}First{% endblock %}")
    assert ReportTemplates(tmp_path).render(DAILY_TEMPLATE, _context(PeriodFigures())).get("title") == "First"
    (tmp_path / DAILY_TEMPLATE).write_text("{% block title %}Second{% endblock %}")
    assert ReportTemplates(tmp_path).render(DAILY_TEMPLATE, _context(PeriodFigures())).get("title") == "Second"
    (tmp_path / SUMMARY_TEMPLATE).write_text("{% block overview %}{{ cur.__class__.__init__.__globals__ }}{% endblock %}")
    for _ in range(2):  # compiled, then taken from the cache: sandboxed both times
        with pytest.raises(TemplateProblem, match="block overview"):
            ReportTemplates(tmp_path).render(SUMMARY_TEMPLATE, _context(PeriodFigures()))


def test_a_broken_override_fails_at_start_up(tmp_path: Path) -> None:
    (tmp_path / DAILY_TEMPLATE).write_text("{% block title %}{{ period.label {% endblock %}")
    with pytest.raises(TemplateProblem, match="daily_report.mrkdwn.j2 line 1"):
        ReportTemplates(tmp_path)


def test_blocks_keep_to_slack_limits_and_skip_empty_sections() -> None:
    report = RenderedReport({"title": "T" * 500, "overview": "x" * 10_000, "breakdown": "", "definitions": "defs"})
    text, blocks = build_report_message(report, note="chart in your DMs")
    assert blocks[0]["type"] == "header" and len(blocks[0]["text"]["text"]) <= HEADER_TEXT_LIMIT
    assert [b["type"] for b in blocks] == ["header", "section", "context"]
    assert blocks[1]["block_id"] == "summary.overview" and len(blocks[1]["text"]["text"]) <= SECTION_TEXT_LIMIT
    assert [e["text"] for e in blocks[2]["elements"]] == ["defs", "chart in your DMs"]
    assert len(blocks) <= MESSAGE_BLOCK_LIMIT and text.startswith("TTT")


def test_chart_is_a_png_with_or_without_data() -> None:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    points = [
        SeriesPoint(
            start + timedelta(days=n), start + timedelta(days=n + 1), n % 3, n % 2, 3600.0 * n if n % 2 else None
        )
        for n in range(31)
    ]
    for series in (points, [SeriesPoint(start, start + timedelta(days=1), 0, 0, None)]):
        png = render_chart(series, title="Issues", tz=ZoneInfo("Europe/London"))
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000


def test_chart_buckets_are_local_days_weeks_or_months() -> None:
    london = ZoneInfo("Europe/London")
    buckets, unit = chart_buckets(day_period(date(2026, 10, 25), london))  # the day clocks go back
    assert unit == "day" and len(buckets) == 7  # a day still charts its week
    assert buckets[-1] == (datetime(2026, 10, 24, 23, tzinfo=UTC), datetime(2026, 10, 26, 0, tzinfo=UTC))  # 25 hours
    buckets, unit = chart_buckets(month_period(date(2026, 10, 1), UTC))
    assert unit == "day" and len(buckets) == 31
    buckets, unit = chart_buckets(range_period(date(2026, 1, 1), date(2026, 6, 30), UTC))
    assert unit == "week" and buckets[0][0] == datetime(2026, 1, 1, tzinfo=UTC)
    assert buckets[-1][1] == datetime(2026, 7, 1, tzinfo=UTC)
    buckets, unit = chart_buckets(range_period(date(2024, 1, 15), date(2026, 6, 30), UTC))
    assert unit == "month" and buckets[1][0] == datetime(2024, 2, 1, tzinfo=UTC) and len(buckets) == 30


def test_report_settings_read_targets_times_and_zones(tmp_path: Path) -> None:
    config = OpsConfig.model_validate(
        {"reports": {"sla_targets": {"High": "2h", "Medium": "1d", "Low": "90m"},
                     "daily": {"time": "07:45", "timezone": "Europe/Berlin", "channel": "C0REPORTS"}}}
    )
    targets = {priority.value: target for priority, target in config.reports.sla_targets.items()}
    assert targets == {"High": timedelta(hours=2), "Medium": timedelta(days=1), "Low": timedelta(minutes=90)}
    assert config.reports.daily.time.hour == 7 and config.reports.tz == ZoneInfo("Europe/Berlin")
    assert ReportSettings().daily.channel is None and ReportSettings().tz == ZoneInfo("UTC")
    follows = OpsConfig.model_validate({"issue_log": {"timezone": "Asia/Tokyo"}})
    assert follows.reports.tz == ZoneInfo("Asia/Tokyo")  # no zone of its own: the team's, as /issue uses
    bad = tmp_path / "bad.yaml"
    for body, where in (
        ("reports:\n  daily:\n    timezone: Mars/Olympus\n", "reports.daily.timezone"),
        ("reports:\n  sla_targets:\n    Urgent: 1h\n", "reports.sla_targets"),
        ("reports:\n  sla_targets:\n    High: soon\n", "reports.sla_targets.High"),
        (f"reports:\n  templates_dir: {tmp_path / 'missing'}\n", "reports.templates_dir"),
    ):
        bad.write_text(body)
        with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
            load_config(bad)
