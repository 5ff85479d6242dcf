"""Changes to the KB folders are picked up without a restart: reload() and the watcher."""

from __future__ import annotations

import asyncio
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


async def test_watcher_reloads_when_a_file_appears(tmp_path: Path) -> None:
    kb = KnowledgeBase.load([seed(tmp_path)])
    stop = asyncio.Event()
    reloaded = asyncio.Event()
    watcher = asyncio.create_task(
        watch_and_reload(kb, stop, on_reload=lambda count: reloaded.set(), debounce=50, step=20, force_polling=True, poll_delay_ms=50)
    )
    try:
        await asyncio.sleep(0.3)  # let the watcher take its first snapshot
        (tmp_path / "printer.md").write_text(ARTICLE, encoding="utf-8")
        await asyncio.wait_for(reloaded.wait(), timeout=10)
        assert kb.search("printer on fire")[0].title == "Printer on fire"
    finally:
        stop.set()
        await asyncio.wait_for(watcher, timeout=10)


async def test_watcher_ignores_files_that_are_not_markdown(tmp_path: Path) -> None:
    kb = KnowledgeBase.load([seed(tmp_path)])
    stop = asyncio.Event()
    reloads: list[int] = []
    reloaded = asyncio.Event()

    def record(count: int) -> None:
        reloads.append(count)
        reloaded.set()

    watcher = asyncio.create_task(
        watch_and_reload(kb, stop, on_reload=record, debounce=50, step=20, force_polling=True, poll_delay_ms=50)
    )
    try:
        await asyncio.sleep(0.3)
        (tmp_path / "notes.txt").write_text("not an article", encoding="utf-8")
        await asyncio.sleep(0.3)  # several polls: a reload for the .txt file would happen here
        (tmp_path / "printer.md").write_text(ARTICLE, encoding="utf-8")
        await asyncio.wait_for(reloaded.wait(), timeout=10)
        assert reloads == [2]
    finally:
        stop.set()
        await asyncio.wait_for(watcher, timeout=10)
