"""What the write-up modal opens with, taken from the issue: pure functions over the stored rows.

Symptoms come from the alert (its summary, description and labels) or from what the reporter wrote;
root cause and fix from the resolution; the steps from the timeline, leaving out what is bookkeeping
(surveys, refusals, PagerDuty's echoes). An older issue of a recurring alert may no longer own its
alert row (a re-firing alert is re-pointed at the new issue), so the alert's name and labels are
also read from the issue's "opened" event, which keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from handlers.knowledge.articles import TEXT_LIMIT, TITLE_LIMIT, WriteUp, clean_line
from knowledge_base.models import CATEGORIES
from storage.models import Alert, Issue, IssueEvent

MAX_ALERTS_DESCRIBED = 3
MAX_STEPS = 30
LABELS_SHOWN = 8
SKIPPED_KINDS = frozenset(
    {"opened", "resolved", "denied", "alerts_grouped", "pagerduty", "escalation_skipped", "escalation_level"}
)
# Surveys, the knowledge base's own lines, and quieting the noise (silences, snoozes) are not steps of a fix.
SKIPPED_PREFIXES = ("survey_", "kb_", "silence", "snooze")


@dataclass(frozen=True)
class WriteUpForm:
    issue_id: int
    write_up: WriteUp


def prefill(issue: Issue, alerts: Sequence[Alert], events: Sequence[IssueEvent]) -> WriteUpForm:
    opened = next((event.detail or {} for event in events if event.kind == "opened"), {})
    category = issue.root_cause_category or issue.category
    write_up = WriteUp(
        title=clean_line(issue.title, TITLE_LIMIT),
        category=category if category in CATEGORIES else "other",
        alerts=alert_names(alerts, opened),
        symptoms=symptoms(issue, alerts, opened),
        root_cause=_limited(issue.root_cause or ""),
        fix=_limited(issue.resolution or ""),
        steps=steps(events),
    )
    return WriteUpForm(issue.id, write_up)


def alert_names(alerts: Sequence[Alert], opened: Mapping[str, Any]) -> tuple[str, ...]:
    names = [alert.alertname for alert in alerts]
    if isinstance(opened.get("alertname"), str):
        names.insert(0, opened["alertname"])
    return tuple(dict.fromkeys(name for name in names if name))


def symptoms(issue: Issue, alerts: Sequence[Alert], opened: Mapping[str, Any]) -> str:
    """One bullet per alert (name, summary, description, labels), or the reporter's own words."""
    lines: list[str] = []
    described = list(alerts[:MAX_ALERTS_DESCRIBED])
    if described:
        for alert in described:
            annotations = alert.annotations or {}
            summary = annotations.get("summary") or annotations.get("title") or issue.title
            lines.append(f"- **{alert.alertname}**: {clean_line(summary, 500)}")
            description = annotations.get("description") or annotations.get("message") or ""
            if description and description.strip() != summary.strip():
                lines.append(f"  {clean_line(description, 1000)}")
            lines += _label_line(alert.labels or {})
    else:
        name = opened.get("alertname")
        lines.append(f"- **{name}**: {clean_line(issue.title, 500)}" if isinstance(name, str) else f"- {clean_line(issue.title, 500)}")
        if issue.description:
            lines.append(f"  {clean_line(issue.description, 1000)}")
        labels = opened.get("labels")
        lines += _label_line(labels if isinstance(labels, dict) else {})
    return _limited("\n".join(lines))


def _label_line(labels: Mapping[str, Any]) -> list[str]:
    shown = [f"`{clean_line(f'{key}={value}', 120)}`" for key, value in labels.items() if key != "alertname"]
    return [f"  Labels: {', '.join(shown[:LABELS_SHOWN])}"] if shown else []


def steps(events: Sequence[IssueEvent]) -> str:
    """The timeline as a numbered list of what people and runbooks did."""
    lines = []
    for event in events:
        if event.kind in SKIPPED_KINDS or event.kind.startswith(SKIPPED_PREFIXES):
            continue
        what = clean_line(event.summary or event.kind.replace("_", " ").capitalize(), 400)
        lines.append(f"{len(lines) + 1}. {what}{_by(event.actor)}")
        if len(lines) == MAX_STEPS:
            break
    return _limited("\n".join(lines))


def _by(actor: str | None) -> str:
    return f" ({clean_line(actor, 100)})" if actor else ""


def _limited(text: str) -> str:
    return text[:TEXT_LIMIT]
