"""Block Kit for feeding the knowledge base: the write-up modal, `/kb drafts`, the issue part of `/kb gaps`.

Pure builders: a small form or listing in, dicts out, within Slack's limits (a modal's 100 blocks, a
message's 50, an input's 3,000 characters, a button value's 2,000). Titles, names and people's words
are escaped; the drafts' Publish and Discard buttons are drawn only for those who may use them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.vocabulary import CATEGORY_LABELS
from handlers.issues.ids import IssueAction
from handlers.knowledge.articles import TEXT_LIMIT, TITLE_LIMIT
from handlers.knowledge.drafts import DraftFile
from handlers.knowledge.gaps import IssueGap, IssueGapReport
from handlers.knowledge.ids import DRAFT_BLOCK_PREFIX, GAP_BLOCK_PREFIX, DraftAction, WriteUpModal
from handlers.knowledge.prefill import WriteUpForm
from handlers.knowledge.service import DraftList, HandledDraft, SavedDraft
from handlers.slack.blockkit import (
    BUTTON_VALUE_LIMIT,
    FALLBACK_TEXT_LIMIT,
    actions,
    button,
    cap_blocks,
    context,
    escape,
    humanize_duration,
    mrkdwn_section,
    slack_date,
    truncate,
)

ALERTS_INPUT_LIMIT = 2000
WRITE_UP_BUTTON = "📝 Write it up"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _text_input(
    block_id: str, label: str, initial: str, *, multiline: bool = True, limit: int = TEXT_LIMIT,
    optional: bool = True, hint: str | None = None, placeholder: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": block_id, "multiline": multiline, "max_length": limit}
    if initial.strip():
        element["initial_value"] = initial[:limit]
    if placeholder:
        element["placeholder"] = _plain(placeholder)
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "label": _plain(label), "element": element}
    if optional:
        block["optional"] = True
    if hint:
        block["hint"] = _plain(hint)
    return block


def build_write_up_modal(form: WriteUpForm, private_metadata: str) -> dict[str, Any]:
    """The article's parts, prefilled from the issue; each one editable before it is saved."""
    write_up = form.write_up
    options = [{"text": _plain(label), "value": str(value)} for value, label in CATEGORY_LABELS.items()]
    category: dict[str, Any] = {"type": "static_select", "action_id": WriteUpModal.CATEGORY, "options": options}
    initial = next((option for option in options if option["value"] == write_up.category), None)
    if initial is not None:
        category["initial_option"] = initial
    return {
        "type": "modal",
        "callback_id": WriteUpModal.CALLBACK,
        "title": _plain("Write it up"),
        "submit": _plain("Save draft"),
        "close": _plain("Cancel"),
        "private_metadata": private_metadata,
        "blocks": [
            context(
                f"From issue #{form.issue_id}. Saved among the knowledge base's drafts: it answers questions at once, "
                "marked as a draft until a manager publishes it."
            ),
            _text_input(WriteUpModal.TITLE, "Title", write_up.title, multiline=False, limit=TITLE_LIMIT, optional=False),
            {"type": "input", "block_id": WriteUpModal.CATEGORY, "label": _plain("Category"), "element": category},
            _text_input(
                WriteUpModal.ALERTS, "Alert names", ", ".join(write_up.alerts), multiline=False, limit=ALERTS_INPUT_LIMIT,
                hint="Alerts this article answers, separated by commas: their messages will link to it.",
            ),
            _text_input(WriteUpModal.SYMPTOMS, "Symptoms", write_up.symptoms, placeholder="What people saw"),
            _text_input(WriteUpModal.ROOT_CAUSE, "Root cause", write_up.root_cause, placeholder="Why it happened"),
            _text_input(
                WriteUpModal.FIX, "What fixed it", write_up.fix, optional=False,
                placeholder="What to do next time, as someone new to it would need it",
            ),
            _text_input(WriteUpModal.STEPS, "Steps taken", write_up.steps, hint="From the issue's timeline: keep what helps."),
        ],
    }


def build_saved(saved: SavedDraft) -> str:
    return (
        f"📝 Saved *{escape(truncate(saved.title, 200))}* among the knowledge base's drafts (`{escape(saved.name)}`). "
        "It answers questions now, marked as a draft; a manager publishes it from `/kb drafts`."
    )


