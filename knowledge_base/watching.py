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
    on_ready: Callable[[], Any] | None = None,
    on_ignored: Callable[[set[tuple[Change, str]]], Any] | None = None,
    **awatch_options: Any,
) -> None:
    """Run until `stop_event` is set; each settled batch of changes triggers one `kb.reload()`.

    `on_reload(article_count)` is called after each successful reload (metrics, tests). A failed
    reload is logged and the previous index stays in service. `on_ready()` is called once the
    watcher has its starting point, so any change after it is seen; `on_ignored(changes)` for
    each settled batch with no knowledge file in it (tests use both instead of sleeping)."""
    paths = kb.watched_paths()
    if not paths:
        log.warning("knowledge base: nothing to watch (no folder exists)")
        return
    awatch_options.setdefault("debounce", DEBOUNCE_MS)
    if on_ready is not None:
        # awatch sets up its watcher (native watches, or the polling snapshot) synchronously on the
        # first step of the loop below, then waits in a thread: the first moment this callback can
        # run is after that set-up.
        asyncio.get_running_loop().call_soon(on_ready)
    # Filtered here rather than by awatch's watch_filter, which drops an all-ignored batch unseen.
    async for seen in awatch(*paths, stop_event=stop_event, watch_filter=None, **awatch_options):
        changes = {(change, path) for change, path in seen if is_knowledge_file(change, path)}
        if not changes:
            if on_ignored is not None:
                on_ignored(seen)
            continue
        try:
            count = await asyncio.to_thread(kb.reload)
        except Exception:
            log.exception("knowledge base reload failed; keeping the previous articles")
            continue
        log.info("knowledge base reloaded after %d change(s): %d articles", len(changes), count)
        if on_reload is not None:
            on_reload(count)
