"""Block Kit for answers from the knowledge base: the answer, the honest "not sure", the ticket
form, usage texts and the `/kb gaps` list.

Pure functions from the service's results to dicts, within Slack's limits (3,000 characters a
section, 50 blocks a message, 2,000 a button value); unit-tested on their output. Article text is
Markdown rendered with knowledge_base.mrkdwn; titles and questions are escaped.
"""

from __future__ import annotations

from typing import Any, Sequence

from core.vocabulary import Priority
from handlers.slack.blockkit import (
    pack_lines,
    BUTTON_VALUE_LIMIT,
    FALLBACK_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    actions,
    button,
    cap_blocks,
    context,
    escape,
    link,
    mrkdwn_section,
    slack_date,
    truncate,
)
from handlers.issues.command_blocks import build_new_issue_modal
from handlers.issues.ids import NewIssueField
from handlers.issues.log import DESCRIPTION_LIMIT, TITLE_LIMIT
from handlers.questions.ids import QuestionAction, QuestionBlock, QuestionView
from handlers.questions.service import Answer, GapGroup, GapReport, Reloaded, TicketDraft
from handlers.slack.metadata import encode_metadata
from knowledge_base import SearchResult
from knowledge_base.mrkdwn import markdown_to_mrkdwn, truncate_mrkdwn
from storage.models import QuestionOutcome

MAX_ALTERNATIVES = 2
MAX_RELATED = 3
GAP_GROUPS_SHOWN = 25
TICKET_TITLE_LIMIT = 150
EMPTY_SECTION = "_This part has no text of its own: open the full article._"
NOT_SURE = "I'm not sure I have an answer for that."
MATCHES_LIMIT = 300  # one line of context under the title, not a second answer
DRAFT_MARK = "Draft — not yet reviewed"

USAGE = (
    "*Ask me how to fix things* — I answer from the team's knowledge base.\n"
    "• In a direct message: just write your question.\n"
    "• In a channel: mention me, e.g. `@opsbot the site is really slow` — I answer in a thread.\n"
    "• Anywhere: `/ask your question` — only you see the answer.\n"
    "Examples: `/ask I can't log in` · `/ask disk is full on the db server` · `/ask HighErrorRate`\n"
    "If the answer doesn't help, one click opens a ticket for the team."
)
KB_USAGE = (
    "*`/kb` — the knowledge base*\n"
    "• `/kb gaps [today|week|month|last month|YYYY-MM-DD..YYYY-MM-DD]` — recurring issues without an article"
    " (default: the last 30 days) and questions it could not answer (default: this month), for managers\n"
    "• `/kb drafts` — write-ups waiting for review; managers publish or discard them\n"
    "• `/kb reload` — re-read the articles now (managers and admins; edits are also picked up on their own)\n"
    "• `/ask your question` — ask it something"
)
_OUTCOME_WORDS = {
    QuestionOutcome.NO_ANSWER: "no answer",
    QuestionOutcome.NOT_HELPFUL: "didn't help",
    QuestionOutcome.TICKET: "ticket",
}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def heading(result: SearchResult) -> str:
    """“Title › Section” as plain text, for fallback texts."""
    return f"{result.title} › {result.section}" if result.section else result.title


def _title_line(result: SearchResult) -> str:
    title = link(result.url, result.title) if result.url else escape(result.title)
    section = f" › {escape(result.section)}" if result.section else ""
    draft = f" · _📝 {DRAFT_MARK}_" if result.draft else ""  # a write-up no manager has published yet
    return f"*{title}*{section}{draft}"


def _show_button(article_id: str, label: str) -> dict[str, Any] | None:
    """None when the id cannot travel in a button value (a path over 2,000 characters)."""
    if len(article_id) > BUTTON_VALUE_LIMIT:
        return None
    return button(label, QuestionAction.SHOW_ARTICLE, article_id)


