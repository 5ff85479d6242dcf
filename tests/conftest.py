"""Shared fixtures: the Slack stand-in, a database per test (SQLite file, and a real PostgreSQL), a running bot."""

from __future__ import annotations

import asyncio
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest

from slack_standin import SlackStandIn
from storage.database import create_engine
from storage.migrations import upgrade_to_head
from tests.harness import BOT_TOKEN, RunningBot, start_bot, stop_bot
from tests.support.postgres import PostgresServer, postgres_server, scratch_database  # noqa: F401 - fixture
from tests.support.prometheus import prometheus_kpis  # noqa: F401 - fixture

MIGRATED_TEMPLATE = "opsbot_migrated"
_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
async def standin() -> AsyncIterator[SlackStandIn]:
    fake = SlackStandIn(bot_token=BOT_TOKEN)
    await fake.start(host="127.0.0.1", port=0)
    yield fake
    await fake.stop()


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}"


@pytest.fixture(params=_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Each storage-touching test runs on SQLite and on the PostgreSQL server the suite started.

    Either database is a copy of the session's migrated template, so the bot's start-up migration
    finds it at head and does nothing (migrating SQLite took 0.08 s of a bot's 0.26 s start).
    """
    yield from _database(request, tmp_path, migrated=True)


@pytest.fixture(params=_BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Like `database_url`, but without a schema on PostgreSQL too: for tests of the migrations themselves."""
    yield from _database(request, tmp_path, migrated=False)


def _database(request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool) -> Iterator[str]:
    if request.param == "sqlite":
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_migrated_template"), tmp_path / "opsbot.db")
        yield f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}"
        return
    template = request.getfixturevalue("postgres_migrated_template") if migrated else None
    with scratch_database(request.getfixturevalue("postgres_server"), request, template=template) as url:
        yield url


def _migrate(url: str) -> None:
    async def migrate() -> None:
        engine = create_engine(url)
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as thread:  # a loop of its own, whatever loop runs in this thread
        thread.submit(asyncio.run, migrate()).result()


@pytest.fixture(scope="session")
def sqlite_migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the Alembic head once a session; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "opsbot.db"
    _migrate(f"sqlite+aiosqlite:///{path}")
    wal = path.with_name("opsbot.db-wal")  # the last connection closed checkpoints it: the file alone is whole
    assert not wal.exists() or wal.stat().st_size == 0, "the template's WAL was not checkpointed"
    return path


@pytest.fixture(scope="session")
def postgres_migrated_template(postgres_server: PostgresServer) -> str:
    """A database migrated to the Alembic head once a session, the template of each test's database."""
    _migrate(postgres_server.create_database(MIGRATED_TEMPLATE))
    postgres_server.mark_template(MIGRATED_TEMPLATE)
    return MIGRATED_TEMPLATE


@pytest.fixture
async def bot(database_url: str, standin: SlackStandIn) -> AsyncIterator[RunningBot]:
    running = await start_bot(database_url, standin)
    yield running
    await stop_bot(running)
