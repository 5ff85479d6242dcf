"""The whole article in a modal, in pages: Slack allows 100 blocks a modal, 3,000 characters a
section and 250 kB a view, and a runbook can be longer than that.

Pure builders. The article id travels in the view's private_metadata, the page number in the
Previous/Next buttons, so paging needs no state on our side.
"""

from __future__ import annotations

import re
from typing import Any

from handlers.slack.blockkit import (
    HEADER_TEXT_LIMIT,
    MODAL_BLOCK_LIMIT,
    SECTION_TEXT_LIMIT,
    actions,
    button,
    context,
    escape,
    link,
    mrkdwn_section,
    truncate,
)
from handlers.questions.ids import QuestionAction, QuestionBlock, QuestionView
from handlers.slack.metadata import MetadataTooLong, ModalMetadata, encode_metadata
from knowledge_base import Article
from knowledge_base.mrkdwn import FENCE, markdown_to_mrkdwn

PAGE_BLOCKS = MODAL_BLOCK_LIMIT - 4  # room for the header, the context line and the page buttons
PAGE_CHARACTERS = 24_000  # keeps a page readable and the view far below Slack's 250 kB
_ATOM = re.compile(r"<[^<>\n]*>|\S+|\s+")


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _fit(line: str, budget: int) -> list[str]:
    """An over-long line in pieces of at most `budget`, cut between words and never inside a <link>."""
    if len(line) <= budget:
        return [line]
    pieces, current = [], ""
    for atom in _ATOM.findall(line):
        while len(atom) > budget:  # one word longer than a whole section: cut it hard
            if current:
                pieces.append(current)
                current = ""
            pieces.append(atom[:budget])
            atom = atom[budget:]
        if len(current) + len(atom) > budget:
            pieces.append(current)
            current = atom.lstrip()
        else:
            current += atom
    if current.strip():
        pieces.append(current)
    return pieces


def split_mrkdwn(text: str, limit: int = SECTION_TEXT_LIMIT) -> list[str]:
    """Split at line ends into pieces of at most `limit` characters; a code block cut in two is
    closed at the end of one piece and reopened at the start of the next."""
    closing = "\n" + FENCE
    budget = limit - len(closing)
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    in_code = False
    for line in text.split("\n"):
        for part in _fit(line, budget - len(FENCE) - 1):
            extra = len(part) + (1 if current else 0)
            if current and size + extra > budget:
                pieces.append("\n".join(current) + (closing if in_code else ""))
                current, size = ([FENCE], len(FENCE)) if in_code else ([], 0)
                extra = len(part) + (1 if current else 0)
            current.append(part)
            size += extra
            if part.strip() == FENCE:
                in_code = not in_code
    if current:
        pieces.append("\n".join(current))
    return [piece for piece in pieces if piece.strip() and piece.strip() != FENCE]


def article_chunks(article: Article) -> list[str]:
    """The article as section texts, each within Slack's 3,000 characters, headings in bold."""
    chunks: list[str] = []
    for section in article.sections:
        title = f"*{escape(section.display_heading)}*\n" if section.heading else ""
        body = markdown_to_mrkdwn(section.text)
        chunks += split_mrkdwn(f"{title}{body}".strip()) if (title or body) else []
    if not article.sections:
        chunks = split_mrkdwn(markdown_to_mrkdwn(article.markdown))
    return chunks or ["_This article has no text yet._"]


def paginate(chunks: list[str]) -> list[list[str]]:
    pages: list[list[str]] = [[]]
    size = 0
    for chunk in chunks:
        if pages[-1] and (len(pages[-1]) >= PAGE_BLOCKS or size + len(chunk) > PAGE_CHARACTERS):
            pages.append([])
            size = 0
        pages[-1].append(chunk)
        size += len(chunk)
    return pages


def _about(article: Article, page: int, pages: int) -> str:
    parts = [escape(article.category), f"`{escape(article.relative_path)}`"]
    if article.runbook:
        parts.append(f"runbook `{escape(article.runbook)}`")
    if article.url:
        parts.append(link(article.url, "source"))
    if pages > 1:
        parts.append(f"page {page + 1} of {pages}")
    return " · ".join(parts)


def build_article_modal(article: Article, page: int = 0) -> dict[str, Any]:
    pages = paginate(article_chunks(article))
    page = min(max(page, 0), len(pages) - 1)
    try:
        metadata = encode_metadata(article=article.article_id)
    except MetadataTooLong:  # an id this long cannot travel with the modal: one page, and where the rest is
        metadata = ""
    pageable = bool(metadata)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(truncate(article.title, HEADER_TEXT_LIMIT))},
        context(_about(article, page, len(pages))),
    ]
    blocks += [mrkdwn_section(chunk) for chunk in pages[page]]
    if len(pages) > 1 and pageable:
        nav = []
        if page > 0:
            nav.append(button("← Previous page", QuestionAction.ARTICLE_PREVIOUS, str(page - 1)))
        if page < len(pages) - 1:
            nav.append(button("Next page →", QuestionAction.ARTICLE_NEXT, str(page + 1), style="primary"))
        blocks.append(actions(QuestionBlock.ARTICLE_NAV, nav))
    elif len(pages) > 1:
        blocks.append(context(f"The rest is in `{escape(truncate(article.relative_path, 200))}`."))
    return {
        "type": "modal",
        "callback_id": QuestionView.ARTICLE.value,
        "title": _plain("Knowledge base"),
        "close": _plain("Close"),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def page_request(metadata: ModalMetadata, value: str) -> tuple[str, int] | None:
    """(article id, page) from a page button inside the article modal; None if it is not ours."""
    article_id = metadata.string("article")
    try:
        return (article_id, int(value)) if article_id is not None else None
    except ValueError:
        return None


def build_article_gone(message: str) -> dict[str, Any]:
    """Shown in place of the modal when a page button points at an article removed since."""
    return {
        "type": "modal",
        "callback_id": QuestionView.ARTICLE.value,
        "title": _plain("Knowledge base"),
        "close": _plain("Close"),
        "blocks": [mrkdwn_section(escape(message))],
    }
