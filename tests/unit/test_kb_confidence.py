"""The confidence rule: when the best article is the answer and when the reply is "not sure"."""

from __future__ import annotations

import pytest

from knowledge_base import KnowledgeBase
from knowledge_base.confidence import CONFIDENT_COVERAGE, MISSING_SHARE, ConceptSpread, judge

LATENCY, RESETS, DISK = 0, 1, 2
VPN = ConceptSpread("vpn", 0.63, anywhere={LATENCY}, topical={LATENCY})
RESET = ConceptSpread("reset", 0.37, anywhere={RESETS}, topical={RESETS})


def test_an_alert_named_in_the_question_is_always_confident() -> None:
    verdict = judge(DISK, 0.0, "DiskSpaceLow", [VPN, RESET], [LATENCY, RESETS])
    assert verdict.confident and "DiskSpaceLow" in verdict.reason


def test_low_coverage_is_not_sure() -> None:
    verdict = judge(LATENCY, CONFIDENT_COVERAGE - 0.01, None, [VPN], [LATENCY])
    assert not verdict.confident and "coverage" in verdict.reason
    assert judge(LATENCY, CONFIDENT_COVERAGE, None, [VPN], [LATENCY]).confident


def test_a_missing_concept_another_candidate_is_about_makes_it_not_sure() -> None:
    verdict = judge(LATENCY, 0.63, None, [VPN, RESET], [LATENCY, RESETS])
    assert not verdict.confident
    assert verdict.missing == ("reset",) and "'reset'" in verdict.reason


def test_a_missing_concept_counts_only_when_a_shown_candidate_is_about_it() -> None:
    body_only = ConceptSpread("reset", 0.37, anywhere={RESETS}, topical=set())
    assert judge(LATENCY, 0.63, None, [VPN, body_only], [LATENCY, RESETS]).confident
    assert judge(LATENCY, 0.63, None, [VPN, RESET], [LATENCY, DISK]).confident  # its article is not a candidate


def test_a_small_missing_concept_is_a_detail() -> None:
    server = ConceptSpread("server", MISSING_SHARE - 0.01, anywhere={LATENCY}, topical={LATENCY})
    assert judge(DISK, 0.68, None, [server], [DISK, LATENCY]).confident


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load_default()


def test_reset_my_vpn_is_not_sure_with_both_subjects_as_candidates(kb: KnowledgeBase) -> None:
    results = kb.search("How do I reset my VPN")
    assert not results.is_confident
    assert {"network-latency", "password-resets"} <= {result.article_id for result in results}
    assert "'reset'" in results.diagnostics["confidence"]


@pytest.mark.parametrize(
    "question", ["disk full on db server", "how do I reset my password", "my VPN keeps disconnecting"]
)
def test_questions_an_article_covers_stay_confident(kb: KnowledgeBase, question: str) -> None:
    results = kb.search(question)
    assert results.is_confident and results.best.confident