def section_mrkdwn(markdown: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    """An article section as mrkdwn that fits one section block; code blocks are never left open."""
    return truncate_mrkdwn(markdown_to_mrkdwn(markdown), limit) or EMPTY_SECTION


def _about(result: SearchResult) -> str:
    parts = ["📚 From the knowledge base", escape(result.category)]
    if result.runbook:
        parts.append(f"runbook `{escape(result.runbook)}`")
    if result.url:
        parts.append(link(result.url, "source"))
    return " · ".join(parts)


def _asker_note(answer: Answer) -> dict[str, Any]:
    return context(f"Asked by <@{answer.asked_by}>; the buttons are theirs.")


def matches_line(result: SearchResult) -> str | None:
    """“Matches: <symptom>”: the line the question matched, so the asker sees why this article."""
    if not result.matched_text:
        return None
    return "🔎 Matches: " + truncate_mrkdwn(markdown_to_mrkdwn(result.matched_text), MATCHES_LIMIT)


def build_answer(answer: Answer, *, public: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """What to do (the article's actionable section), the symptom it matched as one line of
    context, a button to the full article, up to two other articles, and the feedback buttons.

    `public` answers (a thread in a channel) say whose buttons these are."""
    best = answer.results[0]
    matched = matches_line(best)
    blocks: list[dict[str, Any]] = [
        mrkdwn_section(f"📖 {_title_line(best)}", accessory=_show_button(best.article_id, "Show full article")),
        *([context(matched)] if matched else []),
        mrkdwn_section(section_mrkdwn(best.text)),
        context(_about(best)),
    ]
    alternatives = list(answer.results[1 : 1 + MAX_ALTERNATIVES])
    if alternatives:
        blocks.append(context("Might also help:"))
        blocks += [mrkdwn_section(f"• {_title_line(alt)}", accessory=_show_button(alt.article_id, "Show"))
                   for alt in alternatives]  # fmt: skip
    if public:
        blocks.append(_asker_note(answer))
    value = str(answer.question_id)
    blocks.append(
        actions(
            QuestionBlock.FEEDBACK,
            [
                button("✅ This solved it", QuestionAction.SOLVED, value, style="primary"),
                button("Didn't help — open a ticket", QuestionAction.TICKET, value),
            ],
        )
    )
    return f"📖 {escape(truncate(heading(best), 500))}", cap_blocks(blocks)


def build_no_answer(answer: Answer, *, public: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """Say plainly that nothing fits; show the closest articles (up to three, each with a button)
    only as "might be related", and offer a ticket."""
    blocks: list[dict[str, Any]] = [
        mrkdwn_section(f"🤔 *{NOT_SURE}*\nNothing in the knowledge base matches it well enough to be sure.")
    ]
    related = list(answer.results[:MAX_RELATED])
    if related:
        blocks.append(context("These might be related:"))
        blocks += [mrkdwn_section(f"• {_title_line(result)}", accessory=_show_button(result.article_id, "Show"))
                   for result in related]  # fmt: skip
    blocks.append(
        context(
            "Tip: use the words you see — the error message, the page or the system's name. "
            "Or open a ticket (as with `/issue new`) and a person will look into it."
        )
    )
    if public:
        blocks.append(_asker_note(answer))
    value = str(answer.question_id)
    buttons = [button("🎫 Open a ticket", QuestionAction.TICKET, value, style="primary")]
    if related:
        buttons.append(button("✅ One of these solved it", QuestionAction.SOLVED, value))
    blocks.append(actions(QuestionBlock.FEEDBACK, buttons))
    return NOT_SURE, cap_blocks(blocks)


def build_reply(answer: Answer, *, public: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """The answer when the knowledge base is confident, the honest "not sure" otherwise."""
    if answer.confident and answer.results:
        return build_answer(answer, public=public)
    return build_no_answer(answer, public=public)


def build_usage(problem: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    text = f"{problem}\n\n{USAGE}" if problem else USAGE
    return truncate(text, SECTION_TEXT_LIMIT), [mrkdwn_section(text)]


def build_kb_help(problem: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    text = f"{problem}\n\n{KB_USAGE}" if problem else KB_USAGE
    return truncate(text, SECTION_TEXT_LIMIT), [mrkdwn_section(text)]


def build_solved(original_blocks: Sequence[dict[str, Any]] | None) -> tuple[str, list[dict[str, Any]]]:
    """The answer as it was, its feedback buttons replaced by thanks (or the thanks alone when
    Slack did not send the message back, as for ephemeral answers)."""
    thanks = "✅ Marked as solved — thanks for telling me. It shows the team which articles work."
    if not original_blocks:
        return thanks, [mrkdwn_section(thanks)]
    kept = [block for block in original_blocks if block.get("block_id") != QuestionBlock.FEEDBACK]
    return thanks, cap_blocks([*kept, context(thanks)])


def ticket_title(question: str) -> str:
    first_line = question.strip().splitlines()[0] if question.strip() else "Question for the team"
    return truncate(first_line, min(TICKET_TITLE_LIMIT, TITLE_LIMIT))


def ticket_description(draft: TicketDraft) -> str:
    lines = [f"Asked opsbot: “{draft.question}”"]
    if draft.suggested and draft.answered:
        lines.append(f"Suggested from the knowledge base: {draft.suggested} — it did not help.")
    elif draft.suggested:
        lines.append(f"The knowledge base had no good answer (closest match: {draft.suggested}).")
    else:
        lines.append("The knowledge base had no answer.")
    return truncate("\n".join(lines), DESCRIPTION_LIMIT)


def build_ticket_modal(draft: TicketDraft) -> dict[str, Any]:
    """The `/issue new` form, prefilled: same inputs, so the same parser reads it."""
    form = build_new_issue_modal()
    wanted_option = {NewIssueField.PRIORITY.value: Priority.MEDIUM.value, NewIssueField.CATEGORY.value: draft.category}
    blocks: list[dict[str, Any]] = [
        context("Your question and what I suggested are filled in. Add what you tried and since when.")
    ]
    for block in form["blocks"]:
        element = dict(block["element"])
        block_id = block.get("block_id")
        if block_id == NewIssueField.TITLE:
            element["initial_value"] = ticket_title(draft.question)
        elif block_id == NewIssueField.DESCRIPTION:
            element["initial_value"] = ticket_description(draft)
        elif block_id in wanted_option:
            option = next((o for o in element.get("options", []) if o["value"] == wanted_option[block_id]), None)
            element.pop("initial_option", None)
            if option is not None:
                element["initial_option"] = option
        blocks.append({**block, "element": element})
    return {
        **form,
        "callback_id": QuestionView.TICKET.value,
        "title": _plain("Open a ticket"),
        "submit": _plain("Open ticket"),
        "private_metadata": encode_metadata(question=draft.question_id),
        "blocks": blocks,
    }


def build_ticket_opened(issue_id: int) -> str:
    return f"🎫 Issue #{issue_id} is open; the team will pick it up."


def _gap_line(group: GapGroup) -> str:
    outcomes = ", ".join(
        f"{count} {_OUTCOME_WORDS.get(QuestionOutcome(outcome), outcome)}"
        for outcome, count in sorted(group.outcomes.items())
    )
    issues = f" ({', '.join(f'#{n}' for n in group.issue_ids)})" if group.issue_ids else ""
    question = escape(truncate(group.question, 200))
    return f"• *{group.count}×* “{question}” — last {slack_date(group.last_asked)} · {outcomes}{issues}"


def build_gaps(report: GapReport) -> tuple[str, list[dict[str, Any]]]:
    """`/kb gaps`: what people asked that found no good answer — the raw material for new articles."""
    label = escape(report.period.label)
    if not report.groups:
        text = f"🎉 Every question asked in {label} found a good answer (or nobody asked)."
        return text, [mrkdwn_section(text)]
    title = (
        f"{report.total}{'+' if report.capped else ''} question(s) without a good answer in {label}: "
        f"{len(report.groups)} different, newest first"
    )
    blocks: list[dict[str, Any]] = [mrkdwn_section(f"*{title}*")]
    shown = report.groups[:GAP_GROUPS_SHOWN]
    blocks += [mrkdwn_section(chunk) for chunk in pack_lines([_gap_line(group) for group in shown])]
    footer = "Write or extend an article for these (tags with the askers' words help); `/kb reload` picks it up."
    if len(report.groups) > len(shown):
        footer = f"…and {len(report.groups) - len(shown)} more. {footer}"
    blocks.append(context(footer))
    return truncate(title, FALLBACK_TEXT_LIMIT), cap_blocks(blocks)


def build_reloaded(result: Reloaded) -> tuple[str, list[dict[str, Any]]]:
    text = f"🔄 Knowledge base reloaded: {result.articles} article(s)."
    blocks = [mrkdwn_section(text)]
    if result.problems:
        listed = "\n".join(f"• {escape(truncate(problem, 300))}" for problem in result.problems[:15])
        more = f"\n…and {len(result.problems) - 15} more." if len(result.problems) > 15 else ""
        blocks.append(mrkdwn_section(f"*{len(result.problems)} problem(s) found:*\n{listed}{more}"))
    return text, blocks