def _age(created: datetime, now: datetime) -> str:
    return f"{humanize_duration((now - created).total_seconds())} ago"


def _draft_line(draft: DraftFile, now: datetime) -> str:
    source = f"issue #{draft.source_issue}" if draft.source_issue is not None else "no source issue"
    author = f"<@{draft.author}>" if draft.author and draft.author.isalnum() else escape(draft.author or "someone")
    hidden = "" if draft.searchable else " · _hidden from answers until published_"
    return (
        f"*{escape(truncate(draft.title, 200))}*\n"
        f"{source} · by {author} · {_age(draft.created, now)} · `{escape(truncate(draft.name, 100))}`{hidden}"
    )


def _draft_buttons(draft: DraftFile, number: int) -> dict[str, Any] | None:
    if len(draft.name) > BUTTON_VALUE_LIMIT:
        return None
    return actions(
        f"{DRAFT_BLOCK_PREFIX}{number}",
        [
            button("Publish", DraftAction.PUBLISH, draft.name, style="primary"),
            button("Discard", DraftAction.DISCARD, draft.name, style="danger", confirm=_discard_confirmation(draft)),
        ],
    )


def _discard_confirmation(draft: DraftFile) -> dict[str, Any]:
    return {
        "title": _plain("Discard this draft?"),
        "text": {"type": "mrkdwn", "text": f"*{escape(truncate(draft.title, 200))}* will be deleted."},
        "confirm": _plain("Discard"),
        "deny": _plain("Keep it"),
    }


def build_drafts(listing: DraftList, now: datetime, *, note: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """`/kb drafts`: each draft with its source issue, author and age; Publish / Discard for managers."""
    blocks: list[dict[str, Any]] = [mrkdwn_section(note)] if note else []
    if not listing.drafts:
        text = "No drafts are waiting: write one up from a resolved issue's *Write it up* button."
        return (note or text), cap_blocks([*blocks, mrkdwn_section(text)])
    title = f"{listing.total} draft(s) waiting for review, newest first"
    blocks.append(mrkdwn_section(f"*{title}*"))
    for number, draft in enumerate(listing.drafts, start=1):
        blocks.append(mrkdwn_section(_draft_line(draft, now)))
        if listing.can_manage:
            buttons = _draft_buttons(draft, number)
            if buttons is not None:
                blocks.append(buttons)
    footer = []
    if listing.total > len(listing.drafts):
        footer.append(f"…and {listing.total - len(listing.drafts)} older draft(s).")
    if not listing.can_manage:
        footer.append(f"Managers publish or discard drafts: ask {listing.managers}.")
    if footer:
        blocks.append(context(" ".join(footer)))
    return truncate(note or title, FALLBACK_TEXT_LIMIT), cap_blocks(blocks)


def build_handled(handled: HandledDraft) -> str:
    title = escape(truncate(handled.draft.title, 200))
    if handled.published and handled.path is not None:
        return f"✅ Published *{title}* as `{escape(handled.path.name)}`: answers no longer mark it as a draft."
    return f"🗑️ Discarded the draft *{title}*."


def _gap_line(gap: IssueGap) -> str:
    name = f"*{escape(truncate(gap.name, 200))}*" if gap.from_alert else f"“{escape(truncate(gap.name, 200))}”"
    return f"{name} — {gap.issues} issues, last {slack_date(gap.last_reported_at)} (latest #{gap.latest_issue_id})"


def build_issue_gaps(report: IssueGapReport) -> tuple[str, list[dict[str, Any]]]:
    """Recurring issues without an article, each with "Write it up" on its latest issue."""
    label = escape(report.period_label)
    if not report.gaps:
        text = f"📚 No alert or reported problem came back {report.min_issues}+ times in {label} without an article."
        return text, [mrkdwn_section(text)]
    title = f"{len(report.gaps)} recurring issue(s) without an article in {label}"
    blocks: list[dict[str, Any]] = [mrkdwn_section(f"*{title}* ({report.min_issues}+ issues each, most first)")]
    for number, gap in enumerate(report.gaps, start=1):
        write_up = button(WRITE_UP_BUTTON, IssueAction.WRITE_UP, str(gap.latest_issue_id))
        blocks.append(mrkdwn_section(f"• {_gap_line(gap)}", block_id=f"{GAP_BLOCK_PREFIX}{number}", accessory=write_up))
    return title, blocks
