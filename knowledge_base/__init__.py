"""Answers from the knowledge base: Markdown articles, loaded from folders and searched with
SQLite FTS5. `KnowledgeBase` is the entry point; the Slack side only needs the names below."""

from knowledge_base.kb import KnowledgeBase
from knowledge_base.models import Article, SearchResult, SearchResults, Section, SectionMatch

__all__ = ["Article", "KnowledgeBase", "SearchResult", "SearchResults", "Section", "SectionMatch"]
