"""The knowledge base as the bot holds it: loaded in a thread, waited for, failures explained, links cached."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from handlers.questions.loader import KnowledgeBaseLoader, KnowledgeBaseUnavailable

ARTICLE = "---\ntitle: Disk full\nalerts: [DiskFull]\nurl: https://kb.example.com/disk\n---\n\n## Fix\n\nDelete old logs.\n"


async def test_questions_wait_for_the_first_load_and_alerts_get_a_link(tmp_path: Path) -> None:
    (tmp_path / "disk.md").write_text(ARTICLE, encoding="utf-8")
    loader = KnowledgeBaseLoader([tmp_path])
    assert loader.current is None and loader.article_for_alert("DiskFull", "") is None  # not loaded yet
    stop = asyncio.Event()
    waiting = asyncio.create_task(loader.get())
    runner = asyncio.create_task(loader.run(stop, watch=False))
    kb = await asyncio.wait_for(waiting, timeout=10)
    await runner
    assert loader.current is kb and kb.article("disk").title == "Disk full"
    assert loader.article_for_alert("DiskFull", "Disk almost full on db-1") == ("Disk full", "https://kb.example.com/disk")
    assert loader.article_for_alert("LunchIsLate", "Lunch is late") is None


async def test_a_kb_without_urls_points_at_ask(tmp_path: Path) -> None:
    (tmp_path / "disk.md").write_text(ARTICLE.replace("url: https://kb.example.com/disk\n", ""), encoding="utf-8")
    loader = KnowledgeBaseLoader([tmp_path])
    await loader.run(asyncio.Event(), watch=False)
    assert loader.article_for_alert("DiskFull", "") == ("Disk full (in Slack: `/ask DiskFull`)", None)
    (tmp_path / "disk.md").write_text(ARTICLE.replace("Disk full", "Disk space"), encoding="utf-8")
    await loader.reload()
    assert loader.article_for_alert("DiskFull", "") == ("Disk space", "https://kb.example.com/disk")  # cache follows reloads


async def test_a_failed_load_is_a_sentence_for_the_asker(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(paths: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr("handlers.questions.loader.KnowledgeBase.load", broken)
    loader = KnowledgeBaseLoader([])
    await loader.run(asyncio.Event())
    with pytest.raises(KnowledgeBaseUnavailable, match="could not be loaded"):
        await loader.get()
    assert loader.article_for_alert("DiskFull", "") is None


async def test_a_slow_load_is_not_waited_for_forever() -> None:
    loader = KnowledgeBaseLoader([])
    with pytest.raises(KnowledgeBaseUnavailable, match="still loading"):
        await loader.get(wait=0.01)
