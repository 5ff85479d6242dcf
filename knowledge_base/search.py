"""Section-level search over an in-memory SQLite FTS5 index (porter stemmer, bm25 ranking).

Two FTS5 tables share one tokenizer: `sections` (one row per section, carrying its article's
title, tags and alerts so the article's subject counts for every part of it) and `articles`
(one row per whole article, so words spread over Symptoms and Fix still add up). An article's
rank mixes both; the section shown is the best-ranked section of that article.

Each concept of the question (a word or a synonym group) is scored by its best alternative, so
synonyms never add up. Coverage is the idf-weighted share of the question's concepts an article
contains, full credit when a concept is in its title, headings, tags or alerts, partial when only
in the body. Rank is bm25 scaled by coverage; whether the best article may be given as the answer
is decided in knowledge_base/confidence.py, and which of its sections leads in
knowledge_base/sections.py (what to do, not the symptoms the question restates).
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from knowledge_base import sections as section_choice
from knowledge_base.confidence import BODY_ONLY_CREDIT, COMPETITORS, ConceptSpread, Verdict, judge
from knowledge_base.models import Article, SearchResult, SearchResults, SectionMatch
from knowledge_base.query import AnalyzedQuery, Vocabulary, analyze, fts_phrase

log = logging.getLogger(__name__)

TOKENIZER = "porter unicode61 remove_diacritics 2"
COLUMN_WEIGHTS = (8.0, 4.0, 4.0, 1.0)
"""bm25() weights for (title, headings, keywords = tags + alerts + category, body)."""
ARTICLE_WEIGHT = 0.5
"""Share of an article's rank that comes from the whole-article row (the rest: its best section)."""
COVERAGE_FLOOR = 0.5
"""Rank = bm25 share x (COVERAGE_FLOOR + coverage): coverage reorders, bm25 still counts."""
ARTICLE_CANDIDATES = 100
SHORTLIST = 10
"""Articles whose sections are scored and whose final rank mixes in their best section."""
SECTION_CANDIDATES = 300
MAX_ALTERNATIVES = 2
TEMPLATE_HEADING_SHARE = 0.25

_LINK_TARGET = re.compile(r"\]\((?:<[^>]*>|[^)\s]*)(?:\s+\"[^\"]*\")?\)")
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:.*$", re.MULTILINE)
_NOISE = re.compile(r"<[^>\n]+>|\{\{[<%].*?[>%]\}\}|https?://\S+")
_CAMEL_HUMPS = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True, slots=True)
class _Candidate:
    article: int
    rank: float
    coverage: float
    sections: tuple[tuple[int, float], ...]
    """(section index in the article, section score), best first."""
    alert: str | None = None
    verdict: Verdict | None = None


