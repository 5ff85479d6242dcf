"""When SQLite cannot take a write (another process holds its lock, the disk is full), webhooks answer
503 with Retry-After promptly instead of holding the sender, /healthz says why, and nothing is lost:
the same delivery is accepted once the database is back."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import func, select

from slack_standin import SlackStandIn
from storage.models import Alert
from tests.harness import RunningBot, start_bot, stop_bot

ALERT = {"title": "Disk almost full on db-1", "dedup_key": "disk-db-1", "severity": "warning"}


@pytest.fixture
async def sqlite_bot(tmp_path: Path, standin: SlackStandIn) -> AsyncIterator[RunningBot]:
    running = await start_bot(f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}", standin)
    yield running
    await stop_bot(running)


@pytest.fixture
async def foreign_lock(tmp_path: Path, sqlite_bot: RunningBot) -> AsyncIterator[threading.Event]:
    """Another process's write transaction on the database file (as a backup or a sqlite3 shell holds it)."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(tmp_path / "opsbot.db", isolation_level=None, timeout=30)
        connection.execute("BEGIN IMMEDIATE")
        taken.set()
        release.wait(timeout=60)
        connection.execute("ROLLBACK")
        connection.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert await asyncio.to_thread(taken.wait, 30)  # the loop keeps running: the bot may be mid-write
    yield release
    release.set()
    await asyncio.to_thread(holder.join, 10)


async def _alerts_stored(bot: RunningBot) -> int:
    """Counted on a read-only connection: the writer's would queue behind the held lock."""
    async with bot.opsbot.read_engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(Alert))).scalar_one())


async def test_a_held_lock_gets_503_then_the_retry_is_accepted(
    sqlite_bot: RunningBot, foreign_lock: threading.Event
) -> None:
    status, body = await asyncio.wait_for(sqlite_bot.post_webhook("generic", ALERT), timeout=30)
    assert status == 503, body
    assert await _alerts_stored(sqlite_bot) == 0
    async with sqlite_bot.session.get(f"{sqlite_bot.url}/healthz") as response:
        health = await response.json()
        assert response.status == 503 and "locked" in health["problem"]

    foreign_lock.set()  # the other process finishes; the sender retries as Alertmanager does
    status, body = await sqlite_bot.post_webhook("generic", ALERT)
    assert status == 202 and body["new"] == 1
    assert await _alerts_stored(sqlite_bot) == 1
    async with sqlite_bot.session.get(f"{sqlite_bot.url}/healthz") as response:
        assert response.status == 200


async def test_the_503_carries_retry_after(sqlite_bot: RunningBot, foreign_lock: threading.Event) -> None:
    headers = {"Authorization": "Bearer test-webhook-token", "Content-Type": "application/json"}
    async with sqlite_bot.session.post(f"{sqlite_bot.url}/webhooks/generic", json=ALERT, headers=headers) as response:
        assert response.status == 503
        assert int(response.headers["Retry-After"]) > 0


async def test_a_full_disk_gets_503_and_nothing_half_written(sqlite_bot: RunningBot) -> None:
    status, _ = await sqlite_bot.post_webhook("generic", {"title": "first", "dedup_key": "first"})
    assert status == 202
    async with sqlite_bot.opsbot.engine.connect() as connection:  # the writer's one pooled connection
        pages = (await connection.exec_driver_sql("PRAGMA page_count")).scalar_one()
        await connection.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
    big = {"title": "second", "dedup_key": "second", "description": "x" * 200_000}
    status, body = await sqlite_bot.post_webhook("generic", big)
    assert status == 503, body
    assert await _alerts_stored(sqlite_bot) == 1

    async with sqlite_bot.opsbot.engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA max_page_count = 1073741823")
    status, body = await sqlite_bot.post_webhook("generic", big)
    assert status == 202 and body["new"] == 1
    assert await _alerts_stored(sqlite_bot) == 2
