"""Markdown (CommonMark + tables + strikethrough) to Slack mrkdwn, from markdown-it's tokens.

Slack's mrkdwn is not Markdown: `*bold*`, `_italic_`, `~strike~`, `<url|text>`, no headings, no
tables. Rendering from the parsed token tree rather than with regexes is what keeps a `*` in a
code block or a `#` in a shell comment from turning into formatting.

`&`, `<` and `>` are escaped everywhere, code included: Slack reads `<...>` as a link or mention
wherever it appears and decodes the entities for display.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from core.text import escape

ELLIPSIS = "…"
FENCE = "```"
_LIST_INDENT = "    "
_WEB_LINK = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
_HTML_TAG = re.compile(r"<[^>]*>")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)[\s/>]")
_HTML_TAGS = frozenset(
    "a abbr b br code del details div em i img ins kbd mark p pre s small span strong sub summary sup u".split()
)


def markdown_to_mrkdwn(markdown: str) -> str:
    root = SyntaxTreeNode(_parser().parse(markdown))
    return _blocks(root.children, depth=0).strip("\n")


def truncate_mrkdwn(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters ending with "…", closing an open code block.

    Never cuts inside a `<url|text>` link, an `&amp;` entity or a ``` fence; prefers a line or
    word boundary in the last fifth of the allowed length."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:max(limit, 0)]
    closing = f"\n{FENCE}\n"
    head = text[: _safe_cut(text, limit - len(ELLIPSIS))].rstrip()
    if head.count(FENCE) % 2:
        head = text[: _safe_cut(text, limit - len(ELLIPSIS) - len(closing))].rstrip()
        if head.count(FENCE) % 2:
            return head + closing + ELLIPSIS
    return head + ELLIPSIS


def _safe_cut(text: str, budget: int) -> int:
    if budget <= 0:
        return 0
    cut = budget
    boundary = max(text.rfind("\n", 0, cut + 1), text.rfind(" ", 0, cut + 1))
    if boundary >= cut * 4 // 5:
        cut = boundary
    opening, closing = text.rfind("<", 0, cut), text.rfind(">", 0, cut)
    if opening > closing:
        cut = opening
    ampersand = text.rfind("&", max(0, cut - 6), cut)
    if ampersand != -1 and ";" not in text[ampersand:cut]:
        cut = ampersand
    while 0 < cut < len(text) and text[cut - 1] == "`" and text[cut] == "`":
        cut -= 1
    return cut


@functools.cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _blocks(nodes: Iterable[SyntaxTreeNode], depth: int, separator: str = "\n\n") -> str:
    return separator.join(part for part in (_block(node, depth) for node in nodes) if part)


def _block(node: SyntaxTreeNode, depth: int) -> str:
    kind = node.type
    if kind == "heading":
        return f"*{escape(_plain(node))}*"
    if kind == "paragraph":
        return "".join(_span(child) for child in node.children[0].children) if node.children else ""
    if kind in ("bullet_list", "ordered_list"):
        return _list(node, depth)
    if kind in ("fence", "code_block"):
        return f"{FENCE}\n{escape(node.content.rstrip(chr(10)))}\n{FENCE}"
    if kind == "blockquote":
        inner = _blocks(node.children, depth)
        return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
    if kind == "hr":
        return "──────────"
    if kind == "table":
        return _table(node)
    if kind == "html_block":
        return escape(_HTML_TAG.sub("", node.content)).strip()
    return escape(node.content)


def _list(node: SyntaxTreeNode, depth: int) -> str:
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1)) if ordered else 1
    indent = _LIST_INDENT * depth
    lines: list[str] = []
    for number, item in enumerate(node.children, start):
        marker = f"{number}. " if ordered else "• "
        continuation = indent + " " * len(marker)
        first = True
        for child in item.children:
            if child.type in ("bullet_list", "ordered_list"):
                lines.append(_list(child, depth + 1))
                continue
            in_code = False
            for line in _block(child, depth + 1).split("\n"):
                if first:
                    lines.append(indent + marker + line)
                    first = False
                elif in_code or line.startswith(FENCE):
                    lines.append(line)  # code stays flush left: indentation would show inside it
                else:
                    lines.append(continuation + line if line else "")
                if line.startswith(FENCE):
                    in_code = not in_code
        if first:
            lines.append(indent + marker.rstrip())
    return "\n".join(lines)


def _table(node: SyntaxTreeNode) -> str:
    rows = [
        [_plain(cell) for cell in row.children]
        for section in node.children
        for row in section.children
    ]
    columns = max(len(row) for row in rows)
    rows = [row + [""] * (columns - len(row)) for row in rows]
    widths = [max(len(row[index]) for row in rows) for index in range(columns)]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    has_header = node.children and node.children[0].type == "thead"
    if has_header:
        lines.insert(1, "-+-".join("-" * width for width in widths))
    return f"{FENCE}\n{escape(chr(10).join(lines))}\n{FENCE}"


def _span(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind == "text":
        return escape(node.content)
    if kind == "softbreak":
        return " "
    if kind == "hardbreak":
        return "\n"
    if kind == "code_inline":
        return f"`{escape(node.content)}`"
    if kind in ("strong", "em", "s"):
        mark = {"strong": "*", "em": "_", "s": "~"}[kind]
        return mark + "".join(_span(child) for child in node.children) + mark
    if kind == "link":
        return _link(str(node.attrs.get("href", "")), _plain(node))
    if kind == "image":
        return _link(str(node.attrs.get("src", "")), _plain(node) or "image")
    if kind == "html_inline":
        return _inline_html(node.content)
    return escape(node.content)


def _inline_html(markup: str) -> str:
    """Real HTML tags are dropped (`<br>` breaks the line); anything else, like a placeholder
    `<pod-name>` written in prose, is shown as typed."""
    tag = _TAG_NAME.match(markup)
    if tag is None or tag.group(1).lower() not in _HTML_TAGS:
        return escape(markup)
    return "\n" if tag.group(1).lower() == "br" else ""


def _link(target: str, label: str) -> str:
    """<url|text> for web and mail links; other targets (files, anchors) keep only their text."""
    if not _WEB_LINK.match(target):
        return escape(label)
    url = target.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")
    if not label or label == target:
        return f"<{url}>"
    return f"<{url}|{escape(label)}>"


def _plain(node: SyntaxTreeNode) -> str:
    """The text of a node without formatting: for headings, link labels and table cells."""
    if node.type in ("text", "code_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return " "
    if node.type == "image" and not node.children:
        return node.content
    return "".join(_plain(child) for child in node.children)
