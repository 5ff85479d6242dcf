"""The issue log CSV: the template's columns, proper quoting, formula injection defused, names looked up once."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from handlers.issues.export import EXPORT_COLUMNS, csv_cell, issue_row, plain_text, write_issue_log_csv
from handlers.issues.queries import ExportIssue
from storage.models import Issue, IssueEvent, IssueStatus

NOW = datetime(2026, 11, 22, 14, 2, tzinfo=timezone.utc)
NAMES = {"U0ALICE": "Alice Smith", "U0BOB": "Bob Jones"}


def _issue(n: int = 1, **fields) -> Issue:  # type: ignore[no-untyped-def]
    values = dict(
        id=n, reported_at=NOW, reported_by="U0ALICE", source="slack", title="Disk full", description="",
        priority="High", category="infrastructure", status=IssueStatus.OPEN, is_grouped=False,
    )
    values.update(fields)
    return Issue(**values)


def _comment(text: str, actor: str = "U0BOB", minutes: int = 5) -> IssueEvent:
    return IssueEvent(issue_id=1, at=NOW + timedelta(minutes=minutes), actor=actor, kind="comment", summary=text, detail={})


@pytest.mark.parametrize(
    "value, cell",
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=b", "a=b"),
        (12, "12"),
        (None, ""),
    ],
)
def test_cells_that_a_spreadsheet_would_execute_are_defused(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_slack_markup_becomes_plain_text() -> None:
    text = "ask <@U0ALICE|alice> or <@U0CAROL> in <#C0OPS|ops>, see <https://x.example/a?b=1&amp;c=2|the doc> &lt;3 <!here>"
    assert plain_text(text, NAMES) == "ask @Alice Smith or @U0CAROL in #ops, see the doc (https://x.example/a?b=1&c=2) <3 @here"


def test_a_resolved_issue_row_in_the_team_time_zone() -> None:
    issue = _issue(
        description="df shows 100%", status=IssueStatus.RESOLVED, assignee="U0BOB", resolved_at=NOW + timedelta(hours=1, minutes=5),
        resolution="Resolved by <@U0BOB>", root_cause="Logs not rotated", root_cause_category="configuration",
        resolution_seconds=3900, issue_class="minor",
    )
    row = issue_row(ExportIssue(issue, [_comment("cleaned /var/log"), _comment("ok now", "U0ALICE", 10)]), NAMES, ZoneInfo("Europe/Berlin"))
    assert dict(zip(EXPORT_COLUMNS, row)) == {
        "Issue ID": "1",
        "Date Reported": "2026-11-22 15:02",
        "Reported By": "Alice Smith",
        "Issue Description": "Disk full\ndf shows 100%",
        "Priority": "High",
        "Category": "infrastructure",
        "Class": "Minor",
        "Status": "Resolved",
        "Assigned To": "Bob Jones",
        "Date Resolved": "2026-11-22 16:07",
        "Resolution Details": "Resolved by @Bob Jones",
        "Root Cause": "Logs not rotated (configuration)",
        "Resolution Time": "1h 5m",
        "Comments": "[2026-11-22 15:07] Bob Jones: cleaned /var/log\n[2026-11-22 15:12] Alice Smith: ok now",
    }


def test_open_issues_leave_resolution_columns_empty_and_sources_stay_words() -> None:
    row = dict(zip(EXPORT_COLUMNS, issue_row(ExportIssue(_issue(reported_by="alertmanager")), NAMES, timezone.utc)))
    assert row["Reported By"] == "alertmanager" and row["Assigned To"] == ""
    assert row["Date Resolved"] == row["Resolution Details"] == row["Root Cause"] == row["Resolution Time"] == ""


async def _pages(*pages: list[ExportIssue]) -> AsyncIterator[list[ExportIssue]]:
    for page in pages:
        yield page


async def test_written_csv_reads_back_exactly_with_hostile_text() -> None:
    hostile = _issue(1, title='Login, "SSO"\nbroken', description="=cmd|' /C calc'!A0", reported_by="U0BOB")
    formula_title = _issue(2, title="-1 balance", reported_by="U0ALICE")
    commented = ExportIssue(_issue(3), [_comment('He said "no", then, = "yes"\r\nnext line')])
    asked: list[str] = []

    async def name_of(user_id: str) -> str:
        asked.append(user_id)
        return NAMES.get(user_id, user_id)

    out = io.StringIO(newline="")
    count = await write_issue_log_csv(_pages([ExportIssue(hostile), ExportIssue(formula_title)], [commented]), out, tz=timezone.utc, name_of=name_of)
    assert count == 3
    assert sorted(asked) == ["U0ALICE", "U0BOB"]  # each person looked up once, across pages

    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows[0] == list(EXPORT_COLUMNS) and len(rows) == 4
    assert rows[1][3] == "Login, \"SSO\"\nbroken\n=cmd|' /C calc'!A0"
    assert rows[1][2] == "Bob Jones"
    assert rows[2][3] == "'-1 balance"
    assert rows[3][EXPORT_COLUMNS.index("Comments")] == '[2026-11-22 14:07] Bob Jones: He said "no", then, = "yes"\r\nnext line'
    assert out.getvalue().startswith(",".join(EXPORT_COLUMNS) + "\r\n")


async def test_an_empty_period_is_just_the_header() -> None:
    async def name_of(user_id: str) -> str:
        raise AssertionError("no one to look up")

    out = io.StringIO(newline="")
    assert await write_issue_log_csv(_pages(), out, tz=timezone.utc, name_of=name_of) == 0
    assert out.getvalue() == ",".join(EXPORT_COLUMNS) + "\r\n"
