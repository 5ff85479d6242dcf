"""Stable ids of the questions feature's Slack surfaces. Messages and modals already sent outlive
refactors: never rename a value."""

from __future__ import annotations

from enum import StrEnum


class QuestionAction(StrEnum):
    SHOW_ARTICLE = "kb.show_article"  # value: the article id; opens the whole article in a modal
    ARTICLE_PAGE = "kb.article_page"  # legacy: both page buttons once shared it (Slack refuses that); still heard
    ARTICLE_PREVIOUS = "kb.article_page.previous"  # inside the article modal; value: the page number to show
    ARTICLE_NEXT = "kb.article_page.next"  # inside the article modal; value: the page number to show
    SOLVED = "kb.solved"  # "This solved it"; value: the kb_questions id
    TICKET = "kb.ticket"  # "Didn't help — open a ticket" / "Open a ticket"; value: the kb_questions id


class QuestionView(StrEnum):
    TICKET = "kb.ticket_form"  # callback_id of the prefilled issue form
    ARTICLE = "kb.article"  # callback_id of the article modal (nothing to submit)


class QuestionBlock(StrEnum):
    FEEDBACK = "kb.feedback"  # the actions block with the two feedback buttons
    ARTICLE_NAV = "kb.article_nav"  # previous/next page in the article modal
