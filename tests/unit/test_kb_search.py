"""Search behaviour on the bundled KB: synonyms, alert names, confidence, hostile input."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from knowledge_base import KnowledgeBase, SearchResults

RUNBOOKS = Path(__file__).resolve().parents[1] / "fixtures" / "kb-corpora" / "prometheus-runbooks"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load_default()


def top(results: SearchResults) -> str:
    assert results, f"no result for {results.query!r}"
    return results[0].article_id


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("db connections timing out", "database-connection-timeouts"),
        ("the site is really slow", "slow-responses"),
        ("spike of server errors", "http-5xx-spike"),
        ("lots of 500s", "http-5xx-spike"),
        ("the ssl cert is about to expire", "tls-certificate-expiry"),
        ("worker got oom killed", "memory-leaks"),
        ("out of memory on the worker", "memory-leaks"),
        ("processor pegged at 100%", "high-cpu"),
        ("how do I reset my pw", "password-resets"),
        ("can't sign in", "login-problems"),
        ("scheduled task did not run", "failed-scheduled-tasks"),
        ("storage almost full", "disk-space"),
    ],
)
def test_synonyms_and_abbreviations_find_the_article(kb: KnowledgeBase, question: str, expected: str) -> None:
    results = kb.search(question)
    assert top(results) == expected
    assert results.is_confident


def test_synonyms_of_one_idea_count_once(kb: KnowledgeBase) -> None:
    concepts = kb.analyze("db database postgres timeout").concepts
    assert [concept.label for concept in concepts] == ["db", "timeout"]
    assert "database" in concepts[0].phrases and "postgres" in concepts[0].phrases


def test_multi_word_synonyms_survive_stop_words(kb: KnowledgeBase) -> None:
    labels = [concept.label for concept in kb.analyze("I can't log in and it keeps timing out").concepts]
    assert labels == ["log in", "timing out"]


def test_results_are_one_per_article_with_section_and_alternatives(kb: KnowledgeBase) -> None:
    results = kb.search("connection pool exhausted, too many connections", limit=3)
    ids = [result.article_id for result in results]
    assert len(ids) == len(set(ids)) == 3
    best = results[0]
    assert best.article_id == "connection-pool-exhaustion"
    assert best.section in {"Symptoms", "Quick checks", "Fix", "Escalate when", ""}
    assert best.text and best.path.name == "connection-pool-exhaustion.md"
    assert best.category == "database" and best.runbook == "RB-DB-02"
    assert len(best.alternatives) <= 2
    assert all(alt.section != best.section for alt in best.alternatives)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert all(0.0 <= r.score <= 1.0 for r in results)


def test_alert_name_in_the_question_selects_its_article(kb: KnowledgeBase) -> None:
    results = kb.search("PostgresTooManyConnections fired on db-01")
    assert top(results) == "connection-pool-exhaustion"
    assert results[0].matched_alert == "PostgresTooManyConnections"
    assert results.is_confident


def test_search_for_alert_opens_the_quick_checks(kb: KnowledgeBase) -> None:
    result = kb.search_for_alert(alertname="HighErrorRate", title="High 5xx rate on checkout")
    assert result is not None
    assert result.article_id == "http-5xx-spike"
    assert result.section == "Quick checks"
    assert result.matched_alert == "HighErrorRate" and result.confident
    assert [alt.section for alt in result.alternatives][0] == "Fix"


def test_search_for_alert_is_case_insensitive(kb: KnowledgeBase) -> None:
    assert kb.search_for_alert("certificateexpiringsoon").article_id == "tls-certificate-expiry"


def test_unknown_alert_falls_back_to_a_confident_search_only(kb: KnowledgeBase) -> None:
    result = kb.search_for_alert("DiskAlmostFullOnDb01", "Disk almost full on db-01")
    assert result is not None and result.article_id == "disk-space" and result.matched_alert is None
    assert kb.search_for_alert("LunchMenuMissing", "No lunch menu today") is None


@pytest.mark.parametrize(
    "question",
    ["what's for lunch", "how do I book holiday", "happy birthday Sarah!", "what's the wifi password for guests"],
)
def test_off_topic_questions_are_not_confident(kb: KnowledgeBase, question: str) -> None:
    results = kb.search(question)
    assert not results.is_confident
    assert all(not result.confident for result in results)


HOSTILE = [
    "",
    "   ",
    '"',
    '"unbalanced',
    "(((",
    "a) OR (b",
    "NEAR(disk full, 2)",
    "disk NEAR full",
    "*",
    "disk*",
    "-disk",
    "NOT disk",
    "disk AND",
    "OR OR OR",
    "{title}: disk",
    "title:disk",
    "^disk",
    "disk:*",
    "'; DROP TABLE articles; --",
    "\x00disk\x00",
    "数据库 连接 超时",
    "né-ar çà ü",
    "🔥 disk full 🔥",
    "x" * 10_000,
    " ".join(["disk"] * 2_000),
    "a.b.c.d e-f-g h_i_j",
    "\\ \\\\ \" '",
]


@pytest.mark.parametrize("question", HOSTILE)
def test_hostile_input_never_breaks_the_query(kb: KnowledgeBase, question: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="knowledge_base"):
        results = kb.search(question, limit=3)
    assert isinstance(results, SearchResults)
    assert len(results) <= 3
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_limit_is_respected(kb: KnowledgeBase) -> None:
    assert len(kb.search("database", limit=1)) == 1
    assert len(kb.search("database", limit=0)) == 0
    assert len(kb.search("database", limit=12)) == 12


def test_runbook_alerts_come_from_file_names() -> None:
    runbooks = KnowledgeBase.load([RUNBOOKS])
    assert top(runbooks.search("pods keep restarting")) == "kubernetes/KubePodCrashLooping"
    result = runbooks.search_for_alert("KubePodCrashLooping", "Pod is crash looping")
    assert result.article_id == "kubernetes/KubePodCrashLooping"
    assert result.section == "Diagnosis"
