"""`/summary month` over 1,000,000 issues on SQLite: seconds per figure, with and without the indexes.

    .venv/bin/python bench/summary_1m.py [--issues 1000000] [--db PATH] [--rounds 5]

Seeds a SQLite file (migrated to head) in a few seconds with INSERT ... SELECT over a recursive CTE:
a year of issues ending on the bench's "now" (20 Nov 2026 12:00 UTC), a mix of priorities,
categories and sources, 95 % acknowledged, resolved within 3 days unless too recent, 1 % reopened,
5 % escalated, plus alerts, auto-fix runs, knowledge-base questions and survey answers in proportion.
Then it runs the real SummaryService (the month of "now" against the month before, and the chart's
daily series) through the async engine the bot uses, and prints the time of each figure and the
total, the Block Kit rendering and the chart. The baseline, measured in the same run, is the same
summary without migration 0003's covering indexes. A file given with --db is reused when it already
holds the requested number of issues.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import ReportSettings  # noqa: E402
from handlers.summaries.blocks import build_report_message  # noqa: E402
from handlers.summaries.service import SummaryService  # noqa: E402
from storage.database import create_engine, create_sessionmaker  # noqa: E402
from storage.migrations import upgrade_to_head  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
YEAR_SECONDS = 365 * 86400
SUMMARY_INDEXES = {  # migration 0003; dropped for the baseline, then restored
    "ix_issues_reported_at_summary": "issues(reported_at, priority, category, source, ack_seconds)",
    "ix_issues_resolved_at_summary": "issues(resolved_at, priority, resolution_seconds, reported_at)",
    "ix_issues_status_reported_at_priority": "issues(status, reported_at, priority)",
    "ix_issue_events_kind_issue_id": "issue_events(kind, issue_id)",
    "ix_runbook_runs_started_at_status": "runbook_runs(started_at, status)",
    "ix_escalations_created_at_team": "escalations(created_at, team)",
    "ix_alerts_last_seen_at_summary": "alerts(last_seen_at, alertname, times_fired, issue_id)",
    "ix_kb_questions_asked_at_outcome": "kb_questions(asked_at, outcome)",
    "ix_survey_responses_sent_at_scores": "survey_responses(sent_at, status, helpful, speed, professional)",
}
SEEDED = "'issues', 'issue_events', 'escalations', 'runbook_runs', 'kb_questions', 'survey_responses', 'alerts'"
# SQLAlchemy's SQLite DateTime storage format, so seeded rows compare like the bot's own.
TS = "strftime('%Y-%m-%d %H:%M:%S', {epoch}, 'unixepoch') || '.000000'"


def _ts(epoch_sql: str) -> str:
    return TS.format(epoch=epoch_sql)


def seed(path: Path, issues: int) -> float:
    started = time.perf_counter()
    now = int(NOW.timestamp())
    db = sqlite3.connect(path)
    db.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-262144;"
    )
    # Building an index once over sorted rows is far cheaper than maintaining it row by row.
    indexes = db.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({SEEDED})"
    ).fetchall()
    for name, _ in indexes:
        db.execute(f"DROP INDEX {name}")
    # t: when reported (spread over the year by a multiplicative hash); r: seconds to resolve (5 min .. 3 days)
    db.execute(
        f"""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :issues),
        raw(i, t, r) AS (SELECT i, :now - (i * 2654435761) % {YEAR_SECONDS}, 300 + (i * 104729) % 259200 FROM n)
        INSERT INTO issues (id, reported_at, reported_by, source, title, description, priority, category, status,
            channel, assignee, acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolution,
            ack_seconds, resolution_seconds, group_key, is_grouped, updated_at)
        SELECT i, {_ts('t')},
            CASE WHEN i % 4 = 3 THEN 'U0STAFF' || (i % 50) ELSE 'alertmanager' END,
            CASE i % 4 WHEN 0 THEN 'alertmanager' WHEN 1 THEN 'grafana' WHEN 2 THEN 'generic' ELSE 'slack' END,
            'Issue ' || i, '',
            CASE WHEN i % 10 < 2 THEN 'High' WHEN i % 10 < 6 THEN 'Medium' ELSE 'Low' END,
            CASE (i / 7) % 6 WHEN 0 THEN 'database' WHEN 1 THEN 'application' WHEN 2 THEN 'infrastructure'
                WHEN 3 THEN 'third-party' WHEN 4 THEN 'security' ELSE 'other' END,
            CASE WHEN t + r > :now OR i % 33 = 0 THEN 'Open' ELSE 'Resolved' END,
            '#alerts', 'U0RESP' || (i % 20),
            CASE WHEN i % 20 = 0 THEN NULL ELSE {_ts('t + 30 + (i * 7919) % 3600')} END,
            CASE WHEN i % 20 = 0 THEN NULL ELSE 'U0RESP' || (i % 20) END,
            CASE WHEN t + r > :now OR i % 33 = 0 THEN NULL ELSE {_ts('t + r')} END,
            CASE WHEN t + r > :now OR i % 33 = 0 THEN NULL ELSE 'U0RESP' || (i % 20) END,
            NULL,
            CASE WHEN i % 20 = 0 THEN NULL ELSE 30 + (i * 7919) % 3600 END,
            CASE WHEN t + r > :now OR i % 33 = 0 THEN NULL ELSE r END,
            NULL, 0, {_ts('t')}
        FROM raw
        """,
        {"issues": issues, "now": now},
    )
    db.execute(
        """INSERT INTO issue_events (issue_id, at, actor, kind, summary, detail)
            SELECT id, reported_at, source, 'opened', '', '{}' FROM issues"""
    )
    db.execute(
        """INSERT INTO issue_events (issue_id, at, actor, kind, summary, detail)
           SELECT id, reported_at, 'U0RESP1', 'reopened', '', '{}' FROM issues WHERE id % 100 = 7"""
    )
    db.execute(
        """INSERT INTO escalations (issue_id, team, level, urgency, note, reason, requested_by, created_at, status)
           SELECT id, CASE id % 5 WHEN 0 THEN 'dba' WHEN 1 THEN 'platform' WHEN 2 THEN 'network'
                                  WHEN 3 THEN 'developers' ELSE 'security' END,
                  1, 'high', '', 'manual', 'U0RESP1', reported_at, 'closed'
           FROM issues WHERE id % 20 = 3"""
    )
    db.execute(
        """INSERT INTO runbook_runs
               (issue_id, runbook_id, "trigger", requested_by, status, started_at, output_excerpt, steps)
           SELECT id, 'restart-service', 'button', 'U0RESP1',
                  CASE id % 4 WHEN 0 THEN 'failed' WHEN 1 THEN 'unverified' ELSE 'verified' END, reported_at, '', '[]'
           FROM issues WHERE id % 25 = 1"""
    )
    db.execute(
        """INSERT INTO kb_questions (asked_at, asked_by, question, confident, outcome)
           SELECT reported_at, reported_by, 'why is it slow', 1,
                  CASE id % 3 WHEN 0 THEN 'solved' WHEN 1 THEN 'answered' ELSE 'ticket' END
           FROM issues WHERE id % 10 = 5"""
    )
    db.execute(
        """INSERT INTO survey_responses (issue_id, user_id, status, sent_at, answered_at, helpful, speed, professional)
           SELECT id, reported_by, CASE WHEN id % 3 = 0 THEN 'pending' ELSE 'answered' END, resolved_at,
                  CASE WHEN id % 3 = 0 THEN NULL ELSE resolved_at END,
                  CASE WHEN id % 3 = 0 THEN NULL ELSE 1 + id % 5 END,
                  CASE WHEN id % 3 = 0 THEN NULL ELSE 1 + (id / 5) % 5 END,
                  CASE WHEN id % 3 = 0 THEN NULL ELSE 1 + (id / 25) % 5 END
           FROM issues WHERE source = 'slack' AND resolved_at IS NOT NULL"""
    )
    db.execute(
        """INSERT INTO alerts (source, fingerprint, alertname, status, labels, annotations, starts_at, times_fired,
                               first_seen_at, last_seen_at, issue_id)
           SELECT 'alertmanager', 'fp' || id, 'Alert' || (id % 40), 'resolved', '{}', '{}', reported_at,
                  1 + (id % 7) * (id % 40 = 3), reported_at, reported_at, id
           FROM issues WHERE id % 4 = 0"""
    )
    for _, sql in indexes:
        db.execute(sql)
    db.commit()
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - started


def count_issues(path: Path) -> int:
    try:
        with sqlite3.connect(path) as db:
            return int(db.execute("SELECT count(*) FROM issues").fetchone()[0])
    except sqlite3.Error:
        return -1


def set_indexes(path: Path, present: bool) -> None:
    with sqlite3.connect(path) as db:
        for name, target in SUMMARY_INDEXES.items():
            db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}" if present else f"DROP INDEX IF EXISTS {name}")
        db.execute("ANALYZE")


async def migrate(url: str) -> None:
    engine = create_engine(url)
    await upgrade_to_head(engine)
    await engine.dispose()


async def time_summary(url: str, rounds: int) -> tuple[list[float], dict[str, float], object, SummaryService]:
    engine = create_engine(url)
    service = SummaryService(create_sessionmaker(engine), ReportSettings(), clock=lambda: NOW)
    period = service.parse_period("month")
    totals, timings, summary = [], {}, None
    for _ in range(rounds):
        started = time.perf_counter()
        summary = await service.summarize(period)
        totals.append(time.perf_counter() - started)
        for name, seconds in summary.timings.items():
            timings[name] = min(seconds, timings.get(name, seconds))
    await engine.dispose()
    return totals, timings, summary, service


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp(prefix="opsbot-bench-")) / "summary.db"
    url = f"sqlite+aiosqlite:///{path}"

    if count_issues(path) != args.issues:
        path.unlink(missing_ok=True)
        asyncio.run(migrate(url))
        print(f"seeded {args.issues:,} issues (and their events, alerts, escalations, runs, questions, surveys) "
              f"in {seed(path, args.issues):.1f}s into {path}")
    else:
        print(f"reusing {path} ({args.issues:,} issues)")
    set_indexes(path, present=True)
    print("indexes the summary reads (migration 0003):")
    for name, target in SUMMARY_INDEXES.items():
        print(f"  {name:<40} {target}")

    totals, timings, summary, service = asyncio.run(time_summary(url, args.rounds))
    print(f"\n/summary month ({summary.period.label} vs {summary.previous.label}), {args.rounds} rounds, "
          "best per figure:")
    for name, seconds in timings.items():
        print(f"  {name:<30} {seconds * 1000:8.1f} ms")
    median = statistics.median(totals)
    print(f"  {'total (median of rounds)':<30} {median * 1000:8.1f} ms   "
          f"(min {min(totals) * 1000:.1f}, max {max(totals) * 1000:.1f})")

    started = time.perf_counter()
    text, blocks = build_report_message(service.render(summary))
    rendered = time.perf_counter() - started
    started = time.perf_counter()
    png = asyncio.run(service.chart(summary))
    charted = time.perf_counter() - started
    print(f"  {'templates + blocks':<30} {rendered * 1000:8.1f} ms   ({len(blocks)} blocks)")
    print(f"  {'chart PNG (off the loop)':<30} {charted * 1000:8.1f} ms   ({len(png):,} bytes)")
    current = summary.current
    print(f"\nfigures: logged {current.logged:,}, resolved {current.resolved:,}, open {current.open_at_end:,}, "
          f"MTTR p90 {current.mttr_p90_seconds}s, FCR {current.first_contact_rate:.1%}")

    set_indexes(path, present=False)
    base_totals, _, _, _ = asyncio.run(time_summary(url, max(1, args.rounds // 2)))
    set_indexes(path, present=True)
    baseline = statistics.median(base_totals)
    print(f"\nbaseline without migration 0003's covering indexes: {baseline * 1000:.1f} ms "
          f"-> the indexes make it {baseline / median:.1f}x faster")
    print("Slack's deadline is 3 s for the ack (sent before any of this) and the answer should follow within 1 s.")


if __name__ == "__main__":
    main()
