"""Slack listeners for feeding the knowledge base: "Write it up", its modal, `/kb drafts`, `/kb gaps`,
Publish and Discard.

Thin on purpose: parse, ack, one service call, one builder, one reply. The write-up is saved before
the modal's ack, so a failure shows in the form with the person's text still in it; the reload that
makes it searchable runs after the ack. `/kb` belongs to handlers/questions; this feature hears only
its `drafts` and `gaps` words (registered first, with a matcher), and `gaps` answers with both kinds
of gap: recurring issues without an article, then the questions nobody could answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from slack_sdk.web.async_client import AsyncWebClient

from handlers.issues.buttons import clicked_issue, issue_modal_metadata, modal_issue
from handlers.knowledge.articles import TEXT_LIMIT, TITLE_LIMIT, WriteUp, clean_line, parse_alert_names
from handlers.knowledge.blocks import build_drafts, build_handled, build_issue_gaps, build_saved, build_write_up_modal
from handlers.knowledge.gaps import IssueGaps
from handlers.knowledge.ids import WriteUpModal
from handlers.knowledge.service import KnowledgeFeed
from handlers.questions.blocks import build_gaps
from handlers.questions.service import QuestionService
from handlers.slack.blockkit import FALLBACK_TEXT_LIMIT, cap_blocks, divider, truncate
from handlers.slack.listeners import describe_error
from handlers.slack.payloads import FormValues, parse_click, parse_command, parse_submission
from handlers.slack.submissions import ack_submission, tell_submitter
from knowledge_base.models import CATEGORIES
from storage.models import utcnow

DRAFTS_WORDS = frozenset({"drafts", "draft"})
GAPS_WORDS = frozenset({"gaps", "gap", "unanswered"})  # the words handlers/questions takes for gaps
NO_TRIGGER = "Slack sent no form trigger with this click: please click Write it up again."
MAX_ALERTS = 10


def kb_subcommand(text: str) -> str:
    return (text or "").strip().partition(" ")[0].lower()


async def is_feed_command(command: dict[str, Any]) -> bool:
    """Bolt matcher: `/kb drafts` and `/kb gaps …` are ours; the rest of `/kb` stays with questions."""
    word = kb_subcommand(str(command.get("text") or ""))
    return word in DRAFTS_WORDS or word in GAPS_WORDS


@dataclass(frozen=True)
class WriteUpAnswers:
    issue_id: int | None
    write_up: WriteUp
    alerts_text: str

    @classmethod
    def read(cls, values: FormValues, issue_id: int | None) -> WriteUpAnswers:
        write_up = WriteUp(
            title=clean_line(values.text(WriteUpModal.TITLE), TITLE_LIMIT + 1),
            category=values.selected(WriteUpModal.CATEGORY),
            alerts=parse_alert_names(values.text(WriteUpModal.ALERTS)),
            symptoms=values.text(WriteUpModal.SYMPTOMS),
            root_cause=values.text(WriteUpModal.ROOT_CAUSE),
            fix=values.text(WriteUpModal.FIX),
            steps=values.text(WriteUpModal.STEPS),
        )
        return cls(issue_id, write_up, values.text(WriteUpModal.ALERTS))

    def problems(self) -> dict[str, str]:
        """What to show beside the inputs (Slack's `response_action: errors`); empty when it can be saved."""
        write_up, errors = self.write_up, {}
        if not write_up.title:
            errors[WriteUpModal.TITLE] = "Give the article a title people would search for."
        elif len(write_up.title) > TITLE_LIMIT:
            errors[WriteUpModal.TITLE] = f"Keep the title under {TITLE_LIMIT} characters."
        if write_up.category not in CATEGORIES:
            errors[WriteUpModal.CATEGORY] = "Choose one of the categories."
        if len(write_up.alerts) > MAX_ALERTS:
            errors[WriteUpModal.ALERTS] = f"Name at most {MAX_ALERTS} alerts."
        if not write_up.fix:
            errors[WriteUpModal.FIX] = "Say what fixed it: it is what the next person needs."
        for block_id, text in (
            (WriteUpModal.SYMPTOMS, write_up.symptoms), (WriteUpModal.ROOT_CAUSE, write_up.root_cause),
            (WriteUpModal.FIX, write_up.fix), (WriteUpModal.STEPS, write_up.steps),
        ):
            if len(text) > TEXT_LIMIT:
                errors[block_id] = f"Keep it under {TEXT_LIMIT:,} characters."
        if self.issue_id is None:
            errors.setdefault(WriteUpModal.TITLE, "This form lost its issue: open it again from the issue.")
        return errors


class KnowledgeListeners:
    def __init__(
        self, feed: KnowledgeFeed, gaps: IssueGaps, questions: QuestionService, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._feed = feed
        self._gaps = gaps
        self._questions = questions
        self._clock = clock

    async def open_write_up(self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        """"Write it up" on an issue message or a `/kb gaps` line: the prefilled modal, or why not."""
        await ack()
        click = parse_click(body)
        issue_id = clicked_issue(click)
        form = await self._feed.start_write_up(issue_id, click.user_id)
        view = build_write_up_modal(form, issue_modal_metadata(issue_id, click))
        await client.views_open(trigger_id=click.require_trigger(NO_TRIGGER), view=view)

    async def submit_write_up(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        submission = parse_submission(body)
        answers = WriteUpAnswers.read(submission.values, modal_issue(submission.metadata))
        errors = answers.problems()
        saved = None
        if not errors and answers.issue_id is not None:
            try:
                saved = await self._feed.save_write_up(answers.issue_id, answers.write_up, submission.user_id)
            except Exception as error:  # noqa: BLE001 - shown in the form, logged with an id
                errors = {WriteUpModal.TITLE.value: describe_error(error, submission.user_id)}
        if not await ack_submission(ack, errors) or saved is None:
            return
        await self._feed.announce_write_up(saved)
        await tell_submitter(client, submission.user_id, build_saved(saved), submission.metadata.channel_id)

    async def kb(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        command = parse_command(body)
        await ack()
        word, _, rest = command.text.strip().partition(" ")
        if word.lower() in DRAFTS_WORDS:
            text, blocks = build_drafts(await self._feed.drafts(command.user_id), self._clock())
        else:
            text, blocks = await self._both_gaps(command.user_id, rest.strip() or None)
        await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)

    async def _both_gaps(self, user: str, period: str | None) -> tuple[str, list[dict[str, Any]]]:
        """Questions first checks the role (its refusal is the one people know), then both are built."""
        questions = await self._questions.gaps(user, period)
        issues = await self._gaps.report(user, period)
        issue_text, issue_blocks = build_issue_gaps(issues)
        question_text, question_blocks = build_gaps(questions)
        text = truncate(f"{issue_text}\n{question_text}", FALLBACK_TEXT_LIMIT)
        return text, cap_blocks([*issue_blocks, divider(), *question_blocks])

    async def publish(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = parse_click(body)
        handled = await self._feed.publish(click.value, click.user_id)
        await self._show_list(click.user_id, build_handled(handled), respond)

    async def discard(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = parse_click(body)
        handled = await self._feed.discard(click.value, click.user_id)
        await self._show_list(click.user_id, build_handled(handled), respond)

    async def _show_list(self, user: str, note: str, respond: Any) -> None:
        """The list the button was in, redrawn with what just happened on top."""
        text, blocks = build_drafts(await self._feed.drafts(user), self._clock(), note=note)
        await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)
