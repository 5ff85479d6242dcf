"""The issue message: what an alert (or a reported problem) looks like in its channel.

Pure functions from a small view to Block Kit dicts; the delivery worker renders the latest state
of an issue every time it posts or updates the message.
"""

from __future__ import annotations

import re
from typing import Any

from core.vocabulary import issue_class_label
from handlers.slack.blockkit import (
    FALLBACK_TEXT_LIMIT,
    URL_LIMIT,
    actions,
    alert_text_to_mrkdwn,
    button,
    cap_blocks,
    clean,
    code,
    context,
    escape,
    fields_section,
    humanize_duration,
    link,
    mrkdwn_section,
    mrkdwn_text,
    slack_date,
    truncate,
    url_button,
    web_url,
)
from handlers.issues.ids import ISSUE_ACTIONS_BLOCK_ID, ISSUE_LINK_ACTION_PREFIX, ISSUE_LINKS_BLOCK_ID, IssueAction
from handlers.issues.message_view import (
    GRAFANA_VALUE_STRING_KEY,
    GRAFANA_VALUES_KEY,
    IMAGE_KEY,
    NOTE_KEY,
    STORM_LIST_LIMIT,
    AlertLine,
    EscalationLine,
    IssueMessageView,
)
from handlers.performance.blocks import build_review_actions
from handlers.silences.blocks import build_hold_blocks
from storage.models import Issue, IssueStatus

PRIORITY_MARKERS = {"High": "🔴", "Medium": "🟠", "Low": "🔵"}
RESOLVED_MARKER = "🟢"
LINK_ANNOTATIONS = (
    ("runbook_url", "Runbook"),
    ("runbook", "Runbook"),
    ("dashboard", "Dashboard"),
    ("dashboard_url", "Dashboard"),
    ("panel", "Panel"),
    ("logs", "Logs"),
    ("logs_url", "Logs"),
    ("silence", "Silence"),
)
SOURCE_LINK_LABELS = {"datadog": "Open in Datadog", "newrelic": "Open in New Relic"}  # else "Source"


def _status_line(issue: Issue) -> str:
    if issue.status in (IssueStatus.RESOLVED, IssueStatus.CLOSED):
        took = humanize_duration(issue.resolution_seconds or 0)
        who = _who(issue.resolved_by)
        when = slack_date(issue.resolved_at, "{time}") if issue.resolved_at else ""
        return f"{RESOLVED_MARKER} *Resolved after {took}* by {who} {when}".rstrip()
    if issue.acknowledged_by:
        when = slack_date(issue.acknowledged_at, "{time}") if issue.acknowledged_at else ""
        return f"👀 Acknowledged by {_who(issue.acknowledged_by)} at {when}".rstrip()
    return "🚨 *Open* — nobody has acknowledged this yet"


def _who(actor: str | None) -> str:
    """Slack user ids become mentions; sources (alertmanager, grafana) stay plain words."""
    if not actor:
        return "someone"
    if re.fullmatch(r"[UW][A-Z0-9]+", actor):
        return f"<@{actor}>"
    return escape(actor)


def mention(actor: str | None) -> str:
    """How any surface names an actor: Slack users as mentions, sources as plain words."""
    return _who(actor)


def _named_title(view: IssueMessageView) -> str:
    """The issue's title led by its alert's name, as Alertmanager's own Slack template leads with
    it (`CPUHigh: CPU above 90% on web-1`), unless the title already says it."""
    issue = view.issue
    if issue.is_grouped:
        first = view.alerts[0].alertname if view.alerts else issue.title
        return f"{first}: {view.alert_count} alerts ({view.firing_count} firing)"
    name = view.alerts[0].alertname.strip() if view.alerts else ""
    if name and name.casefold() not in issue.title.casefold():
        return f"{name}: {issue.title}"
    return issue.title


def _title_line(view: IssueMessageView) -> str:
    issue = view.issue
    resolved = issue.status in (IssueStatus.RESOLVED, IssueStatus.CLOSED)
    marker = RESOLVED_MARKER if resolved else PRIORITY_MARKERS.get(issue.priority, "⚪")
    return f"{marker} *{escape(truncate(_named_title(view), 300))}*"


def _alert_links(first: AlertLine) -> list[tuple[str, str, str]]:
    """(kind, button text, url or text) of the alert's links, each kind once, in a fixed order."""
    found: list[tuple[str, str, str]] = []
    if first.generator_url:
        found.append(("source", SOURCE_LINK_LABELS.get(first.source or "", "Source"), first.generator_url))
    seen_labels: set[str] = set()
    for key, label in LINK_ANNOTATIONS:
        value = first.annotations.get(key, "").strip()
        if value and label not in seen_labels:
            found.append((label.lower(), label, value))
            seen_labels.add(label)
    return found


