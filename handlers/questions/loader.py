"""The knowledge base as the bot holds it: loaded in a worker thread at start-up, then watched.

Loading the bundled articles takes a few tenths of a second and a 1,000-article KB about a second.
Done in a thread, the server answers /healthz (and everything else) meanwhile; a question that
arrives first waits for the load. Edits to the Markdown are picked up by `watch_and_reload`, which
keeps the previous articles when a reload fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from handlers.errors import OpsbotError
from knowledge_base import KnowledgeBase
from knowledge_base.watching import watch_and_reload

log = logging.getLogger(__name__)

LOAD_WAIT_SECONDS = 20.0  # how long a question waits for the first load before giving up
ALERT_CACHE_SIZE = 2048


class KnowledgeBaseUnavailable(OpsbotError):
    """The articles are not loaded (still loading, or the load failed)."""


class KnowledgeBaseLoader:
    def __init__(self, paths: Sequence[Path]) -> None:
        """`paths` as in settings.kb_paths: an empty list means the bundled articles."""
        self._paths = list(paths)
        self._kb: KnowledgeBase | None = None
        self._ready = asyncio.Event()
        self._failed = False
        self._alert_links: dict[tuple[str, str], tuple[str, str | None] | None] = {}
        self._links_for: object | None = None  # the load (kb.report) the cached links came from

    @property
    def current(self) -> KnowledgeBase | None:
        """The loaded knowledge base, or None while the first load runs."""
        return self._kb

    async def run(self, stop: asyncio.Event, *, watch: bool = True, **watch_options: Any) -> None:
        """Load in a thread, then reload on every settled change of the folders until `stop` is set."""
        try:
            kb = await asyncio.to_thread(KnowledgeBase.load, self._paths)
        except Exception:  # noqa: BLE001 - the bot keeps serving alerts without its KB
            log.exception("knowledge base could not be loaded from %s", self._paths or "the bundled articles")
            self._failed = True
            self._ready.set()
            return
        self._kb = kb
        self._ready.set()
        log.info("knowledge base loaded: %d articles, %d problems", len(kb.articles), len(kb.report.problems))
        if watch and not stop.is_set():
            await watch_and_reload(kb, stop, **watch_options)

    async def get(self, wait: float = LOAD_WAIT_SECONDS) -> KnowledgeBase:
        """The knowledge base, waiting for the first load if it is still running."""
        if self._kb is None and not self._failed:
            try:
                await asyncio.wait_for(self._ready.wait(), wait)
            except asyncio.TimeoutError:
                raise KnowledgeBaseUnavailable("The knowledge base is still loading: ask again in a moment.") from None
        if self._kb is None:
            raise KnowledgeBaseUnavailable(
                "The knowledge base could not be loaded, so I can't answer questions right now. "
                "The team has the details in the logs."
            )
        return self._kb

    async def reload(self) -> KnowledgeBase:
        """Re-read every folder in a thread; searches keep using the old index until the new one is ready."""
        kb = await self.get()
        await asyncio.to_thread(kb.reload)
        return kb

    def article_for_alert(self, alertname: str, title: str) -> tuple[str, str | None] | None:
        """(title, url) of the article for an alert, for the issue message; None when none fits.

        Bundled articles have no URL, so their title carries the `/ask` that shows the article in
        Slack. Results are cached per load: the delivery worker renders an issue on every change.
        """
        kb = self._kb
        if kb is None:
            return None
        if self._links_for is not kb.report:
            self._alert_links.clear()
            self._links_for = kb.report
        key = (alertname, title)
        if key not in self._alert_links:
            if len(self._alert_links) >= ALERT_CACHE_SIZE:
                self._alert_links.clear()
            self._alert_links[key] = _link(kb, alertname, title)
        return self._alert_links[key]

    def category_for_alert(self, alertname: str) -> str | None:
        """The `category:` of the article whose front matter lists the alert, for the issue it opens;
        None while the first load runs or when no article lists it. A confident match on the words
        is good enough to point at an article, not to file the issue under it (Grafana's test alert
        "WebhookAlert" is not a payment-webhook problem): the built-in rules decide then."""
        kb = self._kb
        article = kb.article_listing_alert(alertname) if kb is not None else None
        return article.category if article is not None else None


def _link(kb: KnowledgeBase, alertname: str, title: str) -> tuple[str, str | None] | None:
    result = kb.search_for_alert(alertname=alertname, title=title)
    if result is None:
        return None
    if result.url:
        return result.title, result.url
    ask = result.matched_alert or result.title
    return f"{result.title} (in Slack: `/ask {ask}`)", None
