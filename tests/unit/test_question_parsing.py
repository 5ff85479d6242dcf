"""Questions as people type them, `/kb` commands, the article modal's pages and how gaps group."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from handlers.questions.article_modal import build_article_modal, page_request, paginate, split_mrkdwn
from handlers.slack.metadata import ModalMetadata
from handlers.questions.parsing import KbSubcommand, clean_question, parse_kb_command, wants_usage
from handlers.questions.service import gap_key, group_questions
from knowledge_base import KnowledgeBase
from slack_standin.validation import check_view
from storage.models import KbQuestion

KB = KnowledgeBase.load_default()


def test_clean_question_drops_the_bot_and_keeps_what_people_see() -> None:
    text = "<@U0BOT> why is <https://lms.example.org|the LMS> slow in <#C123|ops> for <@U0ALICE>? &lt;3 <!here>"
    assert clean_question(text, "U0BOT") == "why is the LMS slow in #ops for ? <3"
    assert clean_question("  <@U0BOT>  ", "U0BOT") == ""
    assert clean_question("see <https://x.example.com/a>") == "see https://x.example.com/a"


def test_usage_for_empty_or_help() -> None:
    assert wants_usage("") and wants_usage("help") and wants_usage("Help!") and wants_usage("?")
    assert not wants_usage("help, I can't log in")


def test_kb_command_words() -> None:
    assert parse_kb_command("gaps last week").subcommand is KbSubcommand.GAPS
    assert parse_kb_command("gaps last week").argument == "last week"
    assert parse_kb_command("").subcommand is KbSubcommand.HELP
    assert parse_kb_command("RELOAD").subcommand is KbSubcommand.RELOAD
    wrong = parse_kb_command("delete <everything>")
    assert wrong.subcommand is KbSubcommand.HELP and wrong.problem == "I don't know `/kb delete`."
    assert parse_kb_command("reload now").problem


def test_split_keeps_pieces_within_the_limit_and_code_blocks_closed() -> None:
    rng = random.Random(7)
    lines = []
    for n in range(400):
        if n % 37 in (0, 20):  # code blocks that open and close
            lines.append("```")
        lines.append(" ".join(rng.choice(["restart", "<https://x.example.com/a b|a link>", "df", "-h", "&amp;"])
                              for _ in range(rng.randint(1, 40))))
    lines.append("x" * 7000)  # one word longer than a section
    text = "\n".join(lines)
    pieces = split_mrkdwn(text, 500)
    assert all(len(piece) <= 500 for piece in pieces)
    assert all(piece.count("```") % 2 == 0 for piece in pieces)
    assert all(piece.count("<https") == piece.count("|a link>") for piece in pieces)
    joined = "".join(pieces).replace("```", "").replace("\n", "").replace(" ", "")
    assert joined == text.replace("```", "").replace("\n", "").replace(" ", "")


def test_every_bundled_article_fits_one_valid_modal() -> None:
    for article in KB.articles:
        view = build_article_modal(article)
        assert not check_view(view), article.article_id
        assert view["blocks"][0]["text"]["text"] == article.title[:150]


def test_long_articles_are_paged_with_buttons_that_name_the_page(tmp_path: Path) -> None:
    body = "\n\n".join(f"## Step {n}\n\n" + "Check the thing carefully. " * 100 for n in range(150))
    (tmp_path / "long.md").write_text(f"---\ntitle: A very long runbook\n---\n\n{body}\n", encoding="utf-8")
    (article,) = KnowledgeBase.load([tmp_path]).articles
    first = build_article_modal(article)
    assert not check_view(first) and len(first["blocks"]) <= 100
    nav = first["blocks"][-1]
    assert [e["value"] for e in nav["elements"]] == ["1"]
    assert page_request(ModalMetadata.decode(first["private_metadata"]), "1") == (article.article_id, 1)
    last = build_article_modal(article, 99)
    assert [e["text"]["text"] for e in last["blocks"][-1]["elements"]] == ["← Previous page"]
    assert "page" in last["blocks"][1]["elements"][0]["text"]
    assert len(json.dumps(first)) < 250_000
    assert page_request(ModalMetadata.decode("nope"), "1") is None
    assert len(paginate(["x"] * 300)) == 4


def test_similar_questions_group_together_newest_first() -> None:
    assert gap_key("The disk is full!", KB) == gap_key("disk is full??", KB)
    assert gap_key("db is down", KB) == gap_key("the database is down!", KB)
    assert gap_key("Where is the holiday calendar?", KB) == gap_key("holiday calendar where", KB)
    assert gap_key("the, the", None) == "the the"
    now = datetime(2026, 11, 20, tzinfo=timezone.utc)
    rows = [
        KbQuestion(id=3, question="disk is full??", asked_at=now, outcome="ticket", issue_id=9),
        KbQuestion(id=2, question="printer on fire", asked_at=now - timedelta(hours=1), outcome="no_answer"),
        KbQuestion(id=1, question="The disk is full", asked_at=now - timedelta(hours=2), outcome="no_answer"),
    ]
    groups = group_questions(rows, KB)
    assert [(g.question, g.count) for g in groups] == [("disk is full??", 2), ("printer on fire", 1)]
    assert groups[0].outcomes == {"ticket": 1, "no_answer": 1} and groups[0].issue_ids == (9,)

