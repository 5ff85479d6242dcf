"""Every figure of a summary against a seeded issue log whose answers are worked out by hand.

The period is 1-10 Oct 2026 (UTC), the previous period 21-30 Sep. Comments give the arithmetic.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories.summaries import AlertRecurrence
from handlers.summaries.trends import Direction
from storage.models import (
    Alert,
    Escalation,
    Issue,
    IssueEvent,
    IssueStatus,
    KbQuestion,
    RunbookRun,
    SurveyResponse,
)
from tests.harness import RunningBot

PERIOD = "2026-10-01..2026-10-10"


def at(day: str, clock: str = "00:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00+00:00")


def _issue(
    issue_id: int, priority: str, category: str, source: str, reported: datetime,
    *, ack: int | None = None, resolved: datetime | None = None, status: str | None = None,
) -> Issue:
    return Issue(
        id=issue_id,
        reported_at=reported,
        reported_by="U0STAFF" if source == "slack" else source,
        source=source,
        title=f"Issue {issue_id}",
        priority=priority,
        category=category,
        status=status or (IssueStatus.RESOLVED if resolved else IssueStatus.OPEN),
        channel="#alerts",
        acknowledged_at=reported + timedelta(seconds=ack) if ack is not None else None,
        ack_seconds=ack,
        resolved_at=resolved,
        resolution_seconds=int((resolved - reported).total_seconds()) if resolved else None,
        updated_at=reported,
    )


async def seed_log(session: AsyncSession) -> None:
    """The issue log the expected figures below are computed from."""
    session.add_all(
        [
            # reported in the period
            _issue(1, "High", "database", "alertmanager", at("2026-10-01", "10:00"), ack=120,
                   resolved=at("2026-10-01", "12:00")),
            _issue(2, "High", "database", "grafana", at("2026-10-02", "09:00"), ack=600,
                   resolved=at("2026-10-02", "17:00")),
            _issue(3, "Medium", "application", "slack", at("2026-10-03", "08:00"), ack=60,
                   resolved=at("2026-10-03", "09:00")),
            _issue(4, "Low", "infrastructure", "alertmanager", at("2026-10-04"), resolved=at("2026-10-05")),
            _issue(5, "Medium", "application", "slack", at("2026-10-05", "12:00"), ack=300,
                   status=IssueStatus.IN_PROGRESS),
            _issue(6, "Low", "other", "generic", at("2026-10-09"), resolved=at("2026-10-12")),
            # reported in the previous period (7 is resolved in this one)
            _issue(7, "Medium", "database", "alertmanager", at("2026-09-29"), ack=1800, resolved=at("2026-10-02")),
            _issue(8, "High", "security", "alertmanager", at("2026-09-22", "10:00"), ack=60,
                   resolved=at("2026-09-22", "11:00")),
            _issue(9, "Low", "other", "slack", at("2026-09-25"), resolved=at("2026-09-25", "06:00")),
        ]
    )
    await session.flush()
    session.add_all(
        [
            IssueEvent(issue_id=3, at=at("2026-10-03", "08:30"), actor="U0STAFF", kind="reopened", summary="Reopened"),
            IssueEvent(issue_id=1, at=at("2026-10-01", "10:00"), actor="alertmanager", kind="opened", summary="Opened"),
            Escalation(issue_id=2, team="dba", requested_by="U0A", created_at=at("2026-10-02", "10:00")),
            Escalation(issue_id=5, team="developers", requested_by="U0A", created_at=at("2026-10-06")),
            Escalation(issue_id=8, team="security", requested_by="U0A", created_at=at("2026-09-22", "10:30")),
            _run(1, "verified", at("2026-10-01", "10:05")),
            _run(4, "failed", at("2026-10-04", "00:10")),
            _run(2, "running", at("2026-10-02", "09:30")),
            _run(2, "refused", at("2026-10-02", "09:40")),
            _run(8, "verified", at("2026-09-22", "10:10")),
            _survey(3, "U0STAFF", "answered", at("2026-10-03", "09:00"), (4, 5, 5)),
            _survey(1, "U0ALICE", "answered", at("2026-10-01", "12:00"), (2, 3, 4)),
            _survey(2, "U0BOB", "pending", at("2026-10-02", "17:00")),
            _survey(4, "U0CAROL", "cancelled", at("2026-10-05")),
            _survey(9, "U0STAFF", "answered", at("2026-09-25", "06:00"), (5, 5, 5)),
            *[_question(at("2026-10-02"), outcome) for outcome in ("solved", "solved", "answered", "ticket")],
            *[_question(at("2026-09-23"), "solved") for _ in range(2)],
            _alert("fp1", "DiskFull", 5, 4, at("2026-10-04", "01:00")),
            _alert("fp2", "DiskFull", 2, 6, at("2026-10-09", "01:00")),
            _alert("fp3", "PgDown", 1, 1, at("2026-10-01", "10:00")),
            _alert("fp4", "HighLatency", 3, 2, at("2026-10-02", "09:00")),
            _alert("fp5", "CertExpiry", 9, 8, at("2026-09-22", "10:00")),
        ]
    )


def _run(issue_id: int, status: str, started: datetime) -> RunbookRun:
    return RunbookRun(
        issue_id=issue_id, runbook_id="restart", trigger="button", requested_by="U0A", status=status, started_at=started
    )


def _survey(
    issue_id: int, user: str, status: str, sent: datetime, scores: tuple[int, int, int] | None = None
) -> SurveyResponse:
    helpful, speed, professional = scores or (None, None, None)
    return SurveyResponse(
        issue_id=issue_id, user_id=user, status=status, sent_at=sent, answered_at=sent if scores else None,
        helpful=helpful, speed=speed, professional=professional,
    )


def _question(asked: datetime, outcome: str) -> KbQuestion:
    return KbQuestion(asked_at=asked, asked_by="U0STAFF", question="vpn?", outcome=outcome)


def _alert(fingerprint: str, name: str, fired: int, issue_id: int, seen: datetime) -> Alert:
    return Alert(
        source="alertmanager", fingerprint=fingerprint, alertname=name, status="resolved", starts_at=seen,
        times_fired=fired, first_seen_at=seen, last_seen_at=seen, issue_id=issue_id,
    )


async def seeded_summary(bot: RunningBot):  # type: ignore[no-untyped-def]
    async with bot.opsbot.sessionmaker.begin() as session:
        await seed_log(session)
    service = bot.opsbot.summaries
    return await service.summarize(service.parse_period(PERIOD))


async def test_every_figure_of_the_period(bot: RunningBot) -> None:
    summary = await seeded_summary(bot)
    cur = summary.current
    assert (summary.period.label, summary.previous.label) == ("2026-10-01 – 2026-10-10", "2026-09-21 – 2026-09-30")
    assert cur.logged == 6  # issues 1-6
    assert dict(cur.by_priority) == {"High": 2, "Low": 2, "Medium": 2}
    assert dict(cur.by_category) == {"application": 2, "database": 2, "infrastructure": 1, "other": 1}
    assert dict(cur.by_source) == {"alertmanager": 2, "slack": 2, "generic": 1, "grafana": 1}
    assert cur.acknowledged == 4 and cur.mtta_seconds == 270  # (120 + 600 + 60 + 300) / 4
    assert cur.mtta_p90_seconds == 600  # nearest rank ceil(0.9 * 4) = 4th of 60, 120, 300, 600
    assert cur.resolved == 5  # 1, 2, 3, 4 and 7 (6 is resolved on the 12th)
    assert cur.mttr_seconds == 77040  # (2h + 8h + 1h + 24h + 72h) / 5
    assert cur.mttr_p90_seconds == 259200  # 5th of 5
    assert cur.resolved_late == 2  # 2 (High, 8h > 4h) and 7 (Medium, 72h > 24h)
    assert cur.open_at_end == 2  # 5 still in progress, 6 resolved after the end
    assert cur.open_overdue == 1 and cur.past_target == 3  # 5 is 5½ days old (Medium: 24h); 6 only 2 days (Low: 72h)
    assert cur.first_contact == 3 and cur.first_contact_rate == 0.6  # 1, 4, 7 (2 escalated, 3 reopened)
    # the refused run executed nothing; the running one has not finished
    assert (cur.autofix_runs, cur.autofix_finished, cur.autofix_verified) == (3, 2, 1)
    assert cur.autofix_success_rate == 0.5
    assert cur.escalations == 2 and dict(cur.escalations_by_team) == {"dba": 1, "developers": 1}
    assert (cur.surveys_sent, cur.surveys_answered) == (3, 2)  # the cancelled survey was never due
    assert cur.response_rate == 2 / 3
    assert (cur.helpful, cur.speed, cur.professional) == (3.0, 4.0, 4.5)
    assert abs(cur.satisfaction - 11.5 / 3) < 1e-9
    assert (cur.kb_asked, cur.kb_solved, cur.self_service_rate) == (4, 2, 0.5)
    assert list(cur.top_alerts) == [
        AlertRecurrence("DiskFull", 7, 2),
        AlertRecurrence("HighLatency", 3, 1),
        AlertRecurrence("PgDown", 1, 1),
    ]


async def test_previous_period_and_trends(bot: RunningBot) -> None:
    summary = await seeded_summary(bot)
    before, trends = summary.before, summary.trends
    assert (before.logged, before.resolved, before.open_at_end, before.open_overdue) == (3, 2, 1, 1)  # 7 open on 1 Oct
    assert (before.mtta_seconds, before.mtta_p90_seconds) == (930, 1800)
    assert (before.mttr_seconds, before.mttr_p90_seconds) == (12600, 21600)
    assert before.first_contact_rate == 0.5 and before.autofix_success_rate == 1.0
    assert before.satisfaction == 5.0 and before.response_rate == 1.0 and before.self_service_rate == 1.0
    assert [alert.alertname for alert in before.top_alerts] == ["CertExpiry"]

    expected = {
        "logged": (Direction.UP, "↑ +3 (was 3)"),
        "resolved": (Direction.UP, "↑ +3 (was 2)"),
        "open_at_end": (Direction.UP, "↑ +1 (was 1)"),
        "mtta_seconds": (Direction.DOWN, "↓ −11m (was 15m)"),
        "mtta_p90_seconds": (Direction.DOWN, "↓ −20m (was 30m)"),
        "mttr_seconds": (Direction.UP, "↑ +17h 54m (was 3h 30m)"),
        "mttr_p90_seconds": (Direction.UP, "↑ +2d 18h (was 6h)"),
        "past_target": (Direction.UP, "↑ +2 (was 1)"),
        "first_contact_rate": (Direction.UP, "↑ +10 pts (was 50%)"),
        "autofix_runs": (Direction.UP, "↑ +2 (was 1)"),
        "autofix_success_rate": (Direction.DOWN, "↓ −50 pts (was 100%)"),
        "escalations": (Direction.UP, "↑ +1 (was 1)"),
        "satisfaction": (Direction.DOWN, "↓ −1.2 (was 5.0/5)"),
        "response_rate": (Direction.DOWN, "↓ −33 pts (was 100%)"),
        "self_service_rate": (Direction.DOWN, "↓ −50 pts (was 100%)"),
        "kb_asked": (Direction.UP, "↑ +2 (was 2)"),
    }
    for name, (direction, text) in expected.items():
        assert (trends[name].direction, str(trends[name])) == (direction, text), name


async def test_chart_series_per_day(bot: RunningBot) -> None:
    summary = await seeded_summary(bot)
    assert summary.series_unit == "day" and len(summary.series) == 10
    assert summary.series[0].start == at("2026-10-01") and summary.series[-1].end == at("2026-10-11")
    assert [p.opened for p in summary.series] == [1, 1, 1, 1, 1, 0, 0, 0, 1, 0]
    assert [p.resolved for p in summary.series] == [1, 2, 1, 0, 1, 0, 0, 0, 0, 0]
    assert [p.mttr_seconds for p in summary.series[:5]] == [7200, 144000, 3600, None, 86400]


async def test_an_empty_log_gives_zeros_and_no_data(bot: RunningBot) -> None:
    service = bot.opsbot.summaries
    summary = await service.summarize(service.parse_period("week"))
    cur = summary.current
    assert (cur.logged, cur.resolved, cur.open_at_end, cur.past_target) == (0, 0, 0, 0)
    assert cur.mttr_seconds is None and cur.mtta_p90_seconds is None and cur.first_contact_rate is None
    assert summary.trends["logged"].direction is Direction.SAME
    assert summary.trends["mttr_seconds"].direction is Direction.UNKNOWN
    assert len(summary.series) == 7 and all(p.opened == 0 for p in summary.series)
