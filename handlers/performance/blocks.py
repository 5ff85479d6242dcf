"""Block Kit for the performance feature: the report, its daily-report section, the /adjustment modal,
the "Start a review" button and the review's thread message.

Pure builders: rendered template sections (or a small form) in, dicts out. Long sections are split
at line ends into as many section blocks as Slack's 3,000 characters need; a message never passes 50
blocks, a modal 100.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping, Sequence

from handlers.slack.blockkit import (
    FALLBACK_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    MODAL_BLOCK_LIMIT,
    actions,
    button,
    cap_blocks,
    context,
    divider,
    escape,
    mrkdwn_section,
    pack_lines,
    truncate,
)
from handlers.performance.ids import (
    REVIEW_ACTIONS_BLOCK_ID,
    REVIEW_PRIORITY,
    REVIEW_START_BLOCK_ID,
    AdjustmentModal,
    PerformanceAction,
)

BLOCK_ID_PREFIX = "performance."
REPORT_SECTIONS = ("kpis", "problems", "issues", "adjustments")
REVIEW_SECTIONS = ("timeline", "root_cause", "tried", "kpis", "actions")
AREA_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 2000
MAX_KPI_OPTIONS = 100  # a static_select's limit


def _header(title: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(title, HEADER_TEXT_LIMIT), "emoji": True}}


def _sections(name: str, text: str) -> list[dict[str, Any]]:
    """One section per 3,000 characters of `text`, split between lines; block ids stay unique."""
    chunks = pack_lines(text.splitlines())
    return [
        mrkdwn_section(chunk, block_id=BLOCK_ID_PREFIX + name + (f".{n}" if n > 1 else ""))
        for n, chunk in enumerate(chunks, start=1)
    ]


def _body(sections: Mapping[str, str], names: Sequence[str]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for name in names:
        text = sections.get(name, "")
        if text.strip():
            blocks += _sections(name, text)
    return blocks


def build_performance_message(
    sections: Mapping[str, str], *, note: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for `/summary performance`: header, KPIs, problems, issues, adjustments, footer."""
    title = sections.get("title") or "Performance report"
    blocks = [_header(title)] + _body(sections, REPORT_SECTIONS)
    footer = [part for part in (sections.get("definitions"), note) if part]
    if footer:
        blocks.append(context(*footer))
    fallback = "\n".join(part for part in (title, sections.get("problems")) if part)
    return truncate(fallback, FALLBACK_TEXT_LIMIT), cap_blocks(blocks)


def build_performance_section(sections: Mapping[str, str]) -> list[dict[str, Any]]:
    """The same report as a section of another message (the daily report): a divider and a bold title."""
    title = sections.get("title") or "Performance"
    blocks = [divider(), mrkdwn_section(f"*{escape(title)}*", block_id=BLOCK_ID_PREFIX + "title")]
    blocks += _body(sections, REPORT_SECTIONS)
    if sections.get("definitions"):
        blocks.append(context(sections["definitions"]))
    return blocks


def build_review_actions(issue_id: int, priority: str, *, resolved: bool) -> list[dict[str, Any]]:
    """The issue message's "Start a review" button, in a block of its own: High-priority issues get it
    once resolved (a review comes after the incident). A list, maybe empty, so the issue message adds
    it without knowing the rule."""
    if priority != REVIEW_PRIORITY or not resolved:
        return []
    return [actions(REVIEW_START_BLOCK_ID, [button("📝 Start a review", PerformanceAction.START_REVIEW, str(issue_id))])]


def build_review_thread(sections: Mapping[str, str], *, review_id: int, can_save: bool) -> tuple[str, list[dict[str, Any]]]:
    """The review draft posted in the issue's thread, with "Save to KB drafts" when a drafts folder is set."""
    title = sections.get("title") or "Post-incident review"
    blocks = [mrkdwn_section(f"*{title}*", block_id=BLOCK_ID_PREFIX + "review.title")]
    blocks += _body(sections, REVIEW_SECTIONS)
    if sections.get("footer"):
        blocks.append(context(sections["footer"]))
    if can_save:
        blocks.append(
            actions(REVIEW_ACTIONS_BLOCK_ID, [button("💾 Save to KB drafts", PerformanceAction.SAVE_REVIEW, str(review_id))])
        )
    return truncate(title, FALLBACK_TEXT_LIMIT), cap_blocks(blocks)


@dataclass(frozen=True)
class AdjustmentForm:
    """What the /adjustment modal is opened with."""

    kpis: Sequence[tuple[str, str]]  # (key, name) of the configured KPIs
    today: date
    area: str = ""
    private_metadata: str = ""


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "label": _plain(label), "element": element}
    if optional:
        block["optional"] = True
    if hint:
        block["hint"] = _plain(hint)
    return block


def _text(action_id: str, placeholder: str, *, multiline: bool, max_length: int, initial: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": max_length,
        "placeholder": _plain(placeholder),
    }
    if initial:
        element["initial_value"] = truncate(initial, max_length)
    return element


def build_adjustment_modal(form: AdjustmentForm) -> dict[str, Any]:
    """Area, what was changed, expected impact, the KPI to watch and the follow-up date."""
    options = [{"text": _plain(truncate(name, 75)), "value": key} for key, name in form.kpis[:MAX_KPI_OPTIONS]]
    blocks: list[dict[str, Any]] = [
        _input(
            AdjustmentModal.AREA, "Area",
            _text(AdjustmentModal.AREA, "e.g. API, Caching, Database indexing, Load balancing", multiline=False,
                  max_length=AREA_MAX_LENGTH, initial=form.area),
        ),
        _input(
            AdjustmentModal.CHANGE, "What was changed",
            _text(AdjustmentModal.CHANGE, "e.g. Redis cache in front of the product API", multiline=True,
                  max_length=TEXT_MAX_LENGTH),
        ),
        _input(
            AdjustmentModal.IMPACT, "Expected impact",
            _text(AdjustmentModal.IMPACT, "e.g. API p95 under 300 ms, less load on the database", multiline=True,
                  max_length=TEXT_MAX_LENGTH),
            optional=True,
        ),
    ]
    if options:
        blocks.append(
            _input(
                AdjustmentModal.KPI, "KPI to watch",
                {"type": "static_select", "action_id": AdjustmentModal.KPI, "placeholder": _plain("Choose a KPI"),
                 "options": options},
                optional=True, hint="Reports show how it moved since the change.",
            )
        )
    blocks.append(
        _input(
            AdjustmentModal.FOLLOW_UP, "Follow-up date",
            {"type": "datepicker", "action_id": AdjustmentModal.FOLLOW_UP, "placeholder": _plain("Pick a day")},
            optional=True, hint="You get a reminder that day, with the KPI's change since the adjustment.",
        )
    )
    return {
        "type": "modal",
        "callback_id": AdjustmentModal.CALLBACK,
        "title": _plain("Log an adjustment"),
        "submit": _plain("Log it"),
        "close": _plain("Cancel"),
        "private_metadata": form.private_metadata,
        "blocks": blocks[:MODAL_BLOCK_LIMIT],
    }
