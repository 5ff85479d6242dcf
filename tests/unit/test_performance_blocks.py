"""Block Kit of the performance feature, on the builders' dict output: limits, ids, what each surface offers."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

from handlers.issues.message import build_issue_message
from handlers.issues.message_view import IssueMessageView
from handlers.performance.blocks import (
    AdjustmentForm,
    build_adjustment_modal,
    build_performance_message,
    build_performance_section,
    build_review_actions,
    build_review_thread,
)
from handlers.performance.chart import render_kpi_chart
from handlers.performance.evaluation import evaluate
from handlers.performance.export import kpi_table_csv
from handlers.performance.settings import PerformanceSettings
from storage.models import Issue, IssueStatus

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
KPIS = PerformanceSettings().definitions()


def _texts(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if "text" in b and isinstance(b["text"], dict)]


def test_a_long_report_is_split_into_sections_within_slack_limits() -> None:
    issues = "\n".join(f"• #{n} High · {'x' * 180}" for n in range(60))  # ~11,000 characters
    sections = {"title": "📈 Performance report: today", "kpis": "*KPIs*\n🟢 *Uptime* 99.99%", "issues": issues,
                "adjustments": "", "problems": "", "definitions": "Compared with yesterday."}
    text, blocks = build_performance_message(sections, note="The chart is in your DMs.")
    assert blocks[0]["type"] == "header" and text.startswith("📈 Performance report")
    issue_blocks = [b for b in blocks if b.get("block_id", "").startswith("performance.issues")]
    assert len(issue_blocks) >= 4 and len({b["block_id"] for b in blocks if "block_id" in b}) == len(issue_blocks) + 1
    assert all(len(t) <= 3000 for t in _texts(blocks)) and len(blocks) <= 50
    assert "".join(b["text"]["text"] for b in issue_blocks).count("• #") == 60  # nothing lost between sections
    assert not any(b.get("block_id") == "performance.adjustments" for b in blocks)  # empty sections are left out
    assert blocks[-1]["type"] == "context" and len(blocks[-1]["elements"]) == 2


def test_the_daily_report_section_has_no_header_of_its_own() -> None:
    blocks = build_performance_section({"title": "📈 Performance report: Tue", "kpis": "🟢 *Uptime* 99.99%"})
    assert [b["type"] for b in blocks] == ["divider", "section", "section"]
    assert blocks[1]["text"]["text"] == "*📈 Performance report: Tue*"


def _issue(priority: str, status: str) -> Issue:
    return Issue(
        id=7, reported_at=NOW, reported_by="alertmanager", source="alertmanager", title="Shop down", description="",
        priority=priority, category="infrastructure", status=status, is_grouped=False,
        resolved_at=NOW if status == IssueStatus.RESOLVED else None, resolution_seconds=60,
    )


def test_only_resolved_high_priority_issues_offer_a_review() -> None:
    assert build_review_actions(7, "High", resolved=False) == []
    assert build_review_actions(7, "Medium", resolved=True) == []
    [block] = build_review_actions(7, "High", resolved=True)
    assert block["block_id"] == "performance.review.start"
    assert [(e["action_id"], e["value"]) for e in block["elements"]] == [("performance.review.start", "7")]

    def review_buttons(priority: str, status: str) -> list[str]:
        _, blocks = build_issue_message(IssueMessageView(issue=_issue(priority, status)))
        return [e["action_id"] for b in blocks if b.get("block_id") == "performance.review.start" for e in b["elements"]]

    assert review_buttons("High", IssueStatus.RESOLVED) == ["performance.review.start"]
    assert review_buttons("High", IssueStatus.OPEN) == [] and review_buttons("Low", IssueStatus.RESOLVED) == []


def test_the_review_thread_offers_saving_only_with_a_drafts_folder() -> None:
    sections = {"title": "📝 Review", "timeline": "*Timeline*\n• 10:14 Opened", "kpis": "*KPIs*", "footer": "Drafted."}
    _, with_save = build_review_thread(sections, review_id=3, can_save=True)
    _, without = build_review_thread(sections, review_id=3, can_save=False)
    assert with_save[-1]["block_id"] == "performance.review.actions"
    assert with_save[-1]["elements"][0]["action_id"] == "performance.review.save"
    assert with_save[-1]["elements"][0]["value"] == "3"
    assert all(b["type"] != "actions" for b in without)


def test_the_adjustment_modal_asks_what_the_team_template_records() -> None:
    form = AdjustmentForm(kpis=[(k.key, k.name) for k in KPIS], today=date(2026, 11, 24), area="API", private_metadata="{}")
    view = build_adjustment_modal(form)
    assert view["callback_id"] == "performance.adjustment.modal"
    assert [b["block_id"] for b in view["blocks"]] == [
        "adjustment.area", "adjustment.change", "adjustment.impact", "adjustment.kpi", "adjustment.follow_up",
    ]
    assert view["blocks"][0]["element"]["initial_value"] == "API"
    assert [b.get("optional", False) for b in view["blocks"]] == [False, False, True, True, True]
    options = view["blocks"][3]["element"]["options"]
    assert options[0] == {"text": {"type": "plain_text", "text": "Uptime"}, "value": "uptime"} and len(options) == 13
    assert view["blocks"][4]["element"]["type"] == "datepicker"
    assert len(json.dumps(view)) < 20_000


def test_the_csv_keeps_numbers_plain_and_defuses_formulas() -> None:
    from handlers.performance.service import PerformanceReport
    from handlers.periods import day_period

    period = day_period(date(2026, 11, 24), timezone.utc)
    rows = [evaluate(KPIS[0], 96.7361, 99.93), evaluate(KPIS[6], 10991.5, None)]
    custom = KPIS[0].model_copy(update={"key": "=cmd", "name": "+SUM(A1)"})
    rows.append(evaluate(custom, None, None, error="-bad"))
    report = PerformanceReport(period, period, rows, "Prometheus", None, [], [], 0, [], NOW)
    lines = kpi_table_csv(report).splitlines()
    assert lines[0] == "kpi,name,unit,target,current,previous,status,trend,period_start,period_end,error"
    assert lines[1].startswith("uptime,Uptime,%,≥ 99.9%,96.74,99.93,red,worse,2026-11-24T00:00:00+00:00,")
    assert lines[2].startswith("errors_total,Errors (4xx and 5xx),,< 50,10992,,red,n/a,")
    assert lines[3].startswith("'=cmd,'+SUM(A1),%,") and lines[3].endswith(",'-bad")


def test_the_chart_is_a_png_with_a_panel_per_kpi() -> None:
    rows = [evaluate(kpi, None if n % 4 == 0 else 50.0 + n, 40.0) for n, kpi in enumerate(KPIS)]
    png = render_kpi_chart(rows, title="KPIs against their targets (today)")
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert render_kpi_chart([], title="nothing").startswith(b"\x89PNG")


def test_per_day_targets_follow_the_period_in_the_chart_and_rows() -> None:
    downtime = next(kpi for kpi in KPIS if kpi.key == "downtime")
    row = evaluate(downtime, 48, 1, days=7)
    assert row.target == "< 210 min" and row.status.value == "green"  # a week's budget: 7 × 30 min
