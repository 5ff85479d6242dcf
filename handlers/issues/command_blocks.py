"""Block Kit for `/issue`: the new-issue modal, list and detail replies, and the usage text.

Pure builders from service results to dicts, within Slack's limits (50 blocks a message, 100 a
modal, 3,000 characters a section); unit-tested on their output.
"""

from __future__ import annotations

import re
from typing import Any

from core.vocabulary import Category, Priority, issue_class_label
from handlers.slack.blockkit import (
    SECTION_TEXT_LIMIT,
    actions,
    alert_text_to_mrkdwn,
    button,
    cap_blocks,
    context,
    divider,
    escape,
    fields_section,
    humanize_duration,
    link,
    mrkdwn_section,
    pack_lines,
    slack_date,
    truncate,
)
from handlers.issues.command_parsing import USAGE
from handlers.issues.ids import FIELD_ACTION_ID, LIST_ACTIONS_BLOCK_ID, IssueLogId, NewIssueField
from handlers.issues.log import DESCRIPTION_LIMIT, TITLE_LIMIT
from handlers.issues.message import PRIORITY_MARKERS, RESOLVED_MARKER, mention
from handlers.issues.notices import channel_reference, quiet_user_text
from handlers.issues.queries import IssueFilter, IssuePage, IssueTimeline
from storage.models import Issue, IssueEvent, IssueStatus

PRIORITY_HINTS = {
    Priority.HIGH: "Critical: people cannot work",
    Priority.MEDIUM: "Affects some functionality",
    Priority.LOW: "Minor impact",
}
EVENT_ICONS = {
    "opened": "🆕",
    "acknowledged": "👀",
    "unacknowledged": "↩️",
    "assigned": "👤",
    "comment": "💬",
    "resolved": RESOLVED_MARKER,
    "reopened": "🔁",
    "denied": "⛔",
    "alerts_grouped": "🔥",
    "silenced": "🔕",
    "silence_lifted": "🔔",
    "silence_expired": "🔔",
    "snoozed": "💤",
    "snooze_ended": "⏰",
    "snooze_over": "⏰",
    "reclassified": "🔀",
    "category_changed": "🏷️",
}
TIMELINE_SUMMARY_LIMIT = 600
_ESCAPED_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,})&gt;")


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _option(text: str, value: str, description: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": _plain(text), "value": value}
    if description:
        option["description"] = _plain(truncate(description, 75))
    return option


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = "") -> dict:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": {**element, "action_id": FIELD_ACTION_ID},
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def build_new_issue_modal() -> dict[str, Any]:
    """The `/issue new` form: title, description, priority, category and an optional screenshot link."""
    priorities = [_option(p.value, p.value, PRIORITY_HINTS[p]) for p in Priority]
    categories = [_option(c.value.capitalize().replace("-p", "-P"), c.value) for c in Category]
    return {
        "type": "modal",
        "callback_id": IssueLogId.NEW_ISSUE_VIEW.value,
        "title": _plain("Report an issue"),
        "submit": _plain("Report"),
        "close": _plain("Cancel"),
        "blocks": [
            _input(
                NewIssueField.TITLE,
                "Title",
                {"type": "plain_text_input", "max_length": TITLE_LIMIT,
                 "placeholder": _plain("e.g. Course registration fails in the LMS")},
            ),
            _input(
                NewIssueField.DESCRIPTION,
                "What happens?",
                {"type": "plain_text_input", "multiline": True, "max_length": DESCRIPTION_LIMIT,
                 "placeholder": _plain("What you did, what you expected, what you saw instead")},
            ),
            _input(
                NewIssueField.PRIORITY,
                "Priority",
                {"type": "static_select", "options": priorities, "initial_option": priorities[1]},
            ),
            _input(NewIssueField.CATEGORY, "Category", {"type": "static_select", "options": categories}),
            _input(
                NewIssueField.LINK,
                "Screenshot or page link",
                {"type": "url_text_input"},
                optional=True,
                hint="An http(s) link to a screenshot or the page that fails.",
            ),
        ],
    }  # fmt: skip


