"""`/issue` as Slack drives it: signed slash commands, the modal, buttons and thread replies, both databases."""

from __future__ import annotations

import json

from sqlalchemy import select

from core.vocabulary import Category, Priority
from handlers.issues.log import NewIssue
from slack_standin.signing import block_actions_body, event_body, slash_command_body, view_submission_body
from storage.models import Issue, IssueEvent
from tests.harness import RunningBot

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"


async def slash(bot: RunningBot, text: str, *, user: str = ALICE, reply: str = "r1") -> tuple[int, str]:
    body = slash_command_body("/issue", text, user_id=user, channel_id="C0OPS", response_url=bot.standin.response_url(reply))
    return await bot.post_slack(body)


def ack_text(answer: str) -> str:
    """What the person sees from the ack: Bolt sends bare text, or JSON when there are blocks."""
    return json.loads(answer)["text"] if answer.startswith("{") else answer


async def replies(bot: RunningBot, name: str, count: int = 1) -> list[dict]:
    calls = await bot.standin.wait_for("response_url", count=count, where=lambda c: c.path.endswith("/" + name))
    return [call.args for call in calls]


def modal_values(title: str, description: str, priority: str, category: str, link: str = "") -> dict:
    return {
        "issue_new.title": {"value": {"type": "plain_text_input", "value": title}},
        "issue_new.description": {"value": {"type": "plain_text_input", "value": description}},
        "issue_new.priority": {"value": {"type": "static_select", "selected_option": {"value": priority}}},
        "issue_new.category": {"value": {"type": "static_select", "selected_option": {"value": category}}},
        "issue_new.link": {"value": {"type": "url_text_input", "value": link or None}},
    }


async def report(bot: RunningBot, title: str, *, by: str = ALICE, priority: Priority = Priority.MEDIUM,
                 category: Category = Category.APPLICATION) -> int:
    change = await bot.opsbot.issues.report(NewIssue(title, f"{title} details", priority, category), by)
    bot.clock.advance(minutes=1)
    return change.issue_id


async def events(bot: RunningBot, issue_id: int) -> list[IssueEvent]:
    async with bot.opsbot.sessionmaker() as session:
        query = select(IssueEvent).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.id)
        return list((await session.execute(query)).scalars())


