"""The read-back page for humans running the bot in local mode: what the bot "posted" to Slack.

Plain HTML that refreshes itself every 2 s; every piece of message text is escaped, because the
text comes from alerts and users and must not become markup in the reader's browser.
"""

from __future__ import annotations

from html import escape
from typing import Any

from .state import Workspace

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 60rem; color: #1d1c1d; }
section { border: 1px solid #ddd; border-radius: 6px; padding: .5rem 1rem; margin-bottom: 1rem; }
.msg { border-top: 1px solid #eee; padding: .4rem 0; white-space: pre-wrap; }
.reply { margin-left: 2rem; border-left: 3px solid #ddd; padding-left: .6rem; }
.meta { color: #616061; font-size: .8rem; }
.button { display: inline-block; border: 1px solid #bbb; border-radius: 4px; padding: 0 .4rem; margin-right: .3rem; }
.ephemeral { color: #616061; font-style: italic; }
"""


def _text(obj: Any) -> str:
    """The text of a composition text object (or a bare string), escaped."""
    if isinstance(obj, dict):
        obj = obj.get("text", "")
    return escape(str(obj or ""))


def _element(element: dict[str, Any]) -> str:
    kind = element.get("type")
    if kind == "button":
        return f'<span class="button">[{_text(element.get("text"))}]</span>'
    if kind == "image":
        return f"[image: {escape(str(element.get('alt_text', '')))}]"
    if kind in ("plain_text", "mrkdwn"):
        return _text(element)
    if "placeholder" in element:
        return f'<span class="button">[{_text(element["placeholder"])} ▾]</span>'
    return f"[{escape(str(kind))}]"


def _rich_text(node: Any) -> str:
    """Flatten rich_text sections/lists to their words; styling is not worth reproducing here."""
    if isinstance(node, list):
        return "".join(_rich_text(n) for n in node)
    if not isinstance(node, dict):
        return ""
    if "elements" in node:
        return _rich_text(node["elements"])
    return escape(str(node.get("text") or node.get("url") or node.get("name") or ""))


def _block(block: Any) -> str:
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    if kind == "header":
        return f"<strong>{_text(block.get('text'))}</strong>"
    if kind == "section":
        parts = [_text(block.get("text"))] if block.get("text") else []
        parts += [_text(field) for field in block.get("fields") or []]
        if isinstance(block.get("accessory"), dict):
            parts.append(_element(block["accessory"]))
        return "<br>".join(parts)
    if kind == "context":
        return '<span class="meta">' + " · ".join(_element(e) for e in block.get("elements") or []) + "</span>"
    if kind == "actions":
        return " ".join(_element(e) for e in block.get("elements") or [])
    if kind == "divider":
        return "<hr>"
    if kind == "image":
        return _element(block)
    if kind == "rich_text":
        return _rich_text(block)
    if kind == "input":
        return f"{_text(block.get('label'))}: {_element(block.get('element') or {})}"
    return f"[{escape(str(kind))} block]"


def _message(message: dict[str, Any], css: str = "msg") -> str:
    meta = f"{escape(message.get('ts', ''))}"
    if "edited" in message:
        meta += " (edited)"
    parts = [f'<div class="{css}"><div class="meta">{meta}</div>']
    if message.get("text") and not message.get("blocks"):  # with blocks, Slack shows text only in notifications
        parts.append(f"<div>{escape(message['text'])}</div>")
    parts += [f"<div>{_block(b)}</div>" for b in message.get("blocks") or []]
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict):
            parts.append(f"<div>{escape(str(attachment.get('text') or attachment.get('fallback') or ''))}</div>")
    for file in message.get("files") or []:
        parts.append(f"<div>📎 {escape(str(file.get('name')))} ({escape(str(file.get('title')))})</div>")
    parts += [_message(reply, "msg reply") for reply in message.get("replies") or []]
    parts.append("</div>")
    return "".join(parts)


def _channel(ws: Workspace, channel_id: str) -> str:
    label = escape(ws.channel_label(channel_id))
    parts = [f"<section><h2>{label} <span class=\"meta\">{escape(channel_id)}</span></h2>"]
    parts += [_message(m) for m in ws.channels.get(channel_id, [])]
    for ephemeral in ws.ephemerals.get(channel_id, []):
        who = escape(ephemeral["user"])
        parts.append(f'<div class="msg ephemeral">only visible to {who}: {escape(ephemeral["text"])}</div>')
    parts.append("</section>")
    return "".join(parts)


def render_page(ws: Workspace, api_url: str, call_count: int) -> str:
    """The whole page: one section per channel that has messages, in name order."""
    channel_ids = sorted(set(ws.channels) | set(ws.ephemerals), key=ws.channel_label)
    body = "".join(_channel(ws, c) for c in channel_ids) or "<p>No messages yet.</p>"
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\">"
        '<meta http-equiv="refresh" content="2">'
        f"<title>opsbot local Slack</title><style>{_STYLE}</style></head><body>"
        "<h1>opsbot local Slack</h1>"
        f'<p class="meta">Web API stand-in at {escape(api_url)} · {call_count} calls recorded · '
        '<a href="/api/_calls">calls</a> · <a href="/api/_messages">messages as JSON</a></p>'
        f"{body}</body></html>"
    )
