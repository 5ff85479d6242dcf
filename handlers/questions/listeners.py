"""Slack listeners for questions: DMs, @mentions, `/ask`, `/kb`, the answer's buttons and the ticket form.

Thin on purpose: parse, ack (commands and buttons ack first; Bolt acks events itself), one service
call, one builder, one reply. Where the answer goes:
- a DM is answered in the DM (in the thread when asked in one);
- an @mention is answered in the mention's thread, so the channel is not flooded;
- `/ask` is answered ephemerally: only the asker sees it, like a search, so nobody hesitates to
  ask something basic, and the feedback buttons can replace the answer in place.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from handlers.errors import InvalidInput, NotFound
from handlers.issues.command_parsing import parse_new_issue
from handlers.issues.ids import NewIssueField
from handlers.questions.article_modal import build_article_gone, build_article_modal, page_request
from handlers.questions.blocks import (
    build_gaps,
    build_kb_help,
    build_reloaded,
    build_reply,
    build_solved,
    build_ticket_modal,
    build_usage,
)
from handlers.questions.parsing import KbSubcommand, clean_question, parse_kb_command, wants_usage
from handlers.questions.service import QuestionService
from handlers.slack.listeners import describe_error
from handlers.slack.payloads import Click, parse_click, parse_command, parse_submission
from handlers.slack.submissions import ack_submission

log = logging.getLogger(__name__)

NOT_A_QUESTION = "This button does not belong to a question."
NO_TRIGGER = "Slack sent no form trigger with this click: please click again."


def clicked_question(click: Click) -> int:
    """The question a feedback button belongs to (its value is the kb_questions id)."""
    return click.number(NOT_A_QUESTION)


class QuestionListeners:
    def __init__(self, questions: QuestionService) -> None:
        self._questions = questions

    async def answer_direct_message(self, event: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        if event.get("user") == context.get("bot_user_id"):
            return
        question = clean_question(event.get("text") or "", context.get("bot_user_id"))
        await self._answer(client, event, question, thread_ts=event.get("thread_ts"), public=False)

    async def answer_mention(self, event: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        if not event.get("user") or event.get("user") == context.get("bot_user_id"):
            return
        question = clean_question(event.get("text") or "", context.get("bot_user_id"))
        await self._answer(client, event, question, thread_ts=event.get("thread_ts") or event.get("ts"), public=True)

    async def _answer(
        self, client: AsyncWebClient, event: dict[str, Any], question: str, *, thread_ts: str | None, public: bool
    ) -> None:
        """Events have no response_url: an error is told in the same place the answer would go."""
        channel, user = event["channel"], event["user"]
        try:
            if wants_usage(question):
                text, blocks = build_usage()
            else:
                text, blocks = build_reply(await self._questions.ask(question, user, channel), public=public)
        except Exception as error:  # noqa: BLE001 - the asker hears about it, the logs get the details
            message = describe_error(error, user)
            if public:
                await client.chat_postEphemeral(channel=channel, user=user, text=message, thread_ts=thread_ts)
            else:
                await client.chat_postMessage(channel=channel, text=message, thread_ts=thread_ts)
            return
        await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
        )

    async def ask(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        command = parse_command(body)
        question = clean_question(command.text)
        if wants_usage(question):
            text, blocks = build_usage()
            await ack(text=text, blocks=blocks)
            return
        await ack()
        answer = await self._questions.ask(question, command.user_id, command.channel_id or None)
        text, blocks = build_reply(answer)
        await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)

    async def kb(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        command = parse_command(body)
        kb = parse_kb_command(command.text)
        if kb.subcommand is KbSubcommand.HELP:
            text, blocks = build_kb_help(kb.problem)
            await ack(text=text, blocks=blocks)
            return
        await ack()
        if kb.subcommand is KbSubcommand.GAPS:
            text, blocks = build_gaps(await self._questions.gaps(command.user_id, kb.argument))
        else:
            text, blocks = build_reloaded(await self._questions.reload(command.user_id))
        await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)

    async def show_article(self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        """The button's value is an article id; one removed by a reload gets a sentence, not a blank modal."""
        await ack()
        click = parse_click(body)
        article = await self._questions.article(click.value)
        await client.views_open(trigger_id=click.require_trigger(NO_TRIGGER), view=build_article_modal(article))

    async def turn_article_page(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click = parse_click(body)
        request = page_request(click.metadata, click.value)
        try:
            if request is None:
                raise InvalidInput("This page button lost its article: open the article again.")
            article_id, page = request
            replacement = build_article_modal(await self._questions.article(article_id), page)
        except (InvalidInput, NotFound) as error:
            replacement = build_article_gone(str(error))
        await client.views_update(view_id=click.view_id, hash=click.view_hash, view=replacement)

    async def solved(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = parse_click(body)
        await self._questions.mark_solved(clicked_question(click), click.user_id)
        text, blocks = build_solved(click.message.get("blocks"))
        await respond(text=text, blocks=blocks, replace_original=True)

    async def open_ticket_form(self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        """“Didn't help” (or “Open a ticket”): the prefilled form opens within Slack's 3 seconds."""
        await ack()
        click = parse_click(body)
        draft = await self._questions.start_ticket(clicked_question(click), click.user_id)
        await client.views_open(trigger_id=click.require_trigger(NO_TRIGGER), view=build_ticket_modal(draft))

    async def submit_ticket(self, ack: Any, body: dict[str, Any]) -> None:
        """Saved before the ack: if saving fails the form stays open with the person's text in it."""
        submission = parse_submission(body)
        parsed = parse_new_issue(submission.values)
        question_id = submission.metadata.integer("question")
        if isinstance(parsed, dict):
            errors = parsed
        elif question_id is None:
            message = "This form lost its question: use `/issue new` to report the problem."
            errors = {NewIssueField.TITLE.value: message}
        else:
            errors = {}
            try:
                await self._questions.open_ticket(question_id, parsed, submission.user_id)
            except Exception as error:  # noqa: BLE001 - shown in the form, logged with an id
                errors = {NewIssueField.TITLE.value: describe_error(error, submission.user_id)}
        await ack_submission(ack, errors)


async def is_direct_message(event: dict[str, Any]) -> bool:
    """Bolt matcher: a person's message in a DM with the bot (threads included)."""
    return event.get("channel_type") == "im" and bool(event.get("user")) and not event.get("bot_id")