def action_ids(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_issue_new_opens_the_modal_and_a_submission_posts_to_the_help_desk(bot: RunningBot) -> None:
    async with bot.standin.hold("views.open") as opening:
        status, answer = await slash(bot, "new")
        assert status == 200 and answer == ""  # Slack has its ack ...
        await opening.wait_for_waiting(1)  # ... while the modal is still held on its way
    [opened] = await bot.standin.wait_for("views.open")
    view = opened.args["view"]
    assert view["callback_id"] == "issue_log.new"
    assert [b["block_id"] for b in view["blocks"]] == [
        "issue_new.title", "issue_new.description", "issue_new.priority", "issue_new.category", "issue_new.link",
    ]

    values = modal_values("LMS login fails", "Students get a 500 after SSO", "High", "application",
                          "https://files.example.com/shot.png")
    status, answer = await bot.post_slack(view_submission_body("issue_log.new", values, user_id=ALICE))
    assert status == 200 and answer == ""

    [post] = await bot.standin.wait_for("chat.postMessage", where=lambda c: bot.standin.same_channel(c.args["channel"], "#help-desk"))
    blocks = json.dumps(post.args["blocks"], ensure_ascii=False)
    assert "LMS login fails" in blocks and "Students get a 500 after SSO" in blocks
    assert "*Reported by*\\n<@U0ALICE>" in blocks
    assert "<https://files.example.com/shot.png|Screenshot / link>" in blocks
    assert action_ids(post.args["blocks"]) == ["issue.ack", "issue.escalate", "issue.resolve"]

    [dm_open] = await bot.standin.wait_for("conversations.open")
    assert dm_open.args["users"] == ALICE
    [dm] = await bot.standin.wait_for("chat.postMessage", where=lambda c: c.args["channel"].startswith("D"))
    assert "Issue #1 is logged" in dm.args["text"]

    async with bot.opsbot.sessionmaker() as session:
        issue = (await session.execute(select(Issue))).scalar_one()
    assert (issue.source, issue.reported_by, issue.channel) == ("slack", ALICE, "#help-desk")
    assert (issue.priority, issue.category, issue.link_url) == ("High", "application", "https://files.example.com/shot.png")
    assert [e.kind for e in await events(bot, issue.id)] == ["opened"]


async def test_the_modal_refuses_what_it_cannot_log(bot: RunningBot) -> None:
    values = modal_values("  ", "", "Urgent", "", "javascript:alert(1)")
    status, answer = await bot.post_slack(view_submission_body("issue_log.new", values))
    assert status == 200
    reply = json.loads(answer)
    assert reply["response_action"] == "errors"
    assert set(reply["errors"]) == {
        "issue_new.title", "issue_new.description", "issue_new.priority", "issue_new.category", "issue_new.link",
    }
    assert "http" in reply["errors"]["issue_new.link"]
    async with bot.opsbot.sessionmaker() as session:
        assert (await session.execute(select(Issue))).first() is None


async def test_list_filters_in_any_order_and_pages(bot: RunningBot) -> None:
    db_high = await report(bot, "Replica lag", by=ALICE, priority=Priority.HIGH, category=Category.DATABASE)
    await report(bot, "Slow page", by=BOB, priority=Priority.LOW, category=Category.APPLICATION)
    bob_high = await report(bot, "Deadlocks", by=BOB, priority=Priority.HIGH, category=Category.DATABASE)
    await bot.opsbot.issues.assign(bob_high, ALICE, BOB)
    resolved = await report(bot, "Old outage", by=ALICE, priority=Priority.HIGH, category=Category.DATABASE)
    await bot.opsbot.issues.resolve(resolved, BOB)

    async with bot.standin.hold("response_url") as answering:
        status, answer = await slash(bot, "list MINE database High", reply="mine")
        assert status == 200 and answer == ""
        await answering.wait_for_waiting(1)  # acked while the list is still held
    [mine] = await replies(bot, "mine")
    text = json.dumps(mine["blocks"], ensure_ascii=False)
    assert mine["response_type"] == "ephemeral"
    assert f"*#{db_high}* Replica lag" in text and f"*#{bob_high}* Deadlocks" in text
    assert "Old outage" not in text and "Slow page" not in text
    assert text.index(f"#{bob_high}*") < text.index(f"#{db_high}*")  # newest first

    await slash(bot, "list all high", reply="all")
    [everything] = await replies(bot, "all")
    assert "Old outage" in json.dumps(everything["blocks"]) and "Slow page" not in json.dumps(everything["blocks"])

    for n in range(23):
        await report(bot, f"Flaky job {n}", by=CAROL, priority=Priority.LOW)
    await slash(bot, "list low", reply="page1")
    [first_page] = await replies(bot, "page1")
    assert first_page["text"].startswith("1–20 of 24 open Low issues")
    page_text = json.dumps(first_page["blocks"], ensure_ascii=False)
    assert "Flaky job 22" in page_text and "…and 4 more" in page_text and "Flaky job 2*" not in page_text
    [more] = [e for b in first_page["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (more["text"]["text"], more["value"]) == ("Next 4", "20|open low")

    click = block_actions_body(more["action_id"], more["value"], user_id=CAROL, response_url=bot.standin.response_url("page2"))
    assert (await bot.post_slack(click))[0] == 200
    [second_page] = await replies(bot, "page2")
    assert second_page["replace_original"] is True and second_page["text"].startswith("21–24 of 24")
    assert "Slow page" in json.dumps(second_page["blocks"]) and not action_ids(second_page["blocks"])


async def test_show_gives_fields_and_the_timeline(bot: RunningBot) -> None:
    issue_id = await report(bot, "VPN drops every hour", by=ALICE, priority=Priority.HIGH)
    await bot.opsbot.issues.acknowledge(issue_id, BOB)
    await bot.opsbot.issues.comment(issue_id, "Seen on the Berlin office only", BOB)

    await slash(bot, f"show #{issue_id}", reply="show")
    [shown] = await replies(bot, "show")
    text = json.dumps(shown["blocks"], ensure_ascii=False)
    assert shown["response_type"] == "ephemeral"
    assert "VPN drops every hour" in text and "*Priority*\\nHigh" in text and "*Status*\\nIn progress" in text
    assert "*Timeline*" in text and "<!date^" in text
    timeline = text[text.index("*Timeline*"):]
    assert timeline.index("Reported in Slack") < timeline.index("Acknowledged") < timeline.index("Seen on the Berlin")
    assert "<@U0BOB>" in text

    await slash(bot, "show 999", reply="missing")
    [missing] = await replies(bot, "missing")
    assert "Issue #999 does not exist" in missing["text"]


async def test_assign_parses_slack_mentions_rerenders_and_dms_the_assignee(bot: RunningBot) -> None:
    issue_id = await report(bot, "Printer queue stuck")
    await bot.standin.wait_for("chat.postMessage", where=lambda c: bot.standin.same_channel(c.args["channel"], "#help-desk"))
    await bot.outbox_drained()

    await slash(bot, f"assign {issue_id} <@U0CAROL|carol>", user=BOB, reply="assign")
    [answer] = await replies(bot, "assign")
    assert f"Issue #{issue_id} is now assigned to <@U0CAROL>" in answer["text"]
    [update] = await bot.standin.wait_for("chat.update")
    assert "*Assignee*\\n<@U0CAROL>" in json.dumps(update.args["blocks"])
    await bot.standin.wait_for("conversations.open", where=lambda c: c.args["users"] == CAROL)
    [dm] = await bot.standin.wait_for("chat.postMessage", where=lambda c: "assigned you issue" in c.args["text"])
    assert f"<@U0BOB> assigned you issue #{issue_id}" in dm.args["text"]
    [line] = await bot.standin.wait_for("chat.postMessage", where=lambda c: bool(c.args.get("thread_ts")))
    assert "assigned this issue to <@U0CAROL>" in line.args["text"]
    [event] = [e for e in await events(bot, issue_id) if e.kind == "assigned"]
    assert (event.actor, event.detail["assignee"]) == (BOB, CAROL)


async def test_assign_needs_the_responder_role_and_bad_text_gets_usage(database_url, standin) -> None:  # type: ignore[no-untyped-def]
    from tests.harness import start_bot, stop_bot, test_config

    bot = await start_bot(database_url, standin, config=test_config(roles={"responder": [BOB]}))
    try:
        issue_id = await report(bot, "Wi-Fi down on floor 3", by=ALICE)
        await slash(bot, f"assign {issue_id} me", user=ALICE, reply="denied")
        [denied] = await replies(bot, "denied")
        assert "You need the responder role to assign issues" in denied["text"]
        assert [e.kind for e in await events(bot, issue_id)] == ["opened", "denied"]

        status, answer = await slash(bot, f"assign {issue_id} @carol", user=BOB)
        assert status == 200 and "Mention them with @" in ack_text(answer)
        status, answer = await slash(bot, "frobnicate")
        assert "I don't know `/issue frobnicate`" in ack_text(answer) and "/issue list" in answer
        status, answer = await slash(bot, "")
        assert "/issue export" in ack_text(answer)
    finally:
        await stop_bot(bot)


async def test_comment_is_an_event_and_a_line_in_the_thread(bot: RunningBot) -> None:
    issue_id = await report(bot, "Backups slow")
    await bot.outbox_drained()

    await slash(bot, f"comment {issue_id} Restarted the agent, <!channel> watch it", user=BOB, reply="comment")
    [answer] = await replies(bot, "comment")
    assert f"Comment added to issue #{issue_id}" in answer["text"]
    [line] = await bot.standin.wait_for("chat.postMessage", where=lambda c: bool(c.args.get("thread_ts")))
    assert line.args["text"].startswith("💬 <@U0BOB>: Restarted the agent")
    assert "<!channel>" not in line.args["text"]
    [comment] = [e for e in await events(bot, issue_id) if e.kind == "comment"]
    assert (comment.actor, comment.summary) == (BOB, "Restarted the agent, <!channel> watch it")


async def test_a_human_reply_in_an_issue_thread_becomes_a_comment(bot: RunningBot) -> None:
    issue_id = await report(bot, "Checkout timeouts")
    [post] = await bot.standin.wait_for("chat.postMessage", where=lambda c: bot.standin.same_channel(c.args["channel"], "#help-desk"))
    await bot.outbox_drained()
    channel, parent_ts = post.response["channel"], post.response["ts"]

    def reply(ts: str, **extra: object) -> str:
        event = {"type": "message", "channel": channel, "user": CAROL, "text": "Payments provider confirms an outage",
                 "ts": ts, "thread_ts": parent_ts, "channel_type": "channel"}
        event.update(extra)
        return event_body(event)

    async def comments() -> list[IssueEvent]:
        return [e for e in await events(bot, issue_id) if e.kind == "comment"]

    async def post(body: str) -> None:
        status, _ = await bot.post_slack(body, content_type="application/json")
        assert status == 200

    await post(reply("1900000000.000100"))
    await bot.wait_until(lambda: _count_is(comments, 1))
    for body in (
        reply("1900000000.000100"),  # Slack delivering the same event again
        reply("1900000000.000200", bot_id="B0OTHER", user="U0OTHERBOT"),
        reply("1900000000.000300", subtype="message_changed"),
        event_body({"type": "message", "channel": channel, "user": CAROL, "text": "not a thread", "ts": "1900000000.000400"}),
    ):
        await post(body)
    # A last genuine reply, sent after the others: once it is in, the ones before it have been handled.
    await post(reply("1900000000.000500", text="Fixed on their side", user=BOB))
    await bot.wait_until(lambda: _count_is(comments, 2))
    first, last = await comments()
    assert (first.actor, first.summary, first.detail["via"]) == (CAROL, "Payments provider confirms an outage", "thread")
    assert (last.actor, last.summary) == (BOB, "Fixed on their side")


async def _count_is(read, count: int) -> bool:  # type: ignore[no-untyped-def]
    return len(await read()) == count

