"""Block Kit for summaries and reports: a header, one section per rendered template block, definitions.

The prose comes from the templates (handlers/summaries/rendering.py); the order and kind of blocks
live here, so a template can change words but never produce invalid Block Kit.
"""

from __future__ import annotations

from typing import Any

from handlers.slack.blockkit import (
    FALLBACK_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    cap_blocks,
    context,
    mrkdwn_section,
    truncate,
)
from handlers.summaries.rendering import RenderedReport

SECTION_ORDER = (
    "overview",
    "breakdown",
    "response_times",
    "targets",
    "work",
    "support",
    "satisfaction",
    "recurring_alerts",
)
BLOCK_ID_PREFIX = "summary."


def build_report_message(report: RenderedReport, *, note: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for a summary or a report."""
    title = report.get("title") or "Summary"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(title, HEADER_TEXT_LIMIT), "emoji": True}}
    ]
    for name in SECTION_ORDER:
        text = report.get(name)
        if text:
            blocks.append(mrkdwn_section(text, block_id=BLOCK_ID_PREFIX + name))
    footer = [part for part in (report.get("definitions"), note) if part]
    if footer:
        blocks.append(context(*footer))
    fallback = "\n".join(part for part in (title, report.get("overview")) if part)
    return truncate(fallback, FALLBACK_TEXT_LIMIT), cap_blocks(blocks)
