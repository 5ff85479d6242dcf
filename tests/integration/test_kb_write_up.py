"""Feeding the knowledge base, driven as Slack would: a resolved issue is written up into a draft that
answers at once (marked as a draft), `/kb drafts` lists it, a manager publishes or discards it, and
`/kb gaps` lists recurring issues that have no article."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import yaml
from sqlalchemy import select

from core.vocabulary import Category, Priority
from handlers.issues.log import NewIssue
from knowledge_base.front_matter import split_front_matter
from slack_standin import SlackStandIn
from slack_standin.signing import block_actions_body
from storage.models import Issue
from tests.harness import RunningBot, start_bot, stop_bot, test_config
from tests.integration.escalation_support import alertmanager_body, issue_events, select_state, submit_view
from tests.integration.questions_support import ALICE, BOB, button, click, command, dm, elements, replies, shown

MANAGER = "U0MANAGER"
DRAFT_MARK = "Draft — not yet reviewed"
ROOT_CAUSE = "A toner cartridge overheated"
FIX = "Switch the printer off at the wall, then use the CO2 extinguisher."


@pytest.fixture
def kb_folder(tmp_path: Path) -> Path:
    return tmp_path / "kb"


@pytest.fixture
async def kb_bot(database_url: str, standin: SlackStandIn, kb_folder: Path) -> AsyncIterator[RunningBot]:
    """The bundled articles, and write-ups in a folder of their own (no KB_PATHS: as out of the box)."""
    config = test_config(roles={"manager": [MANAGER]}, knowledge_base={"folder": str(kb_folder)})
    running = await start_bot(database_url, standin, config=config)
    await running.opsbot.knowledge.get()
    yield running
    await stop_bot(running)


def alert(name: str, *, status: str = "firing", fingerprint: str | None = None) -> dict[str, Any]:
    body = alertmanager_body(name, category="infrastructure", fingerprint=fingerprint or name.lower())
    first = body["alerts"][0]
    if name == "PrinterOnFire":
        first["labels"].update({"service": "printers", "instance": "printer-3"})
        first["annotations"] = {"summary": "The office printer is on fire", "description": "Smoke from room 3"}
    if status == "resolved":
        body["status"] = first["status"] = "resolved"
        first["endsAt"] = "2026-11-22T05:30:00Z"
    return body


async def fire(bot: RunningBot, name: str, *, fingerprint: str | None = None) -> tuple[int, str, str]:
    """Fire an alert and wait for its message: (issue id, channel, ts)."""
    before = len(bot.standin.calls_to("chat.postMessage"))
    status, answer = await bot.post_webhook("alertmanager", alert(name, fingerprint=fingerprint))
    assert status == 202 and answer["issues_opened"] == 1, answer
    posts = await bot.standin.wait_for("chat.postMessage", count=before + 1)
    await bot.outbox_drained()
    async with bot.opsbot.sessionmaker() as session:
        issue_id = (await session.execute(select(Issue.id).order_by(Issue.id.desc()).limit(1))).scalar_one()
    return issue_id, posts[before].response["channel"], posts[before].response["ts"]


async def press(bot: RunningBot, action_id: str, value: str, user: str, channel: str, ts: str, reply: str = "r") -> None:
    body = block_actions_body(action_id, value, user_id=user, channel_id=channel, message_ts=ts,
                              response_url=bot.standin.response_url(reply))
    status, _ = await bot.post_slack(body)
    assert status == 200


async def latest_view(bot: RunningBot, callback_id: str) -> dict[str, Any]:
    calls = await bot.standin.wait_for("views.open", where=lambda c: c.args["view"]["callback_id"] == callback_id)
    return calls[-1].args["view"]


async def resolve(bot: RunningBot, issue_id: int, channel: str, ts: str) -> None:
    await press(bot, "issue.resolve", str(issue_id), BOB, channel, ts)
    view = await latest_view(bot, "issue.resolve.modal")
    values = {
        "resolve.resolution": {"resolve.resolution": FIX},
        "resolve.root_cause_category": {"resolve.root_cause_category": select_state("infrastructure")},
        "resolve.root_cause": {"resolve.root_cause": ROOT_CAUSE},
    }
    assert (await submit_view(bot, view, values, BOB))[0] == 200
    await bot.standin.wait_for("chat.update", where=lambda c: "issue.write_up" in json.dumps(c.args.get("blocks")))


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block["element"] for block in view["blocks"] if block["type"] == "input"}


def answers_from(view: dict[str, Any], **changes: str) -> dict[str, Any]:
    """What the person submits: the prefilled values, with `changes` (by the input's last word)."""
    values: dict[str, Any] = {}
    for block_id, element in inputs(view).items():
        if element["type"] == "static_select":
            values[block_id] = {block_id: select_state(element["initial_option"]["value"])}
        else:
            values[block_id] = {block_id: changes.get(block_id.rsplit(".", 1)[1], element.get("initial_value", ""))}
    return values


async def write_up(bot: RunningBot, issue_id: int, channel: str, ts: str, user: str = BOB) -> Path:
    """Write it up with what the modal offers; returns the draft once its author was told."""
    told = len(bot.standin.calls_to("chat.postEphemeral"))
    await press(bot, "issue.write_up", str(issue_id), user, channel, ts)
    view = await latest_view(bot, "kb.write_up")
    status, answer = await submit_view(bot, view, answers_from(view), user)
    assert status == 200 and answer == ""
    [*_, saved] = await bot.standin.wait_for("chat.postEphemeral", count=told + 1)
    assert saved.args["user"] == user and saved.args["channel"] == channel and "📝 Saved" in saved.args["text"]
    name = saved.args["text"].split("(`", 1)[1].split("`", 1)[0]
    return Path(bot.opsbot.knowledge_feed.feed.folder.drafts / name)


async def answer_to(bot: RunningBot, question: str) -> dict[str, Any]:
    earlier = {id(call) for call in bot.standin.calls_to("chat.postMessage")}
    event = await dm(bot, question)
    [*_, post] = await bot.standin.wait_for(
        "chat.postMessage", where=lambda c: c.args["channel"] == event["channel"] and id(c) not in earlier
    )
    return post.args


async def test_a_resolved_issue_is_written_up_answers_at_once_and_a_manager_publishes_it(
    kb_bot: RunningBot, kb_folder: Path
) -> None:
    bot = kb_bot
    issue_id, channel, ts = await fire(bot, "PrinterOnFire")
    await press(bot, "issue.ack", str(issue_id), BOB, channel, ts)
    await bot.standin.wait_for("chat.update", where=lambda c: "Acknowledged by" in json.dumps(c.args.get("blocks")))
    await command(bot, "/issue", f"comment {issue_id} Called facilities: they cut the power", user=BOB, reply="c")
    await replies(bot, "c")
    await resolve(bot, issue_id, channel, ts)

    await press(bot, "issue.write_up", str(issue_id), BOB, channel, ts)
    view = await latest_view(bot, "kb.write_up")
    prefilled = inputs(view)
    assert prefilled["kb.write_up.title"]["initial_value"] == "The office printer is on fire"
    assert prefilled["kb.write_up.category"]["initial_option"]["value"] == "infrastructure"
    assert prefilled["kb.write_up.alerts"]["initial_value"] == "PrinterOnFire"
    symptoms = prefilled["kb.write_up.symptoms"]["initial_value"]
    assert "**PrinterOnFire**: The office printer is on fire" in symptoms and "Smoke from room 3" in symptoms
    assert "`instance=printer-3`" in symptoms
    assert prefilled["kb.write_up.root_cause"]["initial_value"] == ROOT_CAUSE
    assert prefilled["kb.write_up.fix"]["initial_value"] == FIX
    steps = prefilled["kb.write_up.steps"]["initial_value"].splitlines()
    assert steps[0].startswith("1. Acknowledged") and steps[0].endswith(f"({BOB})")
    assert steps[1] == f"2. Called facilities: they cut the power ({BOB})"

    status, answer = await submit_view(bot, view, answers_from(view, fix="  ", title=""), BOB)
    assert status == 200 and answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"kb.write_up.fix", "kb.write_up.title"}
    assert not (kb_folder / "drafts").exists() or not list((kb_folder / "drafts").iterdir())

    told = len(bot.standin.calls_to("chat.postEphemeral"))
    status, answer = await submit_view(bot, view, answers_from(view), BOB)
    assert status == 200 and answer == ""
    await bot.standin.wait_for("chat.postEphemeral", count=told + 1)
    draft = kb_folder / "drafts" / "the-office-printer-is-on-fire.md"
    meta = split_front_matter(draft.read_text(encoding="utf-8")).data
    assert meta["title"] == "The office printer is on fire" and meta["status"] == "draft"
    assert (meta["category"], meta["alerts"], meta["source_issue"], meta["author"]) == (
        "infrastructure", ["PrinterOnFire"], issue_id, BOB
    )
    assert "created" in meta and "## Fix\n\n" + FIX in draft.read_text(encoding="utf-8")

    # Searchable at once: the first question after the confirmation finds it, marked as a draft.
    reply = await answer_to(bot, "the printer is on fire")
    assert "The office printer is on fire" in reply["text"] and DRAFT_MARK in shown(reply["blocks"])
    thread = await bot.standin.wait_for("chat.postMessage", where=lambda c: "wrote this up" in c.args["text"])
    assert thread[0].args.get("thread_ts") == ts
    assert [e.kind for e in await issue_events(bot, issue_id)][-1] == "kb_draft_written"

    await command(bot, "/kb", "drafts", user=ALICE, reply="alice")
    [listed] = await replies(bot, "alice")
    text = shown(listed["blocks"])
    assert listed["response_type"] == "ephemeral" and "The office printer is on fire" in text
    assert f"issue #{issue_id}" in text and f"<@{BOB}>" in text and "ago" in text
    assert not elements(listed["blocks"]) and f"ask <@{MANAGER}>" in text

    await command(bot, "/kb", "drafts", user=MANAGER, reply="manager")
    [managed] = await replies(bot, "manager")
    publish = button(managed["blocks"], "kb.draft.publish")
    assert publish["value"] == draft.name and button(managed["blocks"], "kb.draft.discard")["value"] == draft.name

    await click(bot, publish, user=ALICE, reply="refused")
    [refused] = await replies(bot, "refused")
    assert refused["text"] == f"Only managers can publish drafts: ask <@{MANAGER}>."
    assert draft.exists()

    await click(bot, publish, user=MANAGER, reply="published")
    [done] = await replies(bot, "published")
    assert done["replace_original"] is True and "✅ Published" in done["text"]
    article = kb_folder / draft.name
    assert article.exists() and not draft.exists()
    published = split_front_matter(article.read_text(encoding="utf-8")).data
    assert "status" not in published and published["published_by"] == MANAGER
    reply = await answer_to(bot, "the printer is on fire")
    assert "The office printer is on fire" in reply["text"] and DRAFT_MARK not in shown(reply["blocks"])
    assert [e.kind for e in await issue_events(bot, issue_id)][-1] == "kb_draft_published"
    await bot.standin.wait_for("chat.postMessage", where=lambda c: "published the write-up" in c.args["text"])

    # Written up again, it is a new draft beside the article (a third would be named -2); a manager discards it.
    second = await write_up(bot, issue_id, channel, ts)
    assert second == kb_folder / "drafts" / draft.name and article.exists()
    assert (await write_up(bot, issue_id, channel, ts)).name == "the-office-printer-is-on-fire-2.md"
    await command(bot, "/kb", "drafts", user=MANAGER, reply="again")
    [again] = await replies(bot, "again")
    discards = [e for e in elements(again["blocks"]) if e["action_id"] == "kb.draft.discard"]
    assert sorted(e["value"] for e in discards) == ["the-office-printer-is-on-fire-2.md", draft.name]
    await click(bot, next(e for e in discards if e["value"] == draft.name), user=MANAGER, reply="discarded")
    [discarded] = await replies(bot, "discarded")
    assert "🗑️ Discarded" in discarded["text"] and "1 draft(s) waiting" in shown(discarded["blocks"])
    assert not second.exists() and article.exists()
    assert [e.kind for e in await issue_events(bot, issue_id)][-1] == "kb_draft_discarded"


