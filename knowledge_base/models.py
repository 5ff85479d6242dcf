"""The knowledge base's value types: what loading produces and what search returns.

They are frozen so an index and the results built from it can be shared between the event loop
and the reload thread without copying.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

CATEGORIES = ("database", "application", "infrastructure", "third-party", "security", "other")


@dataclass(frozen=True, slots=True)
class Section:
    """A part of an article under one `##`/`###` heading (or the text before the first one)."""

    heading: str
    """The heading's plain text; "" for the introduction before the first heading."""
    heading_path: tuple[str, ...]
    """Headings from the outermost down, e.g. ("Diagnosis", "Check the pods")."""
    level: int
    """1-3 for a heading level, 0 for the introduction."""
    text: str
    """The section's Markdown without its heading line, relative links resolved."""
    anchor: str
    """The heading's slug, usable as a URL fragment; "" for the introduction."""

    @property
    def display_heading(self) -> str:
        return " › ".join(self.heading_path)


@dataclass(frozen=True, slots=True)
class Article:
    """One Markdown file: its front matter, title and sections."""

    article_id: str
    """The path under its KB folder without the suffix ("kubernetes/KubePodCrashLooping").

    Stable across reloads, so it can be stored in a Slack button value."""
    path: Path
    root: Path
    title: str
    front_matter: Mapping[str, Any]
    markdown: str
    """The body without front matter, relative links resolved."""
    sections: tuple[Section, ...]
    tags: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    category: str = "other"
    runbook: str | None = None
    url: str | None = None
    problems: tuple[str, ...] = ()
    """Front-matter problems found while loading (the article still loads)."""

    @property
    def relative_path(self) -> str:
        return self.path.relative_to(self.root).as_posix()

    @property
    def is_draft(self) -> bool:
        """A write-up waiting for review (front matter `status: draft`): answered from, marked as a draft.
        Hugo's `draft: true` is another thing: the loader leaves those articles out altogether."""
        return str(self.front_matter.get("status", "")).strip().lower() == "draft"


@dataclass(frozen=True, slots=True)
class SectionMatch:
    """Another section of the same article that also matched, offered as an alternative."""

    section: str
    anchor: str
    score: float
    text: str


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The best-matching section of one article."""

    article_id: str
    path: Path
    title: str
    section: str
    """The lead section's heading path joined with " › " ("" for an article's introduction): the
    actionable one (Fix, Quick checks, ...) when the article has one, see knowledge_base/sections.py."""
    score: float
    """Relevance in [0, 1], falling with rank; comparable across queries."""
    confident: bool
    """Whether this result alone would be a trustworthy answer (an alert match always is)."""
    text: str
    url: str | None
    category: str
    runbook: str | None
    anchor: str = ""
    matched_alert: str | None = None
    """The alert name that selected this article, when the query named one."""
    alternatives: tuple[SectionMatch, ...] = ()
    """Up to two other sections of the same article worth reading next, best first."""
    matched_section: str = ""
    """The section the matched line comes from (often "Symptoms"); `section` is what to do."""
    matched_text: str = ""
    """The line of the article that matched the question best, shown as context ("Matches: …");
    filled for the first result of a search, the answer (the others are shown as titles)."""
    draft: bool = False
    """The article is a write-up not yet reviewed (`Article.is_draft`): answers say so."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "path": str(self.path),
            "title": self.title,
            "section": self.section,
            "anchor": self.anchor,
            "score": round(self.score, 4),
            "confident": self.confident,
            "url": self.url,
            "category": self.category,
            "runbook": self.runbook,
            "matched_alert": self.matched_alert,
            "matched_section": self.matched_section,
            "matched_text": self.matched_text,
            "draft": self.draft,
            "text": self.text,
            "alternatives": [
                {"section": alt.section, "anchor": alt.anchor, "score": round(alt.score, 4)}
                for alt in self.alternatives
            ],
        }


@dataclass(frozen=True, slots=True)
class SearchResults(Sequence[SearchResult]):
    """Results best first, one per article, and whether the best one can be trusted.

    Behaves as a list; `is_confident` is False when nothing matched well enough to answer
    (off-topic questions), so the bot can say it does not know instead of guessing."""

    query: str
    items: tuple[SearchResult, ...] = ()
    is_confident: bool = False
    diagnostics: Mapping[str, Any] = field(default_factory=dict)

    @overload
    def __getitem__(self, index: int) -> SearchResult: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[SearchResult, ...]: ...
    def __getitem__(self, index: int | slice) -> SearchResult | tuple[SearchResult, ...]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[SearchResult]:
        return iter(self.items)

    @property
    def best(self) -> SearchResult | None:
        return self.items[0] if self.items else None
