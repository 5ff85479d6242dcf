"""Asking the knowledge base in Slack: DMs, @mentions and /ask, through signed requests, both databases."""

from __future__ import annotations

import pytest

from tests.harness import RunningBot
from tests.integration.questions_support import (
    ALICE,
    BOB,
    CHANNEL,
    button,
    click,
    command,
    dm,
    elements,
    human_says,
    posts_to,
    questions,
    replies,
    send_event,
    shown,
)

COMMON_QUESTIONS = [
    ("the site is really slow since this morning", "Slow responses and pages that take long to load"),
    ("I can't log in", "Login problems (users cannot sign in)"),
    ("disk is full on the db server", "Disk space running out"),
]


@pytest.fixture(autouse=True)
async def loaded(bot: RunningBot) -> None:
    await bot.opsbot.knowledge.get()


async def test_dm_questions_are_acked_first_then_get_the_right_article(bot: RunningBot) -> None:
    for n, (question, title) in enumerate(COMMON_QUESTIONS, 1):
        async with bot.standin.hold("chat.postMessage") as answering:
            event = await dm(bot, question)  # Slack has its 200 ...
            await answering.wait_for_waiting(1)  # ... while the answer is still held on its way
        [*_, answer] = await posts_to(bot, event["channel"], count=n)
        blocks = answer.args["blocks"]
        assert answer.args["text"].startswith(f"📖 {title}")
        assert f"*{title}*" in blocks[0]["text"]["text"] and "thread_ts" not in answer.args
        assert [e["action_id"] for e in elements(blocks)][-2:] == ["kb.solved", "kb.ticket"]
        assert button(blocks, "kb.show_article")["value"] in {"slow-responses", "login-problems", "disk-space"}
    rows = await questions(bot)
    assert [(r.question, r.asked_by, r.outcome, r.confident) for r in rows] == [
        (q, ALICE, "answered", True) for q, _ in COMMON_QUESTIONS
    ]
    assert [r.article_path for r in rows] == ["slow-responses", "login-problems", "disk-space"]
    assert all(r.channel and r.channel.startswith("D") and r.score for r in rows)


async def test_off_topic_gets_the_honest_no_answer_with_a_ticket_button(bot: RunningBot) -> None:
    event = await dm(bot, "what's for lunch in the canteen today?")
    [answer] = await posts_to(bot, event["channel"])
    assert answer.args["text"] == "I'm not sure I have an answer for that."
    assert "📖" not in shown(answer.args["blocks"])
    assert button(answer.args["blocks"], "kb.ticket")["text"]["text"] == "🎫 Open a ticket"
    [row] = await questions(bot)
    assert (row.outcome, row.confident) == ("no_answer", False)


async def test_empty_dm_help_and_the_bots_own_messages(bot: RunningBot) -> None:
    event = await dm(bot, "help")
    [usage] = await posts_to(bot, event["channel"])
    assert "/ask" in usage.args["text"]
    # The bot's own message in the DM, and an edit, are not questions.
    own = {**human_says(bot, ALICE, "U0BOT", "📖 an answer"), "bot_id": "B0BOT"}
    edited = {**human_says(bot, ALICE, ALICE, "edited"), "subtype": "message_changed"}
    for body in (own, edited):
        await send_event(bot, body)
    await dm(bot, "I can't log in")
    await posts_to(bot, event["channel"], count=2)
    assert len(bot.standin.calls_to("chat.postMessage")) == 2
    assert [r.question for r in await questions(bot)] == ["I can't log in"]


async def test_a_mention_is_answered_in_its_thread_without_the_mention(bot: RunningBot) -> None:
    mention = human_says(bot, CHANNEL, BOB, "<@U0BOT> the disk is full on the db server", kind="app_mention")
    await send_event(bot, mention)
    [answer] = await posts_to(bot, CHANNEL)
    assert answer.args["thread_ts"] == mention["ts"]
    assert answer.args["text"].startswith("📖 Disk space running out")
    assert "Asked by <@U0BOB>" in shown(answer.args["blocks"])
    [row] = await questions(bot)
    assert (row.question, row.asked_by, row.channel) == ("the disk is full on the db server", BOB, CHANNEL)

    # A mention inside a thread is answered in that thread.
    again = human_says(bot, CHANNEL, ALICE, "<@U0BOT> and I can't log in", kind="app_mention", thread_ts=mention["ts"])
    await send_event(bot, again)
    [_, second] = await posts_to(bot, CHANNEL, count=2)
    assert second.args["thread_ts"] == mention["ts"]