class SearchIndex:
    """Built once per load; reload builds a new one and swaps it in."""

    def __init__(self, articles: Sequence[Article], vocabulary: Vocabulary) -> None:
        self.articles = tuple(articles)
        self._section_keys: list[tuple[int, int]] = []
        self._section_rowids: dict[int, tuple[int, int]] = {}
        self._articles_by_alert: dict[str, list[int]] = defaultdict(list)
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self.vocabulary = vocabulary.without_duplicates(self._stems(vocabulary.all_phrases()))
        self._build()

    def _build(self) -> None:
        columns = "title, headings, keywords, body"
        self._db.execute(f"CREATE VIRTUAL TABLE sections USING fts5({columns}, tokenize='{TOKENIZER}')")
        self._db.execute(f"CREATE VIRTUAL TABLE articles USING fts5({columns}, tokenize='{TOKENIZER}')")
        article_rows, section_rows = [], []
        template = template_headings(self.articles)
        for number, article in enumerate(self.articles):
            for alert in article.alerts:
                self._articles_by_alert[alert.lower()].append(number)
            keywords = " ".join(
                [*article.tags, *article.alerts, *(_CAMEL_HUMPS.sub(" ", a) for a in article.alerts), article.category]
            )
            headings = " ".join(s.heading for s in article.sections if s.heading.lower() not in template)
            article_rows.append((number + 1, article.title, headings, keywords, searchable(article.markdown)))
            if article.sections:
                first = len(self._section_keys) + 1
                self._section_rowids[number] = (first, first + len(article.sections) - 1)
            for section_number, section in enumerate(article.sections):
                self._section_keys.append((number, section_number))
                section_rows.append(
                    (
                        len(self._section_keys),
                        article.title,
                        " ".join(h for h in section.heading_path if h.lower() not in template),
                        keywords,
                        searchable(section.text),
                    )
                )
        self._db.executemany("INSERT INTO articles(rowid, title, headings, keywords, body) VALUES (?,?,?,?,?)", article_rows)
        self._db.executemany("INSERT INTO sections(rowid, title, headings, keywords, body) VALUES (?,?,?,?,?)", section_rows)

    def _stems(self, phrases: set[str]) -> dict[str, tuple[str, ...]]:
        """Each phrase as the index's tokenizer sees it (porter stems), via a scratch FTS5 table."""
        ordered = sorted(phrases)
        self._db.execute(f"CREATE VIRTUAL TABLE scratch USING fts5(phrase, tokenize='{TOKENIZER}')")
        self._db.execute("CREATE VIRTUAL TABLE scratch_terms USING fts5vocab(scratch, instance)")
        self._db.executemany("INSERT INTO scratch(rowid, phrase) VALUES (?, ?)", enumerate(ordered, 1))
        terms: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for term, row, offset in self._db.execute("SELECT term, doc, offset FROM scratch_terms"):
            terms[row].append((offset, term))
        self._db.execute("DROP TABLE scratch_terms")
        self._db.execute("DROP TABLE scratch")
        return {phrase: tuple(term for _, term in sorted(terms[row])) for row, phrase in enumerate(ordered, 1)}

    def search(self, text: str, limit: int = 3) -> SearchResults:
        query = analyze(text, self.vocabulary)
        candidates, diagnostics = self._rank(query, limit)
        if candidates and candidates[0].verdict is not None:
            diagnostics["confidence"] = candidates[0].verdict.reason
        idfs = [concept["idf"] for concept in diagnostics.get("concepts", ())]
        results = self._results(candidates[: max(limit, 0)], query, idfs)
        return SearchResults(text, results, bool(results) and results[0].confident, diagnostics)

    def article_index_for_alert(self, alertname: str) -> int | None:
        matches = self._articles_by_alert.get(alertname.lower())
        return matches[0] if matches else None

    def best_section_for_alert(self, number: int, alertname: str) -> SearchResult:
        """The article an alert names, opened at what to do now ("Quick checks", "Diagnosis").

        The alert's own title describes the symptom the responder already sees, so it is not
        used to pick the section; the next steps ("Fix", "Mitigation") come as alternatives."""
        candidate = _Candidate(number, 1.0, 1.0, (), alert=alertname)
        return self._results([candidate], AnalyzedQuery(alertname, (), (alertname,)), [])[0]

    def _rank(self, query: AnalyzedQuery, limit: int) -> tuple[list[_Candidate], dict]:
        alert_hits = self._alert_hits(query)
        if not query.concepts and not alert_hits:
            return [], {"concepts": []}

        matches = [self._articles_matching(concept.fts_expression()) for concept in query.concepts]
        total = len(self.articles)
        idfs = [math.log(1 + (total - len(anywhere) + 0.5) / (len(anywhere) + 0.5)) for anywhere, _ in matches]
        idf_total = sum(idfs) or 1.0

        def coverage(number: int) -> float:
            if number in alert_hits:
                return 1.0
            credit = sum(
                idf * (1.0 if number in topical else BODY_ONLY_CREDIT if number in anywhere else 0.0)
                for idf, (anywhere, topical) in zip(idfs, matches)
            )
            return credit / idf_total

        article_scores = {
            rowid - 1: score for rowid, score in self._concept_scores("articles", query, ARTICLE_CANDIDATES).items()
        }
        coverages = {number: coverage(number) for number in set(article_scores) | set(alert_hits)}
        best_article = max(article_scores.values(), default=0.0) or 1.0
        # Sections are scored only for the articles that can still reach the top: scoring every
        # section of a 1,000-article KB for "pod" or "node" would cost more than all the rest.
        shortlist = sorted(article_scores, key=lambda n: -article_scores[n] * (COVERAGE_FLOOR + coverages[n]))
        shortlist = [*alert_hits, *(n for n in shortlist[: max(SHORTLIST, limit)] if n not in alert_hits)]
        sections = self._sections_by_article(query, shortlist)
        best_section = max((found[0][1] for found in sections.values() if found), default=0.0) or 1.0

        candidates = []
        for number in shortlist:
            found = sections.get(number, ())
            bm25_share = ARTICLE_WEIGHT * article_scores.get(number, 0.0) / best_article
            bm25_share += (1 - ARTICLE_WEIGHT) * (found[0][1] if found else 0.0) / best_section
            rank = bm25_share * (COVERAGE_FLOOR + coverages[number])
            candidates.append(_Candidate(number, rank, coverages[number], found, alert_hits.get(number)))
        candidates.sort(key=lambda c: (c.alert is None, -c.rank))
        spreads = [
            ConceptSpread(c.label, idf / idf_total, anywhere, topical)
            for c, (anywhere, topical), idf in zip(query.concepts, matches, idfs)
        ]
        competitors = [c.article for c in candidates[:COMPETITORS]]
        candidates = [
            replace(c, verdict=judge(c.article, c.coverage, c.alert, spreads, competitors)) for c in candidates
        ]
        diagnostics = {
            "concepts": [
                {"label": c.label, "articles": len(anywhere), "topical": len(topical), "idf": round(idf, 3)}
                for c, (anywhere, topical), idf in zip(query.concepts, matches, idfs)
            ],
            "alerts": sorted(alert_hits.values()),
        }
        return candidates, diagnostics

    def _alert_hits(self, query: AnalyzedQuery) -> dict[int, str]:
        """Articles whose front matter lists an alert named in the question, with that name."""
        hits: dict[int, str] = {}
        for identifier in query.identifiers:
            for number in self._articles_by_alert.get(identifier.lower(), ()):
                hits.setdefault(number, identifier)
        return hits

    def _sections_by_article(self, query: AnalyzedQuery, articles: list[int]) -> dict[int, tuple[tuple[int, float], ...]]:
        scores = self._concept_scores("sections", query, SECTION_CANDIDATES, articles=articles)
        found: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for rowid, score in scores.items():
            number, section_number = self._section_keys[rowid - 1]
            found[number].append((section_number, score))
        return {number: tuple(sorted(items, key=lambda item: -item[1])) for number, items in found.items()}

    def _results(
        self, candidates: Sequence[_Candidate], query: AnalyzedQuery, idfs: Sequence[float]
    ) -> tuple[SearchResult, ...]:
        """Scores fall with rank: the first result's score is its coverage, the others are scaled
        by their rank relative to it, so a list never shows a later result as more certain.
        Only the first (the answer) gets the matched line: the others are shown as titles."""
        results, ceiling, reference = [], 1.0, None
        for position, candidate in enumerate(candidates):
            if candidate.alert:
                score = 1.0
            else:
                reference = reference or candidate
                score = reference.coverage * candidate.rank / (reference.rank or 1.0)
            ceiling = min(ceiling, score)
            confident = candidate.alert is not None or (candidate.verdict is not None and candidate.verdict.confident)
            results.append(self._result(candidate, ceiling, confident, query, idfs, with_line=position == 0))
        return tuple(results)

    def _result(
        self,
        candidate: _Candidate,
        score: float,
        confident: bool,
        query: AnalyzedQuery,
        idfs: Sequence[float],
        *,
        with_line: bool,
    ) -> SearchResult:
        """The article opened at its actionable section (knowledge_base/sections.py)."""
        article = self.articles[candidate.article]
        choice = section_choice.choose(
            article, query.text, candidate.sections, query if with_line else None, idfs, alert=candidate.alert
        )
        section = article.sections[choice.order[0]] if choice.order else None
        scores = dict(candidate.sections)
        top = max(scores.values(), default=0.0) or 1.0
        alternatives = tuple(
            SectionMatch(
                article.sections[number].display_heading,
                article.sections[number].anchor,
                round(score * scores.get(number, 0.0) / top, 4),
                article.sections[number].text,
            )
            for number in choice.order[1 : 1 + MAX_ALTERNATIVES]
        )
        matched = article.sections[choice.matched_section] if choice.matched_section is not None else None
        return SearchResult(
            article_id=article.article_id,
            path=article.path,
            title=article.title,
            section=section.display_heading if section else "",
            score=round(score, 4),
            confident=confident,
            text=section.text if section else article.markdown,
            url=article.url,
            category=article.category,
            runbook=article.runbook,
            anchor=section.anchor if section else "",
            matched_alert=candidate.alert,
            alternatives=alternatives,
            matched_section=matched.display_heading if matched else "",
            matched_text=choice.matched_line,
            draft=article.is_draft,
        )

    def _articles_matching(self, expression: str) -> tuple[frozenset[int], frozenset[int]]:
        """(articles containing the concept anywhere, articles where it is in title, headings or keywords)."""
        anywhere = self._execute("SELECT rowid FROM articles WHERE articles MATCH ?", (expression,))
        topical = self._execute(
            "SELECT rowid FROM articles WHERE articles MATCH ?", (f"{{title headings keywords}} : ({expression})",)
        )
        return frozenset(r - 1 for (r,) in anywhere), frozenset(r - 1 for (r,) in topical)

    def _concept_scores(
        self, table: str, query: AnalyzedQuery, limit: int, articles: Sequence[int] | None = None
    ) -> dict[int, float]:
        """rowid -> score for the best `limit` rows.

        Each alternative of a concept is scored by bm25() on its own and a concept counts with
        its best alternative, so "db", "database" and "postgres" in one article count once.
        The grouping runs inside SQLite: Python only sees the best rows."""
        if not query.concepts:
            return {}
        weights = ", ".join(map(str, COLUMN_WEIGHTS))
        only = ""
        if articles is not None:
            # An article's sections have consecutive rowids: FTS5 seeks rowid ranges directly.
            ranges = [self._section_rowids[n] for n in articles if self._section_rowids.get(n)]
            if not ranges:
                return {}
            only = " AND (" + " OR ".join(f"rowid BETWEEN {low} AND {high}" for low, high in ranges) + ")"
        selects, parameters = [], []
        for number, concept in enumerate(query.concepts):
            for phrase in concept.phrases:
                selects.append(
                    f"SELECT {number} AS concept, rowid AS id, bm25({table}, {weights}) AS score "
                    f"FROM {table} WHERE {table} MATCH ?{only}"
                )
                parameters.append(fts_phrase(phrase))
        sql = (
            f"WITH hits AS MATERIALIZED ({' UNION ALL '.join(selects)}), "
            "best AS (SELECT concept, id, min(score) AS score FROM hits GROUP BY concept, id) "
            "SELECT id, -sum(score) FROM best GROUP BY id ORDER BY sum(score) LIMIT ?"
        )
        return dict(self._execute(sql, (*parameters, limit)))

    def _execute(self, sql: str, parameters: tuple) -> list[tuple]:
        try:
            return self._db.execute(sql, parameters).fetchall()
        except sqlite3.Error:
            # The query builder only emits quoted word phrases; reaching this is a bug, not user error.
            log.exception("knowledge base query failed: %r", parameters)
            return []


def template_headings(articles: Sequence[Article]) -> frozenset[str]:
    """Headings most articles share ("Symptoms", "Fix", "Mitigation"): structure, not topic.

    Indexed, they would make "escalate" match every article's "Escalate when" and drown the one
    article that is about escalating."""
    counts: dict[str, int] = defaultdict(int)
    for article in articles:
        for heading in {section.heading.lower() for section in article.sections}:
            counts[heading] += 1
    floor = max(TEMPLATE_HEADING_SHARE * len(articles), 3)
    return frozenset(heading for heading, count in counts.items() if count >= floor)


def searchable(markdown: str) -> str:
    """Text to index: link targets, URLs, HTML tags and shortcodes dropped (paths are not topics)."""
    text = _LINK_TARGET.sub("]", markdown)
    text = _REFERENCE_DEFINITION.sub("", text)
    return _NOISE.sub(" ", text)
