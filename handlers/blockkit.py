"""Shared Block Kit pieces: escaping, safe conversion of alert text, truncation within Slack's limits."""

from __future__ import annotations

import re
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

SECTION_TEXT_LIMIT = 3000
FIELD_TEXT_LIMIT = 2000
HEADER_TEXT_LIMIT = 150
CONTEXT_TEXT_LIMIT = 2000
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
MESSAGE_BLOCK_LIMIT = 50
MODAL_BLOCK_LIMIT = 100
FALLBACK_TEXT_LIMIT = 3000
ELLIPSIS = "…"


def truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters, ending with "…" when anything was dropped."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str | None, label: str) -> str:
    """A mrkdwn link; URLs that are not http(s) are shown as text, never as a live link."""
    if not url or not re.match(r"^https?://", url):
        return escape(label)
    safe_url = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C").replace(" ", "%20")
    return f"<{safe_url}|{escape(label).replace('|', '¦')}>"


def slack_date(moment: datetime, token: str = "{date_short_pretty} {time}") -> str:
    """Slack's date formatting: each reader sees it in their own time zone."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{token}|{fallback}>"


def humanize_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


class _HtmlToMrkdwn(HTMLParser):
    _BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")
            self._link_text = []
        elif tag in ("b", "strong"):
            self.parts.append("*")
        elif tag in ("i", "em"):
            self.parts.append("_")
        elif tag == "li":
            self.parts.append("\n• ")
        elif tag in self._BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            text = "".join(self._link_text).strip() or (self._href or "")
            self.parts.append(link(self._href, text))
            self._href = None
        elif tag in ("b", "strong"):
            self.parts.append("*")
        elif tag in ("i", "em"):
            self.parts.append("_")
        elif tag in self._BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._link_text.append(data)
        else:
            self.parts.append(escape(data))


_HTML_TAG = re.compile(r"</?(?:a|b|strong|i|em|p|div|br|ul|ol|li|table|tr|td|th|h[1-6]|span|code|pre)\b[^>]*>", re.I)
_MD_LINK = re.compile(r"\[([^\]\n]{1,300})\]\((https?://[^)\s]{1,2000})\)")
_MD_BOLD = re.compile(r"\*\*(?=\S)([^*\n]{1,500}?)(?<=\S)\*\*")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.M)


def alert_text_to_mrkdwn(text: str) -> str:
    """Alert annotations may carry HTML or Markdown: convert the common parts, escape the rest.

    Nothing in alert text can produce a live mention (<!channel>, <@U..>) or an arbitrary link syntax.
    """
    if _HTML_TAG.search(text):
        parser = _HtmlToMrkdwn()
        parser.feed(text)
        parser.close()
        converted = "".join(parser.parts)
        return re.sub(r"\n{3,}", "\n\n", converted).strip()
    placeholders: list[str] = []

    def _keep(markup: str) -> str:
        placeholders.append(markup)
        return f"\x00{len(placeholders) - 1}\x00"

    text = _MD_LINK.sub(lambda m: _keep(link(m.group(2), m.group(1))), text)
    text = escape(text)
    text = _MD_BOLD.sub(lambda m: f"*{m.group(1)}*", text)
    text = _MD_HEADING.sub(lambda m: f"*{m.group(1).strip()}*", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: placeholders[int(m.group(1))], text).strip()


def mrkdwn_section(text: str, *, block_id: str | None = None, accessory: dict | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_LIMIT) or " "},
    }
    if block_id:
        block["block_id"] = block_id
    if accessory:
        block["accessory"] = accessory
    return block


def fields_section(fields: list[str]) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": truncate(field, FIELD_TEXT_LIMIT)} for field in fields[:10]],
    }


def context(*elements: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate(text, CONTEXT_TEXT_LIMIT)} for text in elements[:10] if text],
    }


def button(
    text: str, action_id: str, value: str, *, style: str | None = None, confirm: dict | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, BUTTON_TEXT_LIMIT), "emoji": True},
        "action_id": action_id,
        "value": truncate(value, BUTTON_VALUE_LIMIT),
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def actions(block_id: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": elements[:25]}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def pack_lines(lines: list[str] | tuple[str, ...], limit: int = SECTION_TEXT_LIMIT - 100) -> list[str]:
    """Join lines into as few section texts as fit Slack's 3,000 characters."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def cap_blocks(blocks: list[dict[str, Any]], limit: int = MESSAGE_BLOCK_LIMIT) -> list[dict[str, Any]]:
    """Keep within Slack's block limit, saying so rather than failing the whole message."""
    if len(blocks) <= limit:
        return blocks
    return blocks[: limit - 1] + [context(f"{len(blocks) - limit + 1} more blocks not shown {ELLIPSIS}")]
