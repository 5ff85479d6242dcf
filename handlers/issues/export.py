"""The issue log as CSV, in the columns of the team's issue log template.

Rows are written page by page as the queries yield them, so an export of a busy year never holds
every issue in memory. The csv module does the quoting (commas, quotes, newlines); cells that a
spreadsheet would run as a formula (= + - @, tab, carriage return) get a leading apostrophe
(OWASP's advice against CSV injection). People appear by name: `name_of` resolves Slack user ids.
"""

from __future__ import annotations

import csv
import html
import re
from datetime import datetime, tzinfo
from typing import AsyncIterable, Awaitable, Callable, Iterable, Mapping, TextIO

from core.vocabulary import issue_class_label
from handlers.slack.blockkit import humanize_duration
from handlers.issues.queries import ExportIssue
from storage.models import IssueStatus

EXPORT_COLUMNS = (
    "Issue ID",
    "Date Reported",
    "Reported By",
    "Issue Description",
    "Priority",
    "Category",
    "Class",  # minor or complex (core.vocabulary.IssueClass)
    "Status",
    "Assigned To",
    "Date Resolved",
    "Resolution Details",
    "Root Cause",
    "Resolution Time",
    "Comments",
)
DATE_FORMAT = "%Y-%m-%d %H:%M"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

NameOf = Callable[[str], Awaitable[str]]

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^|>]*)?(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


def csv_cell(value: object) -> str:
    """The text of one cell, defused if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def mentioned_users(text: str) -> set[str]:
    return {match.group(1) for match in _MENTION.finditer(text or "")}


def plain_text(slack_text: str, names: Mapping[str, str]) -> str:
    """Slack's markup as a person reads it: <@U1|ann> -> @Ann, <url|label> -> label (url), &amp; -> &."""
    text = _MENTION.sub(lambda m: "@" + (names.get(m.group(1)) or m.group(2) or m.group(1)), slack_text or "")
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    return html.unescape(text)


def _person(actor: str | None, names: Mapping[str, str]) -> str:
    if not actor:
        return ""
    return names.get(actor, actor)


def _date(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime(DATE_FORMAT) if moment else ""


def issue_row(item: ExportIssue, names: Mapping[str, str], tz: tzinfo) -> list[str]:
    issue = item.issue
    resolved = issue.status in (IssueStatus.RESOLVED, IssueStatus.CLOSED)
    description = issue.title + (f"\n{issue.description}" if issue.description else "")
    root_cause = issue.root_cause or ""
    if issue.root_cause_category:
        root_cause = f"{root_cause} ({issue.root_cause_category})" if root_cause else issue.root_cause_category
    comments = "\n".join(
        f"[{_date(event.at, tz)}] {_person(event.actor, names)}: {plain_text(event.summary, names)}"
        for event in item.comments
    )
    cells = [
        issue.id,
        _date(issue.reported_at, tz),
        _person(issue.reported_by, names),
        description,
        issue.priority,
        issue.category,
        issue_class_label(issue.issue_class),
        issue.status,
        _person(issue.assignee, names),
        _date(issue.resolved_at, tz) if resolved else "",
        plain_text(issue.resolution or "", names) if resolved else "",
        plain_text(root_cause, names) if resolved else "",
        humanize_duration(issue.resolution_seconds) if resolved and issue.resolution_seconds is not None else "",
        comments,
    ]
    return [csv_cell(cell) for cell in cells]


def people_in(items: Iterable[ExportIssue]) -> set[str]:
    """Every Slack user id a page of rows will show, so names are looked up once per person."""
    found: set[str] = set()
    for item in items:
        issue = item.issue
        for actor in (issue.reported_by, issue.assignee):
            if actor and _USER_ID.match(actor):
                found.add(actor)
        found |= mentioned_users(issue.resolution or "") | mentioned_users(issue.root_cause or "")
        for event in item.comments:
            if _USER_ID.match(event.actor):
                found.add(event.actor)
            found |= mentioned_users(event.summary)
    return found


async def write_issue_log_csv(
    pages: AsyncIterable[list[ExportIssue]], out: TextIO, *, tz: tzinfo, name_of: NameOf
) -> int:
    """Write the header and every row to `out` (opened with newline=""); returns the number of issues."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    names: dict[str, str] = {}
    written = 0
    async for page in pages:
        for user_id in sorted(people_in(page) - names.keys()):
            names[user_id] = await name_of(user_id)
        writer.writerows(issue_row(item, names, tz) for item in page)
        written += len(page)
    return written
