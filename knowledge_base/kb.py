"""The knowledge base the bot talks to: load folders, search, look up by alert, reload.

Loading and indexing happen together and the result is swapped in as one object, so a search
running while a reload finishes sees either the old KB or the new one, never half of each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge_base.loading import DEFAULT_ARTICLES_DIR, LoadReport, ParsedFiles, load_articles
from knowledge_base.models import Article, SearchResult, SearchResults
from knowledge_base.query import DEFAULT_SYNONYMS_FILE, AnalyzedQuery, Vocabulary, analyze
from knowledge_base.search import SearchIndex
from knowledge_base.watching import watch_and_reload

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Loaded:
    report: LoadReport
    index: SearchIndex
    by_id: dict[str, Article]


class KnowledgeBase:
    def __init__(self, paths: Sequence[Path], synonyms_file: Path = DEFAULT_SYNONYMS_FILE) -> None:
        """Loads at once; `load()` and `load_default()` read better at call sites."""
        self.paths = tuple(Path(path) for path in paths)
        self.synonyms_file = synonyms_file
        self._parsed = ParsedFiles()  # a reload parses only the files that changed
        self._loaded = self._load()

    @classmethod
    def load(cls, paths: Iterable[Path] | None = None, *, synonyms_file: Path = DEFAULT_SYNONYMS_FILE) -> KnowledgeBase:
        """Load Markdown folders (or single files); None or an empty list means the bundled articles."""
        paths = list(paths or [])
        return cls(paths or [DEFAULT_ARTICLES_DIR], synonyms_file)

    @classmethod
    def load_default(cls) -> KnowledgeBase:
        return cls([DEFAULT_ARTICLES_DIR])

    @property
    def articles(self) -> tuple[Article, ...]:
        return self._loaded.report.articles

    @property
    def report(self) -> LoadReport:
        return self._loaded.report

    def search(self, text: str, limit: int = 3) -> SearchResults:
        return self._loaded.index.search(text, limit)

    def search_for_alert(self, alertname: str, title: str = "") -> SearchResult | None:
        """The article whose front matter lists `alertname`; else a confident match on the words.

        For an alert, a wrong article is worse than none: without an alert match, a result is
        returned only if the search is confident."""
        index = self._loaded.index
        number = index.article_index_for_alert(alertname)
        if number is not None:
            return index.best_section_for_alert(number, alertname)
        results = index.search(f"{alertname} {title}".strip(), limit=1)
        return results[0] if results.is_confident else None

    def article_listing_alert(self, alertname: str) -> Article | None:
        """The article whose front matter lists `alertname`, or None: a dictionary look-up, cheap
        enough for every new alert's commit (no search, no section choice)."""
        index = self._loaded.index
        number = index.article_index_for_alert(alertname)
        return index.articles[number] if number is not None else None

    def article(self, article_id: str) -> Article | None:
        """None when the id is unknown (e.g. a button posted before the article was removed)."""
        return self._loaded.by_id.get(article_id)

    def reload(self) -> int:
        """Re-read every folder and the synonyms; returns the number of articles now loaded."""
        self._loaded = self._load()
        return len(self._loaded.report.articles)

    def watched_paths(self) -> list[Path]:
        return [path for path in (*self.paths, self.synonyms_file) if path.exists()]

    async def watch(self, stop_event: asyncio.Event, **options: Any) -> None:
        """Reload on changes until `stop_event` is set (see `watching.watch_and_reload`)."""
        await watch_and_reload(self, stop_event, **options)

    def analyze(self, text: str) -> AnalyzedQuery:
        """How a question is understood (concepts and alternatives), for debugging synonyms."""
        return analyze(text, self._loaded.index.vocabulary)

    def _load(self) -> _Loaded:
        report = load_articles(self.paths, self._parsed)
        for path, problem in report.problems:
            log.warning("knowledge base: %s: %s", path, problem)
        index = SearchIndex(report.articles, Vocabulary.from_file(self.synonyms_file))
        return _Loaded(report, index, {article.article_id: article for article in report.articles})
