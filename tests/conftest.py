"""Shared fixtures: the Slack stand-in, a database per test (SQLite file, and a real PostgreSQL), a running bot."""

from __future__ import annotations

import itertools
from typing import AsyncIterator, Iterator

import pytest

from slack_standin import SlackStandIn
from tests.harness import BOT_TOKEN, RunningBot, start_bot, stop_bot
from tests.support.postgres import PostgresServer, postgres_server  # noqa: F401 - fixture

_database_counter = itertools.count(1)


@pytest.fixture
async def standin() -> AsyncIterator[SlackStandIn]:
    fake = SlackStandIn(bot_token=BOT_TOKEN)
    await fake.start(host="127.0.0.1", port=0)
    yield fake
    await fake.stop()


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Each storage-touching test runs on SQLite and on the PostgreSQL server the suite started."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t{next(_database_counter)}_{request.node.name[:30]}".lower()
    name = "".join(ch if ch.isalnum() else "_" for ch in name)
    url = server.create_database(name)
    yield url
    server.drop_database(name)


@pytest.fixture
async def bot(database_url: str, standin: SlackStandIn) -> AsyncIterator[RunningBot]:
    running = await start_bot(database_url, standin)
    yield running
    await stop_bot(running)
