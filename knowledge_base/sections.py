"""Which part of an article answers a question: what to do, not the part that restates the problem.

People word questions like an article's Symptoms ("disk full on db server"), so the section whose
words match best is often the one that only describes what they already see. An answer leads with
an actionable section instead, and shows the best-matching symptom line as one line of context.

Heading families (a subsection without a family of its own inherits its parent's, so
"Mitigation › Purge volume" is a fix):
- CHECKS: Quick checks, Diagnosis, Troubleshooting, Investigation, Triage, Verification;
- FIX: Fix, Resolution, Remediation, Mitigation, Steps, What to do, Workaround, Solution, Procedure,
  Recovery, Runbook;
- anything else (Symptoms, Meaning, Impact, Escalate when, the introduction) is context.

The lead section, by the first rule that applies:
1. The question asks to find something out ("why", "which", "find", "check") → the checks; it asks
   to act ("fix", "reset", "renew", "restart", "clear", "roll back", "how do I") → the fix. The
   words count only as typed ("restart the worker" asks, "pods keep restarting" reports); when the
   article has no section of the asked family, the other actionable family serves.
2. Otherwise, a report of a state ("certificate expired"): the first actionable section in the
   article's order. Authors write checks before fixes, as a responder works; leading instead with
   the actionable section bm25 scored best was measured with bench/kb_eval.py and got one question
   fewer right, and it is harder to predict.
3. An article without an actionable section leads with its best-matching section, as before.

The matched line comes from the context sections (Symptoms, Meaning, ... first): the line sharing
the most idf-weighted concepts of the question, or the line naming the alert that selected it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from knowledge_base.models import Article, Section
from knowledge_base.query import AnalyzedQuery, tokenize


class Family(Enum):
    CHECKS = "checks"
    FIX = "fix"
    CONTEXT = "context"


CHECK_HEADINGS = ("quick check", "check", "diagnos", "troubleshoot", "investigat", "triage", "verif", "identify")
FIX_HEADINGS = (
    "fix", "resolution", "resolve", "remediat", "mitigat", "step", "what to do", "workaround", "solution",
    "procedure", "recover", "runbook", "how to",
)  # fmt: skip
"""Prefixes of heading words (lowercase): "Diagnosis" and "Diagnosing" are both checks."""
SYMPTOM_HEADINGS = ("symptom", "meaning", "sign", "description", "summary", "overview", "impact", "problem")
"""Context sections a matched line is taken from first."""

CHECK_INTENT = frozenset(
    "why which find check checks diagnose investigate debug troubleshoot identify verify confirm measure "
    "cause causes causing".split()
)
FIX_INTENT = frozenset(
    "fix resolve solve repair reset renew restart reload clear clean free rollback revert undo recover "
    "restore unlock unblock rotate configure flush purge extend resize enable disable replace rerun retry "
    "mitigate workaround steps procedure instructions template".split()
)
"""Words that ask for one family, counted only as typed in this form: "restart the worker" asks to
act, "pods keep restarting" reports a state."""
FIX_INTENT_PHRASES = ("how do", "how to", "how can", "how should", "roll back", "set up", "get rid",
                      "what do i do", "what should i do")  # fmt: skip

PREFIX_MIN = 4
"""Shortest prefix that still names the same word ("expir" for "expired" and "expiry")."""
MATCHED_LINE_LIMIT = 300
"""Characters kept of the matched line: one line of context, not a second answer."""

_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True, slots=True)
class SectionChoice:
    order: tuple[int, ...]
    """Section indices: the lead first, then the other sections worth offering, best first."""
    matched_section: int | None
    """The section the matched line comes from (None when no line matched)."""
    matched_line: str
    """The line of the article that matched the question best ("" when none did)."""


def family(section: Section) -> Family:
    """A heading's own family, else its nearest ancestor's."""
    for heading in reversed(section.heading_path):
        found = heading_family(heading)
        if found is not Family.CONTEXT:
            return found
    return Family.CONTEXT


@functools.lru_cache(maxsize=4096)
def heading_family(heading: str) -> Family:
    text = heading.lower()
    words = re.findall(r"[a-z]+", text)
    if any(word.startswith(prefix) for prefix in CHECK_HEADINGS for word in words):
        return Family.CHECKS
    if any(prefix in text if " " in prefix else any(w.startswith(prefix) for w in words) for prefix in FIX_HEADINGS):
        return Family.FIX
    return Family.CONTEXT


def intent(question: str) -> Family | None:
    """What the question asks for: CHECKS (find out), FIX (act), or None (it reports a state)."""
    tokens = tokenize(question)
    text = f" {' '.join(tokens)} "
    checks = sum(token in CHECK_INTENT for token in set(tokens))
    fixes = sum(token in FIX_INTENT for token in set(tokens)) + sum(f" {p} " in text for p in FIX_INTENT_PHRASES)
    if checks == fixes:
        return None
    return Family.CHECKS if checks > fixes else Family.FIX


def choose(
    article: Article,
    question: str,
    matched: Sequence[tuple[int, float]],
    query: AnalyzedQuery | None = None,
    idfs: Sequence[float] = (),
    *,
    alert: str | None = None,
) -> SectionChoice:
    """The lead section for `question`, the sections to offer next, and the matched line.

    `matched` is (section index, search score) for the sections whose words matched, best first;
    `alert` is the alert name that selected the article (its line is the one to show)."""
    sections = article.sections
    if not sections:
        return SectionChoice((), None, "")
    families = [family(section) for section in sections]
    actionable = [n for n, kind in enumerate(families) if kind is not Family.CONTEXT]
    best_matched = [n for n, _ in matched]
    if actionable:
        wanted = intent(question)
        preferred = [n for n in actionable if families[n] is wanted] if wanted else []
        lead = (preferred or actionable)[0]
        rest = [n for n in actionable if n != lead and families[n] is not families[lead]]
        rest += [n for n in best_matched if n != lead and n not in rest]
    else:
        lead = best_matched[0] if best_matched else 0
        rest = [n for n in best_matched if n != lead]
    rest += [n for n in range(len(sections)) if families[n] is not Family.CONTEXT and n not in rest and n != lead]
    where, line = matched_line(article, lead, query, idfs, alert) if query is not None else (None, "")
    return SectionChoice((lead, *rest), where, line)


def matched_line(
    article: Article, lead: int, query: AnalyzedQuery, idfs: Sequence[float] = (), alert: str | None = None
) -> tuple[int | None, str]:
    """The line of a context section that shares the most (idf-weighted) of the question's concepts:
    from the symptom-like sections when any of their lines shares one, else from the introduction,
    else from the other context sections; (None, "") when no line shares any. A line naming `alert`
    beats any other of its tier."""
    weights = list(idfs) or [1.0] * len(query.concepts)
    alert_name = alert.lower() if alert else None
    concepts = [
        ([tuple(stem(word) for word in phrase.split(" ")) for phrase in concept.phrases], weight)
        for concept, weight in zip(query.concepts, weights)
    ]
    best: tuple[int, float, int] | None = None  # (-tier, score, section)
    best_line = ""
    for number, section in enumerate(article.sections):
        if number == lead or family(section) is not Family.CONTEXT:
            continue
        tier = 0 if _symptom_like(section) else 1 if not section.heading else 2
        for line, words, keys in _indexed_lines(section.text):
            score = sum(weight for phrases, weight in concepts if any(_contains(words, keys, p) for p in phrases))
            if alert_name and alert_name in line.lower():
                score += 1000.0
            if score > 0 and (best is None or (-tier, score) > best[:2]):
                best, best_line = (-tier, score, number), line
    if best is None:
        return None, ""
    return best[2], _shorten(best_line)


def lines(markdown: str) -> list[str]:
    """A section's list items and paragraphs, one string each; code blocks and tables left out."""
    items: list[str] = []
    current: list[str] = []
    fenced = False

    def close() -> None:
        if current:
            items.append(" ".join(current))
            current.clear()

    for raw in markdown.splitlines():
        if _FENCE.match(raw):
            fenced = not fenced
            close()
            continue
        stripped = raw.strip()
        if fenced or stripped.startswith("|"):
            continue
        if not stripped:
            close()
        elif _LIST_MARKER.match(raw):
            close()
            current.append(_LIST_MARKER.sub("", raw).strip())
        else:
            current.append(stripped)
    close()
    return [item for item in items if item]


