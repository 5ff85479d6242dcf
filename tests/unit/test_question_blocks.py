"""Builders for answers from the knowledge base, on their dict output: limits, escaping, ids."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from handlers.slack.blockkit import SECTION_TEXT_LIMIT
from handlers.issues.command_parsing import parse_new_issue
from handlers.slack.payloads import FormValues
from handlers.periods import parse_period
from handlers.questions.blocks import (
    build_gaps,
    build_no_answer,
    build_reply,
    build_solved,
    build_ticket_modal,
    build_usage,
)
from handlers.questions.service import Answer, GapGroup, GapReport, TicketDraft
from knowledge_base import SearchResult, SearchResults
from slack_standin.validation import check_blocks, check_view

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


def result(article_id: str = "disk-space", *, title: str = "Disk space running out", section: str = "Fix",
           text: str = "- Remove old logs", url: str | None = None, confident: bool = True) -> SearchResult:
    return SearchResult(article_id=article_id, path=Path(f"/kb/{article_id}.md"), title=title, section=section,
                        score=0.8, confident=confident, text=text, url=url, category="infrastructure",
                        runbook="RB-INF-03")  # fmt: skip


def answer(*results: SearchResult, confident: bool = True, question: str = "disk full") -> Answer:
    return Answer(7, question, "U0ALICE", SearchResults(question, tuple(results), confident))


def texts(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def buttons(blocks: list[dict]) -> list[tuple[str, str]]:
    found = []
    for block in blocks:
        for element in [block.get("accessory"), *block.get("elements", [])]:
            if isinstance(element, dict) and element.get("type") == "button":
                found.append((element["action_id"], element["value"]))
    return found


def test_answer_shows_the_section_the_article_alternatives_and_feedback_buttons() -> None:
    best = result(text="Run `df -h` then:\n\n```bash\nsudo du -xh /var | sort -h\n```", url="https://kb.example.com/disk")
    text, blocks = build_reply(answer(best, result("log-rotation", title="Log rotation", section="Quick checks"),
                                      result("backup-failures", title="Backup failures", section="")))
    assert text == "📖 Disk space running out › Fix"
    assert blocks[0]["text"]["text"] == "📖 *<https://kb.example.com/disk|Disk space running out>* › Fix"
    assert "```\nsudo du -xh /var | sort -h\n```" in blocks[1]["text"]["text"]
    assert buttons(blocks) == [
        ("kb.show_article", "disk-space"), ("kb.show_article", "log-rotation"), ("kb.show_article", "backup-failures"),
        ("kb.solved", "7"), ("kb.ticket", "7"),
    ]
    assert "*Log rotation* › Quick checks" in texts(blocks) and "runbook `RB-INF-03`" in texts(blocks)
    assert not check_blocks(blocks, 50)


def test_at_most_two_alternatives_and_public_answers_name_the_asker() -> None:
    results = [result(f"a{n}", title=f"Article {n}") for n in range(3)]
    _, blocks = build_reply(answer(*results), public=True)
    assert [value for action, value in buttons(blocks) if action == "kb.show_article"] == ["a0", "a1", "a2"]
    assert "Asked by <@U0ALICE>" in texts(blocks)
    _, five = build_reply(answer(*[result(f"a{n}") for n in range(5)]))
    assert len([b for b in buttons(five) if b[0] == "kb.show_article"]) == 3


def test_long_sections_fit_slack_and_markup_in_titles_is_escaped() -> None:
    long_text = "\n\n".join(f"Step {n}: " + "restart the service " * 20 for n in range(40))
    evil = result(title="<!channel> & <@U1> *bold*", section="Fix <script>", text=long_text + "\n```\nopen")
    _, blocks = build_reply(answer(evil))
    assert all(len(b["text"]["text"]) <= SECTION_TEXT_LIMIT for b in blocks if "text" in b)
    assert blocks[1]["text"]["text"].endswith("…")
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in blocks[0]["text"]["text"]
    assert "<!channel>" not in texts(blocks) and "Fix &lt;script&gt;" in blocks[0]["text"]["text"]
    assert not check_blocks(blocks, 50)


def test_an_empty_section_still_renders() -> None:
    _, blocks = build_reply(answer(result(text="")))
    assert blocks[1]["text"]["text"].startswith("_This part has no text")


def test_low_confidence_says_so_and_offers_the_ticket_never_an_answer() -> None:
    weak = result(confident=False)
    text, blocks = build_reply(answer(weak, confident=False))
    assert text == "I'm not sure I have an answer for that."
    assert "might be related" in texts(blocks)
    assert buttons(blocks) == [("kb.show_article", "disk-space"), ("kb.ticket", "7"), ("kb.solved", "7")]
    assert "📖" not in texts(blocks)  # nothing is presented as the answer

    _, nothing = build_no_answer(answer(confident=False))
    assert buttons(nothing) == [("kb.ticket", "7")]
    assert not check_blocks(nothing, 50)


def test_the_matched_symptom_is_one_line_of_context_under_the_title() -> None:
    best = replace(result(section="Quick checks", text="1. `df -h`"), matched_section="Symptoms",
                   matched_text="Errors `No space left on device` <@U1> & " + "more " * 200)  # fmt: skip
    _, blocks = build_reply(answer(best))
    assert blocks[0]["text"]["text"].endswith("› Quick checks")
    matches = blocks[1]
    assert matches["type"] == "context"
    line = matches["elements"][0]["text"]
    assert line.startswith("🔎 Matches: Errors `No space left on device` &lt;@U1&gt; &amp;")
    assert len(line) <= 320 and line.endswith("…")
    assert blocks[2]["text"]["text"] == "1. `df -h`"
    assert not check_blocks(blocks, 50)
    assert [b["type"] for b in build_reply(answer(result()))[1][:3]] == ["section", "section", "context"]


def test_not_sure_lists_up_to_three_candidates_with_buttons_and_offers_a_ticket() -> None:
    candidates = [result(f"a{n}", title=f"Article {n}", section="Fix", confident=False) for n in range(4)]
    text, blocks = build_no_answer(answer(*candidates, confident=False, question="how do I reset my VPN"))
    assert text == "I'm not sure I have an answer for that."
    assert [value for action, value in buttons(blocks) if action == "kb.show_article"] == ["a0", "a1", "a2"]
    assert "*Article 0* › Fix" in texts(blocks) and "/issue new" in texts(blocks)
    assert ("kb.ticket", "7") in buttons(blocks)
    assert not check_blocks(blocks, 50)


def test_solved_keeps_the_answer_and_replaces_only_the_buttons() -> None:
    _, original = build_reply(answer(result()))
    text, blocks = build_solved(original)
    assert "Marked as solved" in text
    assert [b for b in blocks if b.get("block_id") == "kb.feedback"] == []
    assert blocks[0] == original[0] and blocks[-1]["type"] == "context"
    _, alone = build_solved(None)
    assert len(alone) == 1 and "Marked as solved" in alone[0]["text"]["text"]


def test_ticket_modal_is_the_issue_form_prefilled() -> None:
    draft = TicketDraft(7, "The VPN drops every hour <since monday>", "Network latency › Quick checks", True, "infrastructure")
    view = build_ticket_modal(draft)
    assert view["callback_id"] == "kb.ticket_form" and json.loads(view["private_metadata"]) == {"question": 7}
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["issue_new.title"]["initial_value"] == "The VPN drops every hour <since monday>"
    description = inputs["issue_new.description"]["initial_value"]
    assert "The VPN drops every hour" in description and "Network latency › Quick checks — it did not help" in description
    assert inputs["issue_new.priority"]["initial_option"]["value"] == "Medium"
    assert inputs["issue_new.category"]["initial_option"]["value"] == "infrastructure"
    assert not check_view(view)

    # What Slack sends back on submit is what /issue new's parser reads.
    values = {block_id: {"value": {"value": element.get("initial_value"), "selected_option": element.get("initial_option")}}
              for block_id, element in inputs.items()}
    parsed = parse_new_issue(FormValues(values))
    assert not isinstance(parsed, dict) and parsed.category.value == "infrastructure"


def test_ticket_modal_for_an_unanswered_question_leaves_the_category_to_the_person() -> None:
    view = build_ticket_modal(TicketDraft(3, "x" * 400, None, False, None))
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert "initial_option" not in inputs["issue_new.category"]
    assert len(inputs["issue_new.title"]["initial_value"]) <= 150
    assert "no answer" in inputs["issue_new.description"]["initial_value"]
    assert not check_view(view)


def test_gaps_list_groups_with_counts_and_issue_links() -> None:
    period = parse_period("month", NOW, timezone.utc)
    groups = [
        GapGroup("vpn drops <every> hour", 3, NOW, {"no_answer": 2, "ticket": 1}, (12,)),
        GapGroup("printer on fire", 1, NOW, {"not_helpful": 1}),
    ]
    text, blocks = build_gaps(GapReport(period, 4, groups))
    assert text.startswith("4 question(s) without a good answer in November 2026: 2 different")
    body = texts(blocks)
    assert "*3×* “vpn drops &lt;every&gt; hour”" in body and "2 no answer, 1 ticket (#12)" in body
    assert "1 didn't help" in body
    assert not check_blocks(blocks, 50)

    many = [GapGroup(f"question {n} " + "words " * 60, 1, NOW, {"no_answer": 1}) for n in range(60)]
    _, capped = build_gaps(GapReport(period, 60, many))
    assert len(capped) <= 50 and "…and 35 more" in texts(capped)
    assert all(len(b["text"]["text"]) <= SECTION_TEXT_LIMIT for b in capped if "text" in b)

    empty_text, _ = build_gaps(GapReport(period, 0, []))
    assert "found a good answer" in empty_text


def test_usage_names_every_way_to_ask() -> None:
    text, _ = build_usage()
    assert "/ask" in text and "mention" in text and "direct message" in text
