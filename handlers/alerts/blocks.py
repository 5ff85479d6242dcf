"""Lines alert ingestion adds to an issue's thread: the alerts that joined a storm's grouped issue, and
the resolution when the last alert resolved. The issue message itself is handlers/issues/message.py.
"""

from __future__ import annotations

from typing import Sequence

from handlers.alerts.parsers import IncomingAlert
from handlers.slack.blockkit import SECTION_TEXT_LIMIT, code, escape, humanize_duration, pack_lines, truncate
from handlers.issues.message import RESOLVED_MARKER
from storage.models import Issue

STORM_THREAD_HEADER_ROOM = 100  # the "*N alert(s) joined this group (i/n):*" line above each reply's list


def build_resolved_line(issue: Issue, source: str) -> str:
    took = humanize_duration(issue.resolution_seconds or 0)
    return f"{RESOLVED_MARKER} Resolved by {escape(source)} after {took}."


def _storm_thread_line(alert: IncomingAlert) -> str:
    where = alert.labels.get("instance") or alert.labels.get("service") or alert.labels.get("job") or alert.fingerprint
    summary = alert.annotations.get("summary") or alert.alertname
    return f"• {code(truncate(where, 80))} {escape(truncate(summary, 150))}"


def build_storm_thread_lines(alerts: Sequence[IncomingAlert], *, truncated: int = 0) -> list[str]:
    """Every alert that joined a grouped issue, for its thread: as many replies as the list needs,
    each within a section's 3,000 characters, to be posted in order. The issue message promises
    that "the full list is in the thread", so nothing here may be cut."""
    lines = [_storm_thread_line(alert) for alert in alerts]
    if truncated:
        lines.append(f"_…plus {truncated} more that the monitoring system left out of its notification._")
    chunks = pack_lines(lines, limit=SECTION_TEXT_LIMIT - STORM_THREAD_HEADER_ROOM) or [""]
    if len(chunks) == 1:
        return [f"*{len(alerts)} alert(s) joined this group:*\n{chunks[0]}".rstrip()]
    return [
        f"*{len(alerts)} alert(s) joined this group ({number}/{len(chunks)}):*\n{chunk}"
        for number, chunk in enumerate(chunks, start=1)
    ]
