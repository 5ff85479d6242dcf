"""Answers that say what to do: the actionable section first, the matched symptom as context, and
"not sure" with candidates when no article covers the question; the CLI prints the same answer.
Signed requests over loopback against the Slack stand-in, on both databases."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.harness import RunningBot
from tests.integration.questions_support import (
    ALICE,
    button,
    click,
    command,
    dm,
    elements,
    posts_to,
    questions,
    replies,
    shown,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
async def loaded(bot: RunningBot) -> None:
    await bot.opsbot.knowledge.get()


async def run_cli(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "knowledge_base", *args, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_an_everyday_question_is_answered_with_the_quick_checks_and_the_matched_symptom(bot: RunningBot) -> None:
    event = await dm(bot, "disk full on db server")
    [answer] = await posts_to(bot, event["channel"])
    blocks = answer.args["blocks"]
    assert answer.args["text"] == "📖 Disk space running out › Quick checks"
    assert blocks[0]["text"]["text"] == "📖 *Disk space running out* › Quick checks"
    assert button(blocks, "kb.show_article")["text"]["text"] == "Show full article"
    # One line of context saying which symptom matched, then what to do.
    assert blocks[1]["type"] == "context"
    assert blocks[1]["elements"][0]["text"] == "🔎 Matches: Errors `No space left on device` / `ENOSPC`, PostgreSQL `could not extend file`."
    assert "df -h" in blocks[2]["text"]["text"] and "Symptoms" not in blocks[0]["text"]["text"]
    assert [e["action_id"] for e in elements(blocks)][-2:] == ["kb.solved", "kb.ticket"]
    [row] = await questions(bot)
    assert (row.article_path, row.section, row.outcome, row.confident) == ("disk-space", "Quick checks", "answered", True)

    # The button opens the whole article, symptoms and fix included.
    await click(bot, button(blocks, "kb.show_article"))
    [opened] = await bot.standin.wait_for("views.open")
    assert opened.response["ok"] and opened.args["view"]["callback_id"] == "kb.article"
    assert "Fix" in shown(opened.args["view"]["blocks"])


async def test_a_how_to_is_answered_with_the_fix(bot: RunningBot) -> None:
    await command(bot, "/ask", "how do I renew the certificate", reply="ask")
    [reply] = await replies(bot, "ask")
    assert reply["text"] == "📖 TLS certificate expiry and renewal › Fix"
    assert "certbot renew" in reply["blocks"][2]["text"]["text"]
    assert reply["blocks"][1]["elements"][0]["text"].startswith("🔎 Matches: ")


async def test_reset_my_vpn_is_not_sure_and_offers_the_candidates_and_a_ticket(bot: RunningBot) -> None:
    event = await dm(bot, "How do I reset my VPN")
    [answer] = await posts_to(bot, event["channel"])
    blocks = answer.args["blocks"]
    assert answer.args["text"] == "I'm not sure I have an answer for that."
    assert "📖" not in shown(blocks) and "Matches:" not in shown(blocks)
    candidates = [e["value"] for e in elements(blocks) if e["action_id"] == "kb.show_article"]
    assert 2 <= len(candidates) <= 3
    assert {"network-latency", "password-resets"} <= set(candidates)
    assert "might be related" in shown(blocks) and "/issue new" in shown(blocks)
    [row] = await questions(bot)
    assert (row.outcome, row.confident, row.asked_by) == ("no_answer", False, ALICE)

    # The ticket button opens the /issue form, saying the knowledge base had no good answer.
    await click(bot, button(blocks, "kb.ticket"), reply="ticket")
    [opened] = await bot.standin.wait_for("views.open")
    inputs = {b["block_id"]: b["element"] for b in opened.args["view"]["blocks"] if b["type"] == "input"}
    assert inputs["issue_new.title"]["initial_value"] == "How do I reset my VPN"
    assert "no good answer" in inputs["issue_new.description"]["initial_value"]


async def test_the_cli_prints_the_answer_the_bot_gives(bot: RunningBot) -> None:
    question = "too many connections on postgres"
    event = await dm(bot, question)
    [answer] = await posts_to(bot, event["channel"])
    printed = (await run_cli("search", question)).splitlines()
    assert f"📖 {printed[0]}" == answer.args["text"] == "📖 Connection pool exhaustion and too many connections › Quick checks"
    assert printed[1].startswith("Matches: ") and "too many clients" in printed[1]
    assert "pg_stat_activity" in "\n".join(printed)
    assert any(line.startswith("Full article: ") and "#quick-checks" in line for line in printed)

    unsure = (await run_cli("search", "How do I reset my VPN")).splitlines()
    assert unsure[0].startswith("Not sure") and "/issue new" in unsure[-1]
    listed = (await run_cli("search", question, "--list")).splitlines()
    assert listed[0].startswith("1. Connection pool exhaustion and too many connections › Quick checks")
