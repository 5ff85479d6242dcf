"""Reload the knowledge base when its Markdown folders or synonyms change, without a restart.

The reload (read, parse, index) runs in a worker thread so the event loop keeps answering
Slack; the new index replaces the old one in a single assignment when it is complete.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watchfiles import Change, awatch

from knowledge_base.loading import MARKDOWN_SUFFIXES

if TYPE_CHECKING:
    from knowledge_base.kb import KnowledgeBase

log = logging.getLogger(__name__)
DEBOUNCE_MS = 500
"""An editor's save or a `git pull` is a burst of events: wait for it to settle, reload once."""


def is_knowledge_file(change: Change, path: str) -> bool:
    suffix = Path(path).suffix.lower()
    return suffix in MARKDOWN_SUFFIXES or suffix in (".yaml", ".yml")


async def watch_and_reload(
    kb: KnowledgeBase,
    stop_event: asyncio.Event,
    *,
    on_reload: Callable[[int], Any] | None = None,
    **awatch_options: Any,
) -> None:
    """Run until `stop_event` is set; each settled batch of changes triggers one `kb.reload()`.

    `on_reload(article_count)` is called after each successful reload (metrics, tests). A failed
    reload is logged and the previous index stays in service."""
    paths = kb.watched_paths()
    if not paths:
        log.warning("knowledge base: nothing to watch (no folder exists)")
        return
    awatch_options.setdefault("debounce", DEBOUNCE_MS)
    async for changes in awatch(*paths, stop_event=stop_event, watch_filter=is_knowledge_file, **awatch_options):
        try:
            count = await asyncio.to_thread(kb.reload)
        except Exception:
            log.exception("knowledge base reload failed; keeping the previous articles")
            continue
        log.info("knowledge base reloaded after %d change(s): %d articles", len(changes), count)
        if on_reload is not None:
            on_reload(count)
