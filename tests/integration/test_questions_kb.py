"""The knowledge base's side of questions: /kb gaps for managers, reloads, and alerts naming their article."""

from __future__ import annotations

import shutil
import threading
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo
from typing import AsyncIterator

import pytest

from knowledge_base import KnowledgeBase
from knowledge_base.loading import DEFAULT_ARTICLES_DIR
from slack_standin import SlackStandIn
from tests.harness import RunningBot, fixture_json, start_bot, stop_bot, test_config
from tests.integration.questions_support import (
    ALICE,
    BOB,
    button,
    click,
    command,
    dm,
    posts_to,
    replies,
    shown,
)

MANAGER = "U0MANAGER"
PRINTER = "---\ntitle: Printer on fire\ntags: [printer, fire, smoke]\ncategory: other\n---\n\n## Fix\n\nUse the extinguisher.\n"


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    shutil.copytree(DEFAULT_ARTICLES_DIR, folder)
    return folder


@pytest.fixture
async def managed_bot(database_url: str, standin: SlackStandIn, kb_dir: Path) -> AsyncIterator[RunningBot]:
    """Managers named in the config; the KB is a copy in a temporary folder (KB_PATHS)."""
    config = test_config(roles={"manager": [MANAGER]}, issue_log={"timezone": "Europe/Berlin"})
    running = await start_bot(database_url, standin, config=config, settings_overrides={"kb_paths": [kb_dir]})
    await running.opsbot.knowledge.get()
    yield running
    await stop_bot(running)


async def test_gaps_list_unanswered_questions_grouped_newest_first_for_managers(managed_bot: RunningBot) -> None:
    bot = managed_bot
    for user, question in [
        (ALICE, "where is the holiday calendar?"),
        (BOB, "who has the key to the bike shed?"),
        (ALICE, "I can't log in"),  # answered: not a gap unless it did not help
        (BOB, "Where is the holiday calendar"),
        (ALICE, "disk is full on the db server"),
    ]:
        await dm(bot, question, user=user)
        bot.clock.advance(minutes=5)
    posts = await bot.standin.wait_for("chat.postMessage", count=5)
    disk_answer = next(p for p in posts if p.args["text"].startswith("📖 Disk space"))
    await click(bot, button(disk_answer.args["blocks"], "kb.ticket"))  # didn't help
    await bot.standin.wait_for("views.open")

    await command(bot, "/kb", "gaps", user=BOB, reply="denied")
    [denied] = await replies(bot, "denied")
    assert denied["text"] == "You need the manager role to see the questions the knowledge base could not answer."

    today = bot.clock().astimezone(ZoneInfo("Europe/Berlin")).date()
    days = f"{today - timedelta(days=1)}..{today + timedelta(days=1)}"  # whatever the time of day
    await command(bot, "/kb", f"gaps {days}", user=MANAGER, reply="gaps")
    [gaps] = await replies(bot, "gaps")
    assert gaps["response_type"] == "ephemeral"
    # After the recurring issues without an article (handlers/knowledge; none here), the questions.
    assert f"\n4 question(s) without a good answer in {today - timedelta(days=1)}" in gaps["text"]
    assert gaps["text"].endswith("3 different, newest first")
    text = shown(gaps["blocks"])
    assert "can't log in" not in text
    assert text.index("disk is full") < text.index("Where is the holiday calendar") < text.index("bike shed")
    assert "*2×* “Where is the holiday calendar”" in text and "2 no answer" in text
    assert "1 didn't help" in text

    await command(bot, "/kb", "gaps someday", user=MANAGER, reply="bad")
    [bad] = await replies(bot, "bad")
    assert "I don't know the period" in bad["text"]


async def test_kb_help_and_unknown_words(managed_bot: RunningBot) -> None:
    answer = await command(managed_bot, "/kb", "")
    assert "/kb gaps" in answer and "/kb reload" in answer
    assert "I don't know `/kb frobnicate`" in await command(managed_bot, "/kb", "frobnicate")