def stem(token: str) -> str:
    """A light suffix strip ("expired" -> "expir", "connections" -> "connection"): enough to find a
    line again; the ranking itself uses FTS5's porter stemmer."""
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)]
    return token


@functools.lru_cache(maxsize=8192)
def _indexed_lines(markdown: str) -> tuple[tuple[str, frozenset[str], frozenset[str]], ...]:
    """Each line with its words' stems, and those stems with their prefixes of PREFIX_MIN letters
    or more: matching is then set lookups. Cached: articles change only on reload."""
    indexed = []
    for line in lines(markdown):
        words = frozenset(stem(token) for token in tokenize(line))
        keys = frozenset(word[:end] for word in words for end in range(PREFIX_MIN, len(word) + 1)) | words
        indexed.append((line, words, keys))
    return tuple(indexed)


def _contains(words: frozenset[str], keys: frozenset[str], phrase: tuple[str, ...]) -> bool:
    """Every word of the phrase is in the line: equal, or the shorter (4+ letters) a prefix of the other."""
    return all(
        part in keys or any(part[:end] in words for end in range(PREFIX_MIN, len(part))) for part in phrase
    )


def _symptom_like(section: Section) -> bool:
    return _symptom_heading(section.heading)


@functools.lru_cache(maxsize=4096)
def _symptom_heading(heading: str) -> bool:
    words = re.findall(r"[a-z]+", heading.lower())
    return any(word.startswith(prefix) for prefix in SYMPTOM_HEADINGS for word in words)


def _shorten(line: str) -> str:
    if len(line) <= MATCHED_LINE_LIMIT:
        return line
    cut = line.rfind(" ", 0, MATCHED_LINE_LIMIT - 1)
    return line[: cut if cut > MATCHED_LINE_LIMIT // 2 else MATCHED_LINE_LIMIT - 1].rstrip() + "…"
