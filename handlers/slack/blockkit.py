"""Shared Block Kit pieces: escaping, safe conversion of alert text, truncation within Slack's limits."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from core.text import clean, escape

SECTION_TEXT_LIMIT = 3000
FIELD_TEXT_LIMIT = 2000
HEADER_TEXT_LIMIT = 150
CONTEXT_TEXT_LIMIT = 2000
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
URL_LIMIT = 3000  # a button's url, an image's image_url
MESSAGE_BLOCK_LIMIT = 50
MODAL_BLOCK_LIMIT = 100
FALLBACK_TEXT_LIMIT = 3000
ELLIPSIS = "…"
FENCE = "```"
ALERT_TEXT_INPUT_LIMIT = 20_000  # ten sections' worth: more cannot be shown, and bounds the work per message

_WEB_URL = re.compile(r"^https?://[^/\s]", re.I)  # a scheme and a host: "http://" alone links nowhere
_URL_UNSAFE = re.compile(r"[\s|<>]")
_URL_UNSAFE_IN_JSON = re.compile(r'[^\x21-\x7e]|[|<>"\\]')  # not printable ASCII, or what Slack reads as markup


def truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters, ending with "…" when anything was dropped."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def truncate_mrkdwn(text: str, limit: int) -> str:
    """`truncate` for mrkdwn: never ends inside a `<link|label>`, a mention or an `&amp;` entity,
    and closes a ``` block it cuts open, so the rest of the message keeps its formatting."""
    if len(text) <= limit:
        return text
    budget = max(0, limit - len(ELLIPSIS))
    head = _mrkdwn_head(text, budget)
    if head.count(FENCE) % 2:
        head = _mrkdwn_head(text, max(0, budget - len(FENCE) - 1))
        if head.count(FENCE) % 2:
            head += "\n" + FENCE
    return head + ELLIPSIS


def _mrkdwn_head(text: str, budget: int) -> str:
    head = text[:budget]
    opening = head.rfind("<")
    if opening > head.rfind(">"):
        head = head[:opening]
    ampersand = head.rfind("&", max(0, len(head) - 6))
    if ampersand != -1 and ";" not in head[ampersand:]:
        head = head[:ampersand]
    return head.rstrip()


def code(text: str) -> str:
    """Inline code that stays one span: a backtick inside would end it early."""
    return f"`{escape(text).replace('`', 'ˋ')}`"


def link(url: str | None, label: str) -> str:
    """A mrkdwn link; URLs that are not http(s) are shown as text, never as a live link."""
    label = " ".join(label.split())
    url = clean(url or "").strip()
    if not _WEB_URL.match(url):
        return escape(label)
    safe_url = _URL_UNSAFE.sub(lambda m: quote(m.group(), safe=""), url)
    if not label:
        return f"<{safe_url}>"
    return f"<{safe_url}|{escape(label).replace('|', '¦')}>"


def web_url(url: str | None) -> str | None:
    """An http(s) URL as Slack takes it in a button or an image (spaces, non-ASCII and markup
    characters percent-encoded), or None for anything else. Never shortened: a longer URL than
    URL_LIMIT is returned as it is, for the caller to drop."""
    url = clean(url or "").strip()
    if not _WEB_URL.match(url):
        return None
    return _URL_UNSAFE_IN_JSON.sub(lambda m: quote(m.group(), safe=""), url)


def url_button(text: str, url: str, action_id: str, value: str) -> dict[str, Any]:
    """A button that opens `url` (already checked with web_url and within URL_LIMIT). Slack still
    sends the click to the app, which acks it: the action_id is for that listener."""
    return {**button(text, action_id, value), "url": url}


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


_HTML_TAG = re.compile(r"</?(?:a|b|strong|i|em|p|div|br|ul|ol|li|table|tr|td|th|h[1-6]|span|code|pre)\b[^<>]*>", re.I)
# One token of HTML: a comment, or any tag (the ones without meaning in mrkdwn are dropped). The
# scans are bounded: an unclosed "<b" stops at the next "<", an unclosed comment after 2,000 characters,
# instead of rescanning the rest of the text from every opening.
_HTML_TOKEN = re.compile(r"<!--.{0,2000}?-->|<(/?)([A-Za-z][A-Za-z0-9]*)\b([^<>]*)>", re.S)
_HTML_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>`]+))""", re.I)
_MD_LINK = re.compile(r"\[([^\]\n]{1,300})\]\((https?://[^)\s]{1,2000})\)")
_MD_INLINE = re.compile(
    r"\[(?P<label>[^\]\n]{1,300})\]\((?P<url>https?://[^)\s]{1,2000})\)"
    r"|\*\*(?=\S)(?P<bold>[^*\n]{1,500}?)(?<=\S)\*\*"
)
_MD_HEADING = re.compile(r"^#{1,6}[^\S\n]+(.+)$")


class _HtmlToMrkdwn:
    """Renders a stream of HTML tokens; fed by `_html_to_mrkdwn`'s tokeniser, not by html.parser,
    whose declaration handling raises on some malformed markup (`<![foo[` is an AssertionError)."""

    _BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table"}
    _MARKS = {"b": "*", "strong": "*", "i": "_", "em": "_"}

    def __init__(self) -> None:
        self.parts: list[str] = []
        self._href: str | None = None
        self._link_text: list[str] | None = None  # not None while inside <a>

    def start(self, tag: str, attributes: str) -> None:
        if tag == "a":
            self.close_link()
            href = _HTML_HREF.search(attributes)
            self._href = html.unescape(next(filter(None, href.groups()), "")) if href else None
            self._link_text = []
        elif self._link_text is not None:
            return  # formatting inside a link's label cannot be shown in mrkdwn
        elif tag in self._MARKS:
            self.parts.append(self._MARKS[tag])
        elif tag == "li":
            self.parts.append("\n• ")
        elif tag in self._BLOCK_TAGS:
            self.parts.append("\n")

    def end(self, tag: str) -> None:
        if tag == "a":
            self.close_link()
        elif self._link_text is not None:
            return
        elif tag in self._MARKS:
            self.parts.append(self._MARKS[tag])
        elif tag in self._BLOCK_TAGS:
            self.parts.append("\n")

    def data(self, text: str) -> None:
        if not text:
            return
        text = html.unescape(text)
        if self._link_text is not None:
            self._link_text.append(text)
        else:
            self.parts.append(escape(text))

    def close_link(self) -> None:
        if self._link_text is None:
            return
        text = "".join(self._link_text).strip() or (self._href or "")
        self.parts.append(link(self._href, text))
        self._href, self._link_text = None, None


def _html_to_mrkdwn(text: str) -> str:
    renderer = _HtmlToMrkdwn()
    position = 0
    for token in _HTML_TOKEN.finditer(text):
        renderer.data(text[position : token.start()])
        position = token.end()
        closing, tag, attributes = token.groups()
        if tag is None:
            continue  # a comment
        if closing:
            renderer.end(tag.lower())
        else:
            renderer.start(tag.lower(), attributes)
    renderer.data(text[position:])
    renderer.close_link()
    return "".join(renderer.parts)


def _markdown_links(text: str) -> str:
    """Markdown links become mrkdwn links; everything else is escaped."""
    parts: list[str] = []
    position = 0
    for match in _MD_LINK.finditer(text):
        parts += [escape(text[position : match.start()]), link(match.group(2), match.group(1))]
        position = match.end()
    parts.append(escape(text[position:]))
    return "".join(parts)


def _markdown_inline(text: str, *, bold: bool = True) -> str:
    """Links and **bold** become mrkdwn; everything between them is escaped, one segment at a time."""
    parts: list[str] = []
    position = 0
    for match in _MD_INLINE.finditer(text):
        parts.append(escape(text[position : match.start()]))
        if match.group("url") is not None:
            parts.append(link(match.group("url"), match.group("label")))
        else:
            inner = _markdown_links(match.group("bold"))
            parts.append(f"*{inner}*" if bold else inner)
        position = match.end()
    parts.append(escape(text[position:]))
    return "".join(parts)


def _markdown_line(line: str) -> str:
    heading = _MD_HEADING.match(line)
    if heading:
        return f"*{_markdown_inline(heading.group(1).strip(), bold=False)}*"
    return _markdown_inline(line)


def alert_text_to_mrkdwn(text: str) -> str:
    """Alert annotations may carry HTML or Markdown: convert the common parts, escape the rest.

    The text is cut into segments (tags, links, bold runs, the text between them) and each segment
    is converted or escaped on its own, so no input can collide with the conversion's own markers:
    nothing in alert text can produce a live mention (<!channel>, <@U..>), an arbitrary link, or an
    exception. Only the first ALERT_TEXT_INPUT_LIMIT characters are read (a section shows 3,000).
    """
    text = clean(text[:ALERT_TEXT_INPUT_LIMIT])
    if _HTML_TAG.search(text):
        converted = _html_to_mrkdwn(text)
    else:
        converted = "\n".join(_markdown_line(line) for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", converted).strip()


def mrkdwn_text(text: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    """Any mrkdwn made fit to send: `clean`ed and cut within `limit` (never to nothing: Slack
    refuses an empty text)."""
    return truncate_mrkdwn(clean(text), limit) or " "


def mrkdwn_section(text: str, *, block_id: str | None = None, accessory: dict | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn_text(text)}}
    if block_id:
        block["block_id"] = block_id
    if accessory:
        block["accessory"] = accessory
    return block


def fields_section(fields: list[str]) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": mrkdwn_text(field, FIELD_TEXT_LIMIT)} for field in fields[:10]],
    }


def context(*elements: str) -> dict[str, Any]:
    texts = [mrkdwn_text(text, CONTEXT_TEXT_LIMIT) for text in elements if text and text.strip()][:10]
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text} for text in texts or [" "]]}


def button(
    text: str, action_id: str, value: str, *, style: str | None = None, confirm: dict | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(clean(text), BUTTON_TEXT_LIMIT), "emoji": True},
        "action_id": action_id,
        "value": truncate(clean(value), BUTTON_VALUE_LIMIT),
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
    """Join lines into as few section texts as fit Slack's 3,000 characters (a longer line is cut)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = truncate_mrkdwn(line, limit)
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