async def test_gaps_list_recurring_issues_without_an_article_and_write_one_up(kb_bot: RunningBot) -> None:
    bot = kb_bot
    latest: dict[str, tuple[int, str, str]] = {}
    for name in ("PrinterOnFire", "HighErrorRate"):  # each twice: fired, resolved, fired again
        await fire(bot, name)
        status, _ = await bot.post_webhook("alertmanager", alert(name, status="resolved"))
        assert status == 202
        latest[name] = await fire(bot, name)
    await fire(bot, "FanNoisy")  # once: not recurring
    for _ in range(2):
        await bot.opsbot.issues.report(NewIssue("Coffee machine leaking", "Water on the floor", Priority.LOW, Category.OTHER), ALICE)

    await command(bot, "/kb", "gaps", user=BOB, reply="denied")
    [denied] = await replies(bot, "denied")
    assert denied["text"].startswith("You need the manager role")

    await command(bot, "/kb", "gaps", user=MANAGER, reply="gaps")
    [gaps] = await replies(bot, "gaps")
    text = shown(gaps["blocks"])
    assert gaps["text"].startswith("2 recurring issue(s) without an article in the last 30 days")
    assert "*PrinterOnFire* — 2 issues" in text and "“Coffee machine leaking” — 2 issues" in text
    assert "HighErrorRate" not in text and "FanNoisy" not in text  # it has an article; it came once
    assert "question" in text  # the questions nobody could answer follow
    printer_issue = latest["PrinterOnFire"][0]
    write = next(e for e in elements(gaps["blocks"]) if e["action_id"] == "issue.write_up" and e["value"] == str(printer_issue))

    await press(bot, write["action_id"], write["value"], MANAGER, "C0OPS", "1.1")
    view = await latest_view(bot, "kb.write_up")
    assert inputs(view)["kb.write_up.alerts"]["initial_value"] == "PrinterOnFire"
    status, _ = await submit_view(bot, view, answers_from(view, fix="Call facilities."), MANAGER)
    assert status == 200
    await bot.standin.wait_for("chat.postEphemeral", where=lambda c: c.args["channel"] == "C0OPS" and "📝 Saved" in c.args["text"])

    await command(bot, "/kb", "gaps", user=MANAGER, reply="after")
    [after] = await replies(bot, "after")
    assert "PrinterOnFire" not in shown(after["blocks"])  # its draft answers for it now
    assert "Coffee machine leaking" in shown(after["blocks"])
    draft = next((bot.opsbot.knowledge_feed.feed.folder.drafts).iterdir())
    assert yaml.safe_load(draft.read_text().split("---")[1])["source_issue"] == printer_issue
