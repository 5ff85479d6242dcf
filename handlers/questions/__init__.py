"""Answers from the knowledge base in Slack: DMs, @mentions and `/ask`; feedback, tickets and `/kb` gaps."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.slack.listeners import reporting_errors
from handlers.questions.ids import QuestionAction, QuestionView
from handlers.questions.listeners import QuestionListeners, is_direct_message
from handlers.questions.service import QuestionService

ASK_COMMAND = "/ask"
KB_COMMAND = "/kb"


def register(slack_app: AsyncApp, questions: QuestionService) -> None:
    """Register before any other `message` listener: Bolt runs only the first listener that matches.

    Every message a person sends the bot in a DM (in a thread or not) is a question; thread replies
    in channels do not match here and stay with the issue log (handlers/issues)."""
    listeners = QuestionListeners(questions)
    slack_app.event({"type": "message", "subtype": None}, matchers=[is_direct_message])(
        reporting_errors(listeners.answer_direct_message)
    )
    slack_app.event("app_mention")(reporting_errors(listeners.answer_mention))
    slack_app.command(ASK_COMMAND)(reporting_errors(listeners.ask))
    slack_app.command(KB_COMMAND)(reporting_errors(listeners.kb))
    slack_app.action(QuestionAction.SHOW_ARTICLE.value)(reporting_errors(listeners.show_article))
    # Slack refuses two buttons with one action_id in a block, so Previous and Next have their own;
    # the shared id they once had is still heard, for modals opened before the change.
    for page_action in (QuestionAction.ARTICLE_PREVIOUS, QuestionAction.ARTICLE_NEXT, QuestionAction.ARTICLE_PAGE):
        slack_app.action(page_action.value)(reporting_errors(listeners.turn_article_page))
    slack_app.action(QuestionAction.SOLVED.value)(reporting_errors(listeners.solved))
    slack_app.action(QuestionAction.TICKET.value)(reporting_errors(listeners.open_ticket_form))
    slack_app.view(QuestionView.TICKET.value)(reporting_errors(listeners.submit_ticket))