def build_link_buttons(view: IssueMessageView) -> tuple[dict[str, Any] | None, list[str]]:
    """The alert's links as URL buttons (never a shortened URL), and context lines for what could
    not be a button: a URL past Slack's 3,000 characters is left out and said so; a value that
    is not a web address ("RB-INF-01") is shown as text."""
    if not view.alerts:
        return None, []
    buttons: list[dict[str, Any]] = []
    too_long: list[str] = []
    as_text: list[str] = []
    for kind, label, value in _alert_links(view.alerts[0]):
        url = web_url(value)
        if url is None:
            as_text.append(f"*{escape(label)}:* {escape(truncate(value, 200))}")
        elif len(url) > URL_LIMIT:
            too_long.append(label)
        else:
            buttons.append(url_button(label, url, f"{ISSUE_LINK_ACTION_PREFIX}{kind}", kind))
    notes = [" · ".join(as_text)] if as_text else []
    if too_long:
        names = " and ".join(too_long)
        links = "link is" if len(too_long) == 1 else "links are"
        notes.append(f"⚠️ Not shown: the {escape(names)} {links} longer than the {URL_LIMIT:,} characters Slack allows a button.")
    return (actions(ISSUE_LINKS_BLOCK_ID, buttons) if buttons else None), notes


def _alert_notes(view: IssueMessageView) -> list[str]:
    """What the sender said beyond labels: a state worth a sentence (Datadog's No Data, Warn) and
    Grafana's query values."""
    if not view.alerts:
        return []
    annotations = view.alerts[0].annotations
    notes = []
    if annotations.get(NOTE_KEY):
        notes.append(f"ℹ️ {escape(truncate(annotations[NOTE_KEY], 500))}")
    values = annotations.get(GRAFANA_VALUES_KEY) or annotations.get(GRAFANA_VALUE_STRING_KEY)
    if values:
        notes.append(f"📈 *Values:* {code(truncate(values, 1500))}")
    return notes


def build_alert_image(view: IssueMessageView) -> dict[str, Any] | None:
    """The graph the sender attached (Grafana's imageURL, Datadog's snapshot), for a single alert."""
    if not view.alerts or view.issue.is_grouped:
        return None
    first = view.alerts[0]
    url = web_url(first.annotations.get(IMAGE_KEY))
    if url is None or len(url) > URL_LIMIT:
        return None
    alt = truncate(clean(f"Graph attached to the {first.alertname} alert"), 2000)
    return {"type": "image", "image_url": url, "alt_text": alt}


def _links(view: IssueMessageView) -> str:
    """The reporter's link and the knowledge-base article: one each, so a line of mrkdwn holds them."""
    parts: list[str] = []
    if view.issue.link_url:
        parts.append(f"📎 {link(view.issue.link_url, 'Screenshot / link')}")
    if view.kb_article:
        title, url = view.kb_article
        parts.append(f"📖 {link(url, title) if url else escape(title)}")
    return " · ".join(parts)


def _alert_fields(view: IssueMessageView) -> list[str]:
    issue = view.issue
    fields = [
        f"*Priority*\n{escape(issue.priority)}",
        f"*Category*\n{escape(issue.category)}",
        f"*Status*\n{escape(issue.status)}",
        f"*Issue*\n#{issue.id}",
    ]
    if issue.issue_class:
        fields.insert(2, f"*Class*\n{escape(issue_class_label(issue.issue_class))}")
    first = view.alerts[0] if view.alerts else None
    if first:
        fields.append(f"*Started*\n{slack_date(first.starts_at)}")
        if not issue.is_grouped:
            seen = slack_date(first.last_seen_at, "{time}") if first.last_seen_at else "—"
            fields.append(f"*Fired*\n{first.times_fired}× · last seen {seen}")
    else:
        fields.append(f"*Reported by*\n{_who(issue.reported_by)} · {slack_date(issue.reported_at)}")
    if issue.assignee:
        fields.append(f"*Assignee*\n{_who(issue.assignee)}")
    return fields


def _key_labels(view: IssueMessageView) -> str:
    if not view.alerts:
        return ""
    labels = view.alerts[0].labels
    shown = [code(f"{name}={truncate(labels[name], 80)}") for name in view.key_labels if labels.get(name)]
    return " ".join(shown)