def build_help(problem: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    text = f"{problem}\n\n{USAGE}" if problem else USAGE
    return truncate(text, SECTION_TEXT_LIMIT), [mrkdwn_section(text)]


def issue_line(issue: Issue) -> str:
    """One issue in a list: marker, id, title, then status, priority, category, assignee and age."""
    resolved = issue.status in (IssueStatus.RESOLVED, IssueStatus.CLOSED)
    marker = RESOLVED_MARKER if resolved else PRIORITY_MARKERS.get(issue.priority, "⚪")
    owner = f"👤 {mention(issue.assignee)}" if issue.assignee else "unassigned"
    details = " · ".join(
        [escape(issue.status), escape(issue.priority), escape(issue.category)]
        + ([escape(issue_class_label(issue.issue_class))] if issue.issue_class else [])
        + [owner, slack_date(issue.reported_at)]
    )
    return f"{marker} *#{issue.id}* {escape(truncate(issue.title, 150))}\n{details}"


def build_issue_list(page: IssuePage, issue_filter: IssueFilter) -> tuple[str, list[dict[str, Any]]]:
    what = issue_filter.describe()
    if not page.issues:
        none = f"No {what}." if page.offset == 0 else f"No more {what}."
        return none, [mrkdwn_section(f"{none} Try `/issue list all`, or report one with `/issue new`.")]
    first, last = page.offset + 1, page.offset + len(page.issues)
    shown = f"{page.total}" if page.total == len(page.issues) else f"{first}–{last} of {page.total}"
    title = f"{shown} {what}, newest first"
    blocks: list[dict[str, Any]] = [mrkdwn_section(f"*{escape(title)}*")]
    blocks += [mrkdwn_section(issue_line(issue)) for issue in page.issues]
    footer = "Details and timeline: `/issue show ID`."
    if page.remaining:
        footer = f"…and {page.remaining} more. {footer}"
    blocks.append(context(footer))
    if page.remaining:
        value = f"{last}|{issue_filter.words()}"
        label = f"Next {min(page.limit, page.remaining)}"
        blocks.append(actions(LIST_ACTIONS_BLOCK_ID, [button(label, IssueLogId.LIST_MORE, value)]))
    return truncate(title, SECTION_TEXT_LIMIT), cap_blocks(blocks)


def _issue_fields(issue: Issue) -> list[str]:
    fields = [
        f"*Priority*\n{escape(issue.priority)}",
        f"*Category*\n{escape(issue.category)}",
        f"*Class*\n{escape(issue_class_label(issue.issue_class) or 'not classified')}",
        f"*Status*\n{escape(issue.status)}",
        f"*Reported by*\n{mention(issue.reported_by)} · {slack_date(issue.reported_at)}",
        f"*Assignee*\n{mention(issue.assignee) if issue.assignee else 'nobody yet'}",
        f"*Source*\n{escape(issue.source)}",
    ]
    if issue.acknowledged_at:
        took = humanize_duration(issue.ack_seconds or 0)
        fields.append(f"*Acknowledged*\n{mention(issue.acknowledged_by)} · after {took}")
    if issue.resolved_at and issue.status in (IssueStatus.RESOLVED, IssueStatus.CLOSED):
        took = humanize_duration(issue.resolution_seconds or 0)
        fields.append(f"*Resolved*\n{slack_date(issue.resolved_at)} by {mention(issue.resolved_by)} · after {took}")
    return fields


def _event_line(event: IssueEvent) -> str:
    icon = EVENT_ICONS.get(event.kind, "•")
    summary = event.summary or event.kind.replace("_", " ")
    # Comments are people's Slack-formatted words; other summaries are ours and may mention users only.
    text = quiet_user_text(summary) if event.kind == "comment" else _ESCAPED_MENTION.sub(r"<@\1>", escape(summary))
    return f"{slack_date(event.at)} {icon} {mention(event.actor)} — {truncate(text, TIMELINE_SUMMARY_LIMIT)}"


def build_issue_detail(timeline: IssueTimeline) -> tuple[str, list[dict[str, Any]]]:
    """`/issue show`: the issue's fields, what it says, where it lives, and its timeline."""
    issue = timeline.issue
    resolved = issue.status in (IssueStatus.RESOLVED, IssueStatus.CLOSED)
    marker = RESOLVED_MARKER if resolved else PRIORITY_MARKERS.get(issue.priority, "⚪")
    blocks: list[dict[str, Any]] = [mrkdwn_section(f"{marker} *#{issue.id} {escape(truncate(issue.title, 300))}*")]
    if issue.description:
        blocks.append(mrkdwn_section(alert_text_to_mrkdwn(issue.description)))
    blocks.append(fields_section(_issue_fields(issue)))
    if resolved and (issue.resolution or issue.root_cause):
        cause = f"\n*Root cause:* {escape(issue.root_cause)}" if issue.root_cause else ""
        blocks.append(mrkdwn_section(f"*Resolution:* {escape(issue.resolution or '—')}{cause}"))
    where = []
    if issue.link_url:
        where.append(f"📎 {link(issue.link_url, 'Screenshot / link')}")
    if timeline.message is not None:
        where.append(f"Message in {channel_reference(timeline.message.channel)}")
    if where:
        blocks.append(context(" · ".join(where)))
    blocks.append(divider())
    blocks.append(mrkdwn_section("*Timeline*"))
    if timeline.earlier:
        blocks.append(context(f"{timeline.earlier} earlier event(s) not shown."))
    for chunk in pack_lines([_event_line(event) for event in timeline.events]):
        blocks.append(mrkdwn_section(chunk))
    fallback = escape(f"#{issue.id} {truncate(issue.title, 500)} ({issue.status}, {issue.priority})")
    return truncate(fallback, SECTION_TEXT_LIMIT), cap_blocks(blocks)
