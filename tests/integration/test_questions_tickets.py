"""From a question to a ticket, and reading whole articles: buttons, modals and submissions, both databases."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import quote, unquote

import pytest
from sqlalchemy import select

from slack_standin import SlackStandIn
from slack_standin.signing import block_actions_body, view_submission_body
from storage.models import Issue, IssueEvent
from tests.harness import RunningBot, start_bot, stop_bot
from tests.integration.questions_support import (
    ALICE,
    BOB,
    button,
    click,
    dm,
    posts_to,
    questions,
    replies,
    shown,
)


def submitted_values(view: dict[str, Any], **changes: str) -> dict[str, Any]:
    """What Slack sends back for the prefilled form, with some fields changed by the person."""
    values = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        state: dict[str, Any] = {"type": element["type"]}
        if "options" in element:
            state["selected_option"] = element.get("initial_option")
        else:
            state["value"] = changes.get(block["block_id"], element.get("initial_value"))
        values[block["block_id"]] = {element["action_id"]: state}
    return values


async def test_didnt_help_opens_a_prefilled_form_whose_submission_opens_an_issue(bot: RunningBot) -> None:
    event = await dm(bot, "disk is full on the db server")
    [answer] = await posts_to(bot, event["channel"])
    await click(bot, button(answer.args["blocks"], "kb.ticket"), reply="ticket")
    [opened] = await bot.standin.wait_for("views.open")
    view = opened.args["view"]
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["issue_new.title"]["initial_value"] == "disk is full on the db server"
    assert "Disk space running out › " in inputs["issue_new.description"]["initial_value"]
    assert inputs["issue_new.priority"]["initial_option"]["value"] == "Medium"
    assert inputs["issue_new.category"]["initial_option"]["value"] == "infrastructure"
    [row] = await questions(bot)
    assert row.outcome == "not_helpful" and row.feedback_at is not None

    values = submitted_values(view, **{"issue_new.description": "df says 100 % on /var/lib/postgresql"})
    body = view_submission_body(view["callback_id"], values, user_id=ALICE, private_metadata=view["private_metadata"])
    status, reply = await bot.post_slack(body)
    assert (status, reply) == (200, "")

    [post] = await bot.standin.wait_for("chat.postMessage", where=lambda c: bot.standin.same_channel(c.args["channel"], "#help-desk"))
    assert "disk is full on the db server" in shown(post.args["blocks"])
    assert "*Reported by*\\n<@U0ALICE>" in shown(post.args["blocks"])
    async with bot.opsbot.sessionmaker() as session:
        issue = (await session.execute(select(Issue))).scalar_one()
        kinds = list((await session.execute(select(IssueEvent.kind).where(IssueEvent.issue_id == issue.id))).scalars())
    assert (issue.reported_by, issue.channel, issue.priority, issue.category) == (ALICE, "#help-desk", "Medium", "infrastructure")
    assert issue.description == "df says 100 % on /var/lib/postgresql"
    assert kinds == ["opened", "kb_question"]
    [row] = await questions(bot)
    assert (row.outcome, row.issue_id) == ("ticket", issue.id)

    # The same form submitted again (a new request: Slack signs it afresh) cannot open a second issue.
    # An identical replay of the first request's bytes is acked without being acted on at all.
    status, reply = await bot.post_slack(body, timestamp=int(time.time()) + 1)
    assert "already became issue #1" in json.loads(reply)["errors"]["issue_new.title"]
    await click(bot, button(answer.args["blocks"], "kb.solved"), reply="late")
    [late] = await replies(bot, "late")
    assert "already became issue #1" in late["text"]
    async with bot.opsbot.sessionmaker() as session:
        assert len((await session.execute(select(Issue))).all()) == 1


async def test_no_answer_opens_a_ticket_too_and_only_the_asker_may(bot: RunningBot) -> None:
    event = await dm(bot, "where is the holiday calendar?")
    [answer] = await posts_to(bot, event["channel"])
    ticket = button(answer.args["blocks"], "kb.ticket")
    await click(bot, ticket, user=BOB, reply="bob")
    [refused] = await replies(bot, "bob")
    assert "Only <@U0ALICE>" in refused["text"] and not bot.standin.calls_to("views.open")

    await click(bot, ticket, reply="alice")
    [opened] = await bot.standin.wait_for("views.open")
    view = opened.args["view"]
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert "initial_option" not in inputs["issue_new.category"]  # no answer, no guess at the category
    assert "no good answer" in inputs["issue_new.description"]["initial_value"] or \
        "had no answer" in inputs["issue_new.description"]["initial_value"]

    values = submitted_values(view)
    missing_category = view_submission_body(view["callback_id"], values, user_id=ALICE, private_metadata=view["private_metadata"])
    status, reply = await bot.post_slack(missing_category)
    assert json.loads(reply)["errors"] == {"issue_new.category": "Choose a category."}
    values["issue_new.category"]["value"]["selected_option"] = {"value": "other"}
    by_bob = view_submission_body(view["callback_id"], values, user_id=BOB, private_metadata=view["private_metadata"])
    assert "Only <@U0ALICE>" in json.loads((await bot.post_slack(by_bob))[1])["errors"]["issue_new.title"]
    ok = view_submission_body(view["callback_id"], values, user_id=ALICE, private_metadata=view["private_metadata"])
    assert (await bot.post_slack(ok)) == (200, "")
    await bot.standin.wait_for("chat.postMessage", where=lambda c: bot.standin.same_channel(c.args["channel"], "#help-desk"))
    [row] = await questions(bot)
    assert row.outcome == "ticket" and row.issue_id == 1


def modal_click(view: dict[str, Any], action_id: str, value: str, user: str = ALICE) -> str:
    """A button clicked inside a modal: Slack sends the view instead of a channel and response_url."""
    payload = json.loads(unquote(block_actions_body(action_id, value, user_id=user)[len("payload="):]))
    for key in ("channel", "response_url"):
        payload.pop(key)
    payload["container"] = {"type": "view", "view_id": view["id"]}
    payload["view"] = view
    return "payload=" + quote(json.dumps(payload))


async def test_show_full_article_opens_it_and_a_removed_article_is_explained(bot: RunningBot) -> None:
    event = await dm(bot, "I can't log in")
    [answer] = await posts_to(bot, event["channel"])
    await click(bot, button(answer.args["blocks"], "kb.show_article"))
    [opened] = await bot.standin.wait_for("views.open")
    view = opened.args["view"]
    assert opened.response["ok"] and view["callback_id"] == "kb.article"
    assert view["blocks"][0]["text"]["text"] == "Login problems (users cannot sign in)"
    assert len(view["blocks"]) > 4

    await click(bot, {"action_id": "kb.show_article", "value": "renamed/long-gone"}, reply="gone")
    [gone] = await replies(bot, "gone")
    assert gone["response_type"] == "ephemeral" and "no longer in the knowledge base" in gone["text"]


@pytest.fixture
async def long_kb_bot(database_url: str, standin: SlackStandIn, tmp_path: Path) -> AsyncIterator[RunningBot]:
    body = "\n\n".join(f"## Step {n}\n\n" + "Check the replica carefully before you continue. " * 60 for n in range(120))
    (tmp_path / "long-runbook.md").write_text(f"---\ntitle: Failover runbook\ntags: [failover]\n---\n\n{body}\n")
    running = await start_bot(database_url, standin, settings_overrides={"kb_paths": [tmp_path]})
    await running.opsbot.knowledge.get()
    yield running
    await stop_bot(running)


async def test_long_articles_page_inside_the_modal(long_kb_bot: RunningBot) -> None:
    bot = long_kb_bot
    await click(bot, {"action_id": "kb.show_article", "value": "long-runbook"})
    [opened] = await bot.standin.wait_for("views.open")
    first = opened.response["view"]
    assert opened.response["ok"] and "page 1 of" in shown(first["blocks"][1])
    [next_page] = [e for e in first["blocks"][-1]["elements"]]
    assert (next_page["action_id"], next_page["value"]) == ("kb.article_page.next", "1")

    status, _ = await bot.post_slack(modal_click(first, "kb.article_page.next", "1"))
    assert status == 200
    [update] = await bot.standin.wait_for("views.update")
    assert update.response["ok"] and update.args["view_id"] == first["id"]
    assert "page 2 of" in shown(update.args["view"]["blocks"][1])
    previous, following = update.args["view"]["blocks"][-1]["elements"]  # one block, two action_ids: Slack requires it
    assert (previous["text"]["text"], previous["action_id"]) == ("← Previous page", "kb.article_page.previous")
    assert following["action_id"] == "kb.article_page.next"

    # A modal opened before the buttons got their own ids still pages: the shared id is still heard.
    status, _ = await bot.post_slack(modal_click(update.response["view"], "kb.article_page", "0"))
    assert status == 200
    [_, back] = await bot.standin.wait_for("views.update", count=2)
    assert back.response["ok"] and "page 1 of" in shown(back.args["view"]["blocks"][1])
