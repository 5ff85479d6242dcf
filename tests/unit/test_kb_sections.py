"""Which section an answer leads with: the actionable one, with the matched symptom line as context."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base import KnowledgeBase
from knowledge_base.loading import parse_article
from knowledge_base.models import Article, Section
from knowledge_base.query import AnalyzedQuery, Vocabulary, analyze
from knowledge_base.sections import Family, choose, family, heading_family, intent, lines, matched_line

DISK = """---
title: Disk space
---

# Disk space

Disks fill up when logs are not rotated.

## Symptoms

- `DiskSpaceLow` fires.
- Errors `No space left on device` on the db server.

## Quick checks

1. `df -h`

## Fix

- Truncate the log.

## Escalate when

- The database volume is above 90 %.
"""


def article(markdown: str) -> Article:
    parsed = parse_article(Path("/kb/a.md"), Path("/kb"), markdown, "a")
    assert parsed is not None
    return parsed


def query(text: str) -> AnalyzedQuery:
    return analyze(text, Vocabulary([["disk full", "no space left"], ["db", "database"]], ["on", "the", "is"]))


def headings(found: Article, order: tuple[int, ...]) -> list[str]:
    return [found.sections[number].heading for number in order]


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Quick checks", Family.CHECKS),
        ("Diagnosis", Family.CHECKS),
        ("Troubleshooting", Family.CHECKS),
        ("Fix", Family.FIX),
        ("How to fix it", Family.FIX),
        ("Resolution", Family.FIX),
        ("Remediation", Family.FIX),
        ("Mitigation", Family.FIX),
        ("Steps", Family.FIX),
        ("What to do", Family.FIX),
        ("Symptoms", Family.CONTEXT),
        ("Meaning", Family.CONTEXT),
        ("Impact", Family.CONTEXT),
        ("Escalate when", Family.CONTEXT),
        ("", Family.CONTEXT),
    ],
)
def test_headings_fall_into_families(heading: str, expected: Family) -> None:
    assert heading_family(heading) is expected


def test_a_subsection_inherits_its_parents_family() -> None:
    purge = Section("Purge volume", ("Mitigation", "Purge volume"), 3, "rm -rf", "purge-volume")
    assert family(purge) is Family.FIX
    slow = Section("Slow disk", ("Diagnosis", "Slow disk"), 3, "iostat", "slow-disk")
    assert family(slow) is Family.CHECKS


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how do I renew the certificate", Family.FIX),
        ("restart the worker that ran out of memory", Family.FIX),
        ("roll back the release", Family.FIX),
        ("which query is making the database slow", Family.CHECKS),
        ("why is the site so slow", Family.CHECKS),
        ("how do I find which query is slow", Family.CHECKS),  # two words to find out, one to act
        ("certificate expired", None),
        ("pods keep restarting", None),  # "restarting" reports a state, "restart" would ask to act
        ("disk full on db server", None),
    ],
)
def test_intent_comes_from_base_form_words(question: str, expected: Family | None) -> None:
    assert intent(question) is expected


def test_a_report_of_a_state_leads_with_the_first_actionable_section() -> None:
    disk = article(DISK)
    choice = choose(disk, "disk full on db server", [(1, 9.0), (4, 2.0)], query("disk full on db server"))
    assert headings(disk, choice.order) == ["Quick checks", "Fix", "Symptoms", "Escalate when"]
    assert disk.sections[choice.matched_section].heading == "Symptoms"
    assert choice.matched_line == "Errors `No space left on device` on the db server."


def test_a_how_to_leads_with_the_fix_and_a_why_with_the_checks() -> None:
    disk = article(DISK)
    assert headings(disk, choose(disk, "how do I free up disk space", [(1, 9.0)]).order)[:2] == ["Fix", "Quick checks"]
    assert headings(disk, choose(disk, "why is the disk full", [(1, 9.0)]).order)[0] == "Quick checks"


def test_the_other_actionable_family_serves_when_the_asked_one_is_missing() -> None:
    only_fix = article("# Cache\n\n## Symptoms\n\nOld pages.\n\n## Resolution\n\nFlush it.\n")
    assert headings(only_fix, choose(only_fix, "why are pages old", [(1, 3.0)]).order)[0] == "Resolution"


def test_without_actionable_sections_the_best_match_leads_as_before() -> None:
    notes = article("# Notes\n\n## Background\n\nHistory.\n\n## Contacts\n\nAsk Bob about the disk.\n")
    choice = choose(notes, "disk", [(1, 4.0), (0, 1.0)])
    assert headings(notes, choice.order) == ["Contacts", "Background"]
    assert choose(article("Just text, no headings."), "disk", []).order in {(), (0,)}


def test_the_alert_line_is_the_matched_line() -> None:
    disk = article(DISK)
    choice = choose(disk, "", [], AnalyzedQuery("DiskSpaceLow", (), ("DiskSpaceLow",)), alert="DiskSpaceLow")
    assert headings(disk, choice.order)[0] == "Quick checks"
    assert choice.matched_line == "`DiskSpaceLow` fires."


def test_no_matched_line_when_nothing_shares_a_word() -> None:
    disk = article(DISK)
    assert matched_line(disk, 2, query("printer jammed")) == (None, "")


def test_symptom_lines_come_before_the_introduction() -> None:
    disk = article(DISK)
    where, line = matched_line(disk, 2, query("disk full logs rotated"), [1.0, 1.0, 1.0])
    assert disk.sections[where].heading == "Symptoms" and "No space left" in line
    where, line = matched_line(disk, 2, query("logs rotated"))
    assert disk.sections[where].heading == "" and line.startswith("Disks fill up")


def test_lines_are_items_and_paragraphs_without_code_or_tables() -> None:
    text = (
        "First paragraph\ncontinues here.\n\n- one item\n  wrapped\n- `two`\n\n"
        "```bash\n- not an item\n```\n\n| a | b |\n|---|---|\n\n1. numbered\n"
    )
    assert lines(text) == ["First paragraph continues here.", "one item wrapped", "`two`", "numbered"]


EVERYDAY = [
    "disk full on db server",
    "site is slow after deploy",
    "certificate expired",
    "I can't log in",
    "too many connections on postgres",
    "backup failed last night",
    "server running out of memory",
    "emails are not being delivered",
    "cron job didn't run",
    "replica is lagging behind",
]


@pytest.fixture(scope="module")
def bundled() -> KnowledgeBase:
    return KnowledgeBase.load_default()


@pytest.mark.parametrize("question", EVERYDAY)
def test_everyday_questions_lead_with_what_to_do(bundled: KnowledgeBase, question: str) -> None:
    results = bundled.search(question)
    assert results.is_confident
    best = results.best
    assert best.section in {"Quick checks", "Fix"}
    assert best.matched_text and best.matched_section != best.section


def test_a_how_to_question_gets_the_fix(bundled: KnowledgeBase) -> None:
    best = bundled.search("how do I renew the certificate").best
    assert (best.article_id, best.section) == ("tls-certificate-expiry", "Fix")
    assert "certbot renew" in best.text
    assert [alt.section for alt in best.alternatives][0] == "Quick checks"