async def test_ask_answers_ephemerally_and_empty_ask_shows_usage(bot: RunningBot) -> None:
    usage = await command(bot, "/ask", "   ")
    assert "/ask" in usage and "direct message" in usage

    async with bot.standin.hold("response_url") as answering:
        assert await command(bot, "/ask", "the site is really slow since this morning", reply="ask") == ""
        await answering.wait_for_waiting(1)  # acked while the answer is still held
    [reply] = await replies(bot, "ask")
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert reply["text"].startswith("📖 Slow responses")
    [row] = await questions(bot)
    assert (row.channel, row.outcome) == (CHANNEL, "answered")


async def test_this_solved_it_is_stored_and_the_answer_thanks(bot: RunningBot) -> None:
    event = await dm(bot, "I can't log in")
    [answer] = await posts_to(bot, event["channel"])
    bot.clock.advance(minutes=3)
    message = {"type": "message", "ts": "1.2", "blocks": answer.args["blocks"], "text": answer.args["text"]}
    async with bot.standin.hold("response_url") as thanking:
        await click(bot, button(answer.args["blocks"], "kb.solved"), message=message, reply="solved")
        await thanking.wait_for_waiting(1)  # acked while the thanks is still held
    [updated] = await replies(bot, "solved")
    assert updated["replace_original"] is True
    assert "kb.solved" not in shown(updated["blocks"]) and "Marked as solved" in shown(updated["blocks"])
    assert updated["blocks"][0] == answer.args["blocks"][0]
    [row] = await questions(bot)
    assert row.outcome == "solved" and row.feedback_at is not None and row.feedback_at > row.asked_at

    # Someone else's click is refused, and the answer stays solved.
    await click(bot, button(answer.args["blocks"], "kb.ticket"), user=BOB, reply="bob")
    [refusal] = await replies(bot, "bob")
    assert refusal["response_type"] == "ephemeral" and "Only <@U0ALICE>" in refusal["text"]
    assert (await questions(bot))[0].outcome == "solved"
    assert not bot.standin.calls_to("views.open")


async def test_ephemeral_answers_are_thanked_in_place(bot: RunningBot) -> None:
    await command(bot, "/ask", "disk is full on the db server", reply="ask")
    [reply] = await replies(bot, "ask")
    await click(bot, button(reply["blocks"], "kb.solved"), reply="solved")  # ephemeral: Slack sends no message
    [updated] = await replies(bot, "solved")
    assert updated["replace_original"] is True and "Marked as solved" in updated["text"]


async def test_dm_thread_replies_are_questions_and_issue_threads_stay_comments(bot: RunningBot) -> None:
    """Both features listen to `message` events: a DM thread is a question, a channel thread a comment."""
    first = await dm(bot, "I can't log in")
    [answer] = await posts_to(bot, first["channel"])
    follow_up = await dm(bot, "and the disk is full", thread_ts=answer.response["ts"])
    [_, threaded] = await posts_to(bot, first["channel"], count=2)
    assert threaded.args["thread_ts"] == answer.response["ts"]
    assert follow_up["channel_type"] == "im" and len(await questions(bot)) == 2

    change = await _report_issue(bot)
    await bot.outbox_drained()
    [issue_post] = await bot.standin.wait_for("chat.postMessage", where=lambda c: bot.standin.same_channel(c.args["channel"], "#help-desk"))
    reply = human_says(bot, "#help-desk", BOB, "Restarted the SSO proxy", thread_ts=issue_post.response["ts"])
    await send_event(bot, reply)

    async def commented() -> bool:
        events = await bot.opsbot.issues.timeline(change)
        return any(e.kind == "comment" and e.summary == "Restarted the SSO proxy" for e in events.events)

    await bot.wait_until(commented)
    assert len(await questions(bot)) == 2


async def _report_issue(bot: RunningBot) -> int:
    from core.vocabulary import Category, Priority
    from handlers.issues.log import NewIssue

    change = await bot.opsbot.issues.report(NewIssue("SSO down", "nobody can log in", Priority.HIGH,
                                                     Category.SECURITY), ALICE)
    return change.issue_id
