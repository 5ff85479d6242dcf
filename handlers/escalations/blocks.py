"""Block Kit for escalations: the Escalate modal, and the message a team (and its on-call) receives.

The message carries everything a team needs without opening another tool: the alert's labels and
annotations, its links, the timeline of what was already tried (acknowledgements, runbook runs and
their output) and the matching knowledge-base article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Sequence

from handlers.issues.message import LINK_ANNOTATIONS
from handlers.issues.message_view import AlertLine
from handlers.slack.blockkit import (
    FALLBACK_TEXT_LIMIT,
    MODAL_BLOCK_LIMIT,
    SECTION_TEXT_LIMIT,
    actions,
    alert_text_to_mrkdwn,
    button,
    cap_blocks,
    code,
    context,
    escape,
    fields_section,
    link,
    mrkdwn_section,
    mrkdwn_text,
    slack_date,
    truncate,
)
from handlers.escalations.ids import EscalationId, EscalationReason, Urgency
from storage.models import Issue

NOTE_MAX_LENGTH = 2000
TIMELINE_LIMIT = 15
RUNBOOK_OUTPUT_LIMIT = 700
RUNBOOK_RUNS_LIMIT = 5  # the latest; with the rest of the message this stays far below 50 blocks
LABELS_LIMIT = 40
REASON_TEXT = {
    EscalationReason.AUTOFIX_FAILED: "auto-fix failed",
    EscalationReason.AUTOFIX_REFUSED: "auto-fix refused to run",
    EscalationReason.UNVERIFIED: "auto-fix ran but the alert did not clear",
}


@dataclass(frozen=True)
class EscalationForm:
    """What the Escalate modal shows: the issue, the teams, and which team its category suggests."""

    issue_id: int
    title: str
    category: str
    priority: str
    teams: Sequence[tuple[str, str]]  # (key, name)
    preselected: str | None
    configured: bool
    default_channel: str
    private_metadata: str = ""


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    summary: str


@dataclass(frozen=True)
class RunbookAttempt:
    runbook_id: str
    status: str
    started_at: datetime
    requested_by: str
    output_excerpt: str = ""
    error: str | None = None


@dataclass(frozen=True)
class EscalationContext:
    """Everything known about the issue when it is escalated."""

    issue: Issue
    alerts: Sequence[AlertLine] = ()
    alert_count: int = 0
    timeline: Sequence[TimelineEntry] = ()
    runbook_runs: Sequence[RunbookAttempt] = ()
    kb_article: tuple[str, str | None] | None = None
    message_channel: str | None = None  # where the issue's message is, as a channel id


@dataclass(frozen=True)
class EscalationNotice:
    context: EscalationContext
    team_name: str
    requested_by: str
    urgency: str = Urgency.HIGH
    reason: str = EscalationReason.MANUAL
    note: str = ""
    level: int = 1
    level_name: str = ""
    usergroup: str | None = None
    people: Sequence[str] = field(default_factory=tuple)  # who gets a DM at this level
    waited_minutes: int | None = None  # for chain levels: how long nobody acknowledged
    configured: bool = True


def _option(value: str, text: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": truncate(text, 75), "emoji": True}, "value": value}


def _urgency_for(priority: str) -> str:
    return Urgency.HIGH if priority == "High" else Urgency.LOW


def build_escalation_modal(form: EscalationForm) -> dict[str, Any]:
    teams = [_option(key, name) for key, name in form.teams][:100]
    team_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": EscalationId.TEAM,
        "placeholder": {"type": "plain_text", "text": "Choose a team"},
        "options": teams,
    }
    preselected = next((option for option in teams if option["value"] == form.preselected), None)
    if preselected is not None:
        team_select["initial_option"] = preselected
    urgencies = [_option(Urgency.HIGH, "High: page them now"), _option(Urgency.LOW, "Low: next working hours")]
    urgency = _urgency_for(form.priority)
    blocks: list[dict[str, Any]] = [
        mrkdwn_section(
            f"*Issue #{form.issue_id}:* {escape(truncate(form.title, 500))}\n"
            f"Category: {escape(form.category)} · Priority: {escape(form.priority)}"
        )
    ]
    if not form.configured:
        blocks.append(
            context(
                "ℹ️ No teams are set up in the opsbot config yet, so this escalation is posted to "
                f"{escape(form.default_channel)} naming the team you pick; nobody is paged or sent a DM. "
                "An admin can add teams (channel, user group, on-call rota) under `teams:`."
            )
        )
    blocks += [
        {
            "type": "input",
            "block_id": EscalationId.TEAM,
            "label": {"type": "plain_text", "text": "Team"},
            "hint": {"type": "plain_text", "text": "Suggested from the issue's category."},
            "element": team_select,
        },
        {
            "type": "input",
            "block_id": EscalationId.URGENCY,
            "label": {"type": "plain_text", "text": "Urgency"},
            "element": {
                "type": "radio_buttons",
                "action_id": EscalationId.URGENCY,
                "options": urgencies,
                "initial_option": urgencies[0] if urgency == Urgency.HIGH else urgencies[1],
            },
        },
        {
            "type": "input",
            "block_id": EscalationId.NOTE,
            "optional": True,
            "label": {"type": "plain_text", "text": "Note for the team"},
            "element": {
                "type": "plain_text_input",
                "action_id": EscalationId.NOTE,
                "multiline": True,
                "max_length": NOTE_MAX_LENGTH,
                "placeholder": {"type": "plain_text", "text": "What you saw, what you tried, what you need from them"},
            },
        },
    ]
    return {
        "type": "modal",
        "callback_id": EscalationId.MODAL,
        "title": {"type": "plain_text", "text": "Escalate issue"},
        "submit": {"type": "plain_text", "text": "Escalate"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": form.private_metadata,
        "blocks": cap_blocks(blocks, MODAL_BLOCK_LIMIT),
    }


def mention_user(user_id: str) -> str:
    """Slack user ids become mentions; "opsbot" and other sources stay words."""
    if re.fullmatch(r"[UW][A-Z0-9]*", user_id):
        return f"<@{user_id}>"
    return escape(user_id)


def channel_ref(channel: str) -> str:
    """A channel id becomes a link to the channel; a name stays as written."""
    if re.fullmatch(r"[CG][A-Z0-9]*", channel):
        return f"<#{channel}>"
    return escape(channel)


def _headline(notice: EscalationNotice) -> str:
    issue_ref = f"issue #{notice.context.issue.id}"
    if notice.reason == EscalationReason.CHAIN:
        name = f" ({escape(notice.level_name)})" if notice.level_name else ""
        waited = f" within {notice.waited_minutes} minutes" if notice.waited_minutes else ""
        return f"⏫ *Level {notice.level}{name} for {escape(notice.team_name)}*: nobody acknowledged {issue_ref}{waited}"
    if notice.reason in REASON_TEXT:
        return f"🤖 *Escalated to {escape(notice.team_name)} by opsbot*: {REASON_TEXT[EscalationReason(notice.reason)]}"
    return f"📣 *Escalated to {escape(notice.team_name)}* by {mention_user(notice.requested_by)}"


def _who_line(notice: EscalationNotice) -> str:
    urgency = f"Urgency *{escape(notice.urgency)}*"
    if notice.people:
        return f"{urgency} · On call: {', '.join(mention_user(person) for person in notice.people)}"
    if not notice.configured:
        return f"{urgency} · No on-call person: teams are not configured yet"
    return f"{urgency} · No on-call person configured for this team"


def _issue_fields(ctx: EscalationContext) -> list[str]:
    issue = ctx.issue
    fields = [
        f"*Issue*\n#{issue.id}" + (f" in {channel_ref(ctx.message_channel)}" if ctx.message_channel else ""),
        f"*Priority*\n{escape(issue.priority)}",
        f"*Category*\n{escape(issue.category)}",
        f"*Status*\n{escape(issue.status)}",
        f"*Reported*\n{slack_date(issue.reported_at)}",
    ]
    if issue.assignee:
        fields.append(f"*Assignee*\n{mention_user(issue.assignee)}")
    return fields


def _labels(alert: AlertLine) -> str:
    """Every label that fits in one section, then how many did not."""
    budget = SECTION_TEXT_LIMIT - 100
    shown: list[str] = []
    items = sorted(alert.labels.items())
    for key, value in items:
        label = code(f"{truncate(key, 60)}={truncate(value, 120)}")
        if len(shown) >= LABELS_LIMIT or sum(len(part) + 1 for part in shown) + len(label) > budget:
            break
        shown.append(label)
    more = len(items) - len(shown)
    return "*Labels*\n" + " ".join(shown) + (f" …and {more} more" if more > 0 else "")


def _annotations(alert: AlertLine) -> str:
    urls = {key for key, _ in LINK_ANNOTATIONS}
    lines = [
        f"*{escape(key)}:* {alert_text_to_mrkdwn(truncate(value, 800))}"
        for key, value in sorted(alert.annotations.items())
        if key not in urls and value and not key.startswith("__")  # "__…": opsbot's own (Grafana values, image)
    ]
    return "*Annotations*\n" + "\n".join(lines) if lines else ""


def _links(ctx: EscalationContext) -> str:
    parts: list[str] = []
    first = ctx.alerts[0] if ctx.alerts else None
    if first is not None:
        if first.generator_url:
            parts.append(link(first.generator_url, "Generator"))
        seen: set[str] = set()
        for key, label in LINK_ANNOTATIONS:
            url = first.annotations.get(key)
            if url and label not in seen:
                parts.append(link(url, label))
                seen.add(label)
    if ctx.issue.link_url:
        parts.append(link(ctx.issue.link_url, "Reporter's link"))
    return "*Links:* " + " · ".join(parts) if parts else ""


def _timeline(ctx: EscalationContext) -> str:
    entries = list(ctx.timeline)[-TIMELINE_LIMIT:]
    if not entries:
        return "*Tried so far:* nothing recorded yet."
    lines = [
        f"• {slack_date(entry.at, '{time}')} {mention_user(entry.actor)}: {escape(truncate(entry.summary, 200))}"
        for entry in entries
    ]
    return "*Timeline: what was already tried*\n" + "\n".join(lines)


def _runbook_run(run: RunbookAttempt) -> str:
    head = (
        f"🛠️ Runbook {code(truncate(run.runbook_id, 100))} *{escape(run.status)}* "
        f"({slack_date(run.started_at, '{time}')}, by {mention_user(run.requested_by)})"
    )
    body = run.error or ""
    if run.output_excerpt:
        body = (body + "\n" if body else "") + run.output_excerpt
    if not body:
        return head
    excerpt = truncate(body.replace("```", "ˋˋˋ"), RUNBOOK_OUTPUT_LIMIT)
    return f"{head}\n```{escape(excerpt)}```"


def build_escalation_message(
    notice: EscalationNotice, *, audience: Literal["channel", "dm"] = "channel"
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for the team's channel or a DM to one of the people called."""
    ctx = notice.context
    headline = _headline(notice)
    if audience == "channel" and notice.usergroup:
        headline = f"<!subteam^{notice.usergroup}> {headline}"
    elif audience == "dm":
        headline = f"📟 You are called for *{escape(notice.team_name)}*. {headline}"
    title = escape(truncate(ctx.issue.title, 300))
    blocks: list[dict[str, Any]] = [
        mrkdwn_section(f"{headline}\n*{title}*\n{_who_line(notice)}"),
        fields_section(_issue_fields(ctx)),
    ]
    if notice.note:
        quoted = "\n".join(f"> {line}" for line in escape(truncate(notice.note, NOTE_MAX_LENGTH)).splitlines())
        blocks.append(mrkdwn_section(f"*Note*\n{quoted}"))
    first = ctx.alerts[0] if ctx.alerts else None
    if first is not None:
        if ctx.alert_count > 1:
            blocks.append(context(f"{ctx.alert_count} alerts on this issue; the first is shown."))
        blocks.append(mrkdwn_section(_labels(first)))
        annotations = _annotations(first)
        if annotations:
            blocks.append(mrkdwn_section(annotations))
    elif ctx.issue.description:
        blocks.append(mrkdwn_section(alert_text_to_mrkdwn(ctx.issue.description)))
    links = _links(ctx)
    if links:
        blocks.append(mrkdwn_section(links))
    blocks.append(mrkdwn_section(_timeline(ctx)))
    runs = list(ctx.runbook_runs)
    if len(runs) > RUNBOOK_RUNS_LIMIT:
        blocks.append(context(f"…{len(runs) - RUNBOOK_RUNS_LIMIT} earlier runbook runs are in the issue's timeline."))
    for run in runs[-RUNBOOK_RUNS_LIMIT:]:
        blocks.append(mrkdwn_section(_runbook_run(run)))
    if ctx.kb_article:
        kb_title, url = ctx.kb_article
        blocks.append(context(f"📖 Knowledge base: {link(url, kb_title) if url else escape(kb_title)}"))
    blocks.append(
        actions(
            EscalationId.ACTIONS_BLOCK,
            [button("I'm on it", EscalationId.ACKNOWLEDGE, str(ctx.issue.id), style="primary")],
        )
    )
    prefix = f"<!subteam^{notice.usergroup}> " if audience == "channel" and notice.usergroup else ""
    what = escape(f"Issue #{ctx.issue.id} escalated to {notice.team_name}: {truncate(ctx.issue.title, 500)}")
    return mrkdwn_text(prefix + what, FALLBACK_TEXT_LIMIT), cap_blocks(blocks)


def build_escalation_thread_line(notice: EscalationNotice, channel: str) -> str:
    """The line in the issue's own thread: who escalated to whom."""
    who = ", ".join(mention_user(person) for person in notice.people) or "nobody on call configured"
    where = channel_ref(channel)
    if notice.reason == EscalationReason.CHAIN:
        waited = f" within {notice.waited_minutes} minutes" if notice.waited_minutes else ""
        name = f" ({escape(notice.level_name)})" if notice.level_name else ""
        return f"⏫ Nobody acknowledged{waited}: escalated to level {notice.level}{name} of {escape(notice.team_name)}: {who}."
    if notice.reason in REASON_TEXT:
        by = f"opsbot ({REASON_TEXT[EscalationReason(notice.reason)]})"
    else:
        by = mention_user(notice.requested_by)
    note = f" Note: {escape(truncate(notice.note, 500))}" if notice.note else ""
    return f"📣 {by} escalated this to *{escape(notice.team_name)}* in {where} (on call: {who}), urgency {escape(notice.urgency)}.{note}"