async def test_reload_picks_up_a_new_article_by_command_and_by_watching(managed_bot: RunningBot, kb_dir: Path) -> None:
    bot = managed_bot
    await dm(bot, "the printer is on fire")
    [unsure] = await bot.standin.wait_for("chat.postMessage")
    assert unsure.args["text"] == "I'm not sure I have an answer for that."

    (kb_dir / "printer.md").write_text(PRINTER, encoding="utf-8")
    await command(bot, "/kb", "reload", user=ALICE, reply="refused")
    [refused] = await replies(bot, "refused")
    assert "manager role" in refused["text"]
    await command(bot, "/kb", "reload", user=MANAGER, reply="reload")
    [reloaded] = await replies(bot, "reload")
    assert reloaded["text"] == "🔄 Knowledge base reloaded: 33 article(s)."
    await dm(bot, "the printer is on fire")
    [_, answer] = await bot.standin.wait_for("chat.postMessage", count=2)
    assert answer.args["text"] == "📖 Printer on fire › Fix"

    # Edits are picked up without anyone asking: the folder is watched.
    (kb_dir / "printer.md").write_text(PRINTER.replace("Printer on fire", "Printer in flames"), encoding="utf-8")

    async def renamed() -> bool:
        kb = bot.opsbot.knowledge.current
        return kb is not None and kb.article("printer").title == "Printer in flames"

    await bot.wait_until(renamed, timeout=15)
    await dm(bot, "the printer is on fire")
    [*_, third] = await bot.standin.wait_for("chat.postMessage", count=3)
    assert third.args["text"] == "📖 Printer in flames › Fix"


async def test_an_alert_issue_message_names_its_knowledge_base_article(bot: RunningBot) -> None:
    await bot.opsbot.knowledge.get()
    status, _ = await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_firing.json"))
    assert status == 202
    posts = await bot.standin.wait_for("chat.postMessage", count=2)
    text = shown(posts[0].args["blocks"])
    assert "📖 Spike in 5xx server errors (500, 502, 503, 504) (in Slack: `/ask HighErrorRate`)" in text
    assert "No runbook fixes this automatically" not in text and "Walk me through it" in text  # RB-APP-04, bundled

    # Asking what the message suggests gives that article.
    await command(bot, "/ask", "HighErrorRate", reply="ask")
    [reply] = await replies(bot, "ask")
    assert reply["text"].startswith("📖 Spike in 5xx server errors")


async def test_a_staff_reported_issue_names_no_article(bot: RunningBot) -> None:
    await bot.opsbot.knowledge.get()
    event = await dm(bot, "I can't log in")
    [answer] = await posts_to(bot, event["channel"])
    assert "📖" in answer.args["text"]
    from core.vocabulary import Category, Priority
    from handlers.issues.log import NewIssue

    await bot.opsbot.issues.report(NewIssue("Disk full", "df says 100 %", Priority.HIGH, Category.INFRASTRUCTURE), ALICE)
    [post] = await bot.standin.wait_for("chat.postMessage", where=lambda c: bot.standin.same_channel(c.args["channel"], "#help-desk"))
    assert "📖" not in shown(post.args["blocks"])


async def test_the_bot_serves_while_the_kb_loads_and_questions_wait_for_it(
    database_url: str, standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held until released, the load stands for a large KB: nothing else waits for it but questions."""
    release = threading.Event()
    load = KnowledgeBase.load

    def slow_load(paths: list[Path]) -> KnowledgeBase:
        release.wait(timeout=30)
        return load(paths)

    monkeypatch.setattr("handlers.questions.loader.KnowledgeBase.load", slow_load)
    bot = await start_bot(database_url, standin)
    try:
        async with bot.session.get(f"{bot.url}/healthz") as response:
            assert response.status == 200
        assert await command(bot, "/ask", "I can't log in", reply="early") == ""  # acked at once
        assert bot.opsbot.knowledge.current is None and not bot.standin.calls_to("response_url")
        release.set()
        [reply] = await replies(bot, "early")
        assert reply["text"].startswith("📖 Login problems")
    finally:
        release.set()
        await stop_bot(bot)
