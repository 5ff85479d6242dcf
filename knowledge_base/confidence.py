"""When the best article can be given as the answer, and when the bot says it is not sure.

The rule, applied to the best-ranked article (the others are only ever shown as candidates):
1. Alert: the question names an alert the article lists in its front matter → confident.
2. Coverage (absolute): the idf-weighted share of the question's concepts the article contains
   (full credit in its title, headings, tags or alerts; BODY_ONLY_CREDIT for the body only) is at
   least CONFIDENT_COVERAGE. "What's for lunch" shares nothing topical with an operations KB.
3. Nothing the question is about belongs to another candidate (term coverage): the best article
   must not lack a concept that carries at least MISSING_SHARE of the question's idf weight while
   another of the top COMPETITORS articles is about it (title, headings, tags or alerts). Then the
   question joins two subjects and neither article covers it: "How do I reset my VPN" finds the
   network-latency article (it has a "vpn" tag) and the password-reset article, and neither speaks
   of both; the honest reply is "not sure" with both as candidates. A small or common word missing
   ("server" in "disk full on db server", "failed" beside "pvc errors") does not count.

Scores are relative: the first result's score is its coverage and later ones are scaled by their
rank against it, so a list never shows a later result as more certain. A margin rule (not sure
when the runner-up ranks within 90 % of the best) was measured with bench/kb_eval.py and left
out: close runners-up are mostly neighbouring articles that would both
help (slow responses / service down); it turned 4 of 80 right answers on the bundled questions
into "not sure" to catch 1 wrong one, and 3 of 58 on the runbooks for none.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

CONFIDENT_COVERAGE = 0.45
"""Minimum coverage for a confident answer, calibrated on bench/kb_questions_*.yaml."""
BODY_ONLY_CREDIT = 0.4
"""A concept in the title, headings, tags or alerts is what the article is about; one only in
the body may be incidental ("days", "leave", "left" all occur in a long runbook)."""
MISSING_SHARE = 0.25
"""A missing concept with less of the question's weight is a detail, not a second subject."""
COMPETITORS = 3
"""Articles considered as the question's other possible subject: the candidates a reply shows."""


@dataclass(frozen=True, slots=True)
class ConceptSpread:
    """Where one concept of the question occurs in the knowledge base."""

    label: str
    share: float
    """Its idf weight as a share of the whole question's."""
    anywhere: Collection[int]
    """Article numbers mentioning it anywhere."""
    topical: Collection[int]
    """Article numbers with it in the title, headings, tags or alerts."""


@dataclass(frozen=True, slots=True)
class Verdict:
    confident: bool
    reason: str
    """Why, in a few words, for diagnostics and the CLI's --json."""
    missing: tuple[str, ...] = ()
    """Concepts of the question the article lacks and another candidate is about."""


def judge(
    article: int, coverage: float, alert: str | None, concepts: Sequence[ConceptSpread], competitors: Collection[int]
) -> Verdict:
    """Rules 1-3 for one article; `competitors` are the top-ranked articles (it may be among them)."""
    if alert:
        return Verdict(True, f"names the alert {alert}")
    if coverage < CONFIDENT_COVERAGE:
        return Verdict(False, f"coverage {coverage:.2f} below {CONFIDENT_COVERAGE}")
    others = [number for number in competitors if number != article]
    missing = tuple(
        c.label
        for c in concepts
        if c.share >= MISSING_SHARE and article not in c.anywhere and any(n in c.topical for n in others)
    )
    if missing:
        return Verdict(False, "lacks " + ", ".join(repr(label) for label in missing) + ", which another candidate is about", missing)
    return Verdict(True, f"coverage {coverage:.2f}")
