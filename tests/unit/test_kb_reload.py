"""Changes to the KB folders are picked up without a restart: reload() and the watcher."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from knowledge_base import KnowledgeBase
from knowledge_base.watching import watch_and_reload

ARTICLE = "---\ntitle: Printer on fire\ntags: [printer]\ncategory: other\n---\n\n## Fix\n\nUse the extinguisher.\n"


def seed(folder: Path) -> Path:
    (folder / "disk.md").write_text("# Disk full\n\n## Fix\n\nDelete old logs.\n", encoding="utf-8")
    return folder


def test_reload_picks_up_new_changed_and_deleted_files(tmp_path: Path) -> None:
    kb = KnowledgeBase.load([seed(tmp_path)])
    assert not kb.search("printer on fire").is_confident

    (tmp_path / "printer.md").write_text(ARTICLE, encoding="utf-8")
    assert kb.reload() == 2
    assert kb.search("printer on fire")[0].title == "Printer on fire"

    (tmp_path / "printer.md").write_text(ARTICLE.replace("Printer on fire", "Printer jammed"), encoding="utf-8")
    kb.reload()
    assert kb.article("printer").title == "Printer jammed"

    (tmp_path / "printer.md").unlink()
    assert kb.reload() == 1
    assert kb.article("printer") is None


WATCH_QUICKLY = {"debounce": 50, "step": 20, "force_polling": True, "poll_delay_ms": 50}
GUARD_SECONDS = 10  # bounds each wait for the watcher; the watcher's own pace is not under test


async def test_watcher_reloads_when_a_file_appears(tmp_path: Path) -> None:
    kb = KnowledgeBase.load([seed(tmp_path)])
    stop, ready, reloaded = asyncio.Event(), asyncio.Event(), asyncio.Event()
    watcher = asyncio.create_task(
        watch_and_reload(kb, stop, on_ready=ready.set, on_reload=lambda count: reloaded.set(), **WATCH_QUICKLY)
    )
    try:
        await asyncio.wait_for(ready.wait(), timeout=GUARD_SECONDS)  # the watcher has its starting point
        (tmp_path / "printer.md").write_text(ARTICLE, encoding="utf-8")
        await asyncio.wait_for(reloaded.wait(), timeout=GUARD_SECONDS)
        assert kb.search("printer on fire")[0].title == "Printer on fire"
    finally:
        stop.set()
        await asyncio.wait_for(watcher, timeout=GUARD_SECONDS)


async def test_watcher_ignores_files_that_are_not_markdown(tmp_path: Path) -> None:
    kb = KnowledgeBase.load([seed(tmp_path)])
    stop, ready = asyncio.Event(), asyncio.Event()
    reloads: list[int] = []
    ignored: list[str] = []
    watcher = asyncio.create_task(
        watch_and_reload(
            kb, stop, on_ready=ready.set, on_reload=reloads.append,
            on_ignored=lambda changes: ignored.extend(path for _, path in changes), **WATCH_QUICKLY,
        )
    )
    try:
        await asyncio.wait_for(ready.wait(), timeout=GUARD_SECONDS)
        (tmp_path / "notes.txt").write_text("not an article", encoding="utf-8")
        await until(lambda: any(path.endswith("notes.txt") for path in ignored))
        assert reloads == []  # the batch with the .txt in it is handled, and nothing was reloaded

        (tmp_path / "printer.md").write_text(ARTICLE, encoding="utf-8")
        await until(lambda: bool(reloads))
        assert reloads == [2]
    finally:
        stop.set()
        await asyncio.wait_for(watcher, timeout=GUARD_SECONDS)


async def until(condition: Callable[[], bool]) -> None:
    """Poll the watcher's reports until `condition` holds, for at most GUARD_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GUARD_SECONDS
    while not condition():
        assert loop.time() < deadline, "the watcher did not report in time"
        await asyncio.sleep(0.02)