def _storm_list(view: IssueMessageView) -> str:
    lines = []
    for alert in view.alerts[:STORM_LIST_LIMIT]:
        where = alert.labels.get("instance") or alert.labels.get("service") or alert.labels.get("job") or ""
        mark = "🟢" if alert.status == "resolved" else "🔥"
        summary = alert.annotations.get("summary", "")
        lines.append(f"{mark} {escape(truncate(where, 80))} {escape(truncate(summary, 120))}".rstrip())
    if view.alert_count > STORM_LIST_LIMIT:
        lines.append(f"…and {view.alert_count - STORM_LIST_LIMIT} more: the full list is in the thread.")
    return "\n".join(lines)


def _root_cause_line(issue: Issue) -> str:
    """The category says where it broke (it feeds the reports); the text says how, when known."""
    category = f"({escape(issue.root_cause_category)}) " if issue.root_cause_category else ""
    if not issue.root_cause and not category:
        return ""
    return f"\n*Root cause:* {category}{escape(issue.root_cause or 'not known yet')}"


def _escalation_line(line: EscalationLine) -> str:
    level = f" (level {line.level})" if line.level > 1 else ""
    if line.acknowledged_by:
        return f"📣 Escalated to *{escape(line.team)}*{level}: {_who(line.acknowledged_by)} is on it"
    return f"📣 Escalated to *{escape(line.team)}*{level}: waiting for them to take it"


def build_issue_buttons(view: IssueMessageView) -> dict[str, Any] | None:
    issue = view.issue
    value = str(issue.id)
    if issue.status in (IssueStatus.RESOLVED, IssueStatus.CLOSED):
        write_up = button("📝 Write it up", IssueAction.WRITE_UP, value)  # a draft article, handlers/knowledge
        return actions(ISSUE_ACTIONS_BLOCK_ID, [button("Reopen", IssueAction.REOPEN, value), write_up])
    elements = []
    if issue.acknowledged_by:
        elements.append(button("Unacknowledge", IssueAction.UNACKNOWLEDGE, value))
    else:
        elements.append(button("Acknowledge", IssueAction.ACKNOWLEDGE, value, style="primary"))
    if view.autofix_available:  # only when a runbook (configured or bundled) matches the issue's alerts
        elements.append(button(view.autofix_label, IssueAction.AUTOFIX, value))
    elements.append(button("Escalate", IssueAction.ESCALATE, value))
    elements.append(button("Resolve", IssueAction.RESOLVE, value, style="danger"))
    return actions(ISSUE_ACTIONS_BLOCK_ID, elements)


def build_issue_message(view: IssueMessageView) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text for notifications, blocks) for the issue's message."""
    issue = view.issue
    blocks: list[dict[str, Any]] = [mrkdwn_section(f"{_title_line(view)}\n{_status_line(issue)}")]
    if issue.is_grouped:
        blocks.append(mrkdwn_section(_storm_list(view)))
    elif issue.description:
        blocks.append(mrkdwn_section(alert_text_to_mrkdwn(issue.description)))
    blocks.append(fields_section(_alert_fields(view)))
    labels = _key_labels(view)
    links = _links(view)
    if labels:
        blocks.append(context(labels))
    for note in _alert_notes(view):
        blocks.append(context(note))
    image = build_alert_image(view)
    if image:
        blocks.append(image)
    if links:
        blocks.append(mrkdwn_section(links))
    link_buttons, link_notes = build_link_buttons(view)
    if link_buttons:
        blocks.append(link_buttons)
    for note in link_notes:
        blocks.append(context(note))
    if issue.resolution and issue.status in (IssueStatus.RESOLVED, IssueStatus.CLOSED):
        cause = _root_cause_line(issue)
        blocks.append(mrkdwn_section(f"*Resolution:* {escape(issue.resolution)}{cause}"))
    if view.escalations and issue.is_open:
        blocks.append(context(*(_escalation_line(line) for line in view.escalations)))
    for line in view.extra_context:
        blocks.append(context(line))
    if view.kb_article and view.alerts and not view.autofix_available and issue.is_open:
        title, url = view.kb_article
        article = link(url, title) if url else escape(title)
        blocks.append(context(f"🛠️ No runbook fixes this automatically: follow 📖 {article}"))
    buttons = build_issue_buttons(view)
    if buttons:
        blocks.append(buttons)
    blocks += build_hold_blocks(view.holds)  # silence and snooze (handlers/silences)
    blocks += build_review_actions(issue.id, issue.priority, resolved=not issue.is_open)  # handlers/performance
    fallback = escape(f"[{issue.priority}] {truncate(_named_title(view), 500)} (#{issue.id}, {issue.status})")
    return mrkdwn_text(fallback, FALLBACK_TEXT_LIMIT), cap_blocks(blocks)
