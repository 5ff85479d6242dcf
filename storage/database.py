"""Engine and sessionmaker for SQLite (embedded default) and PostgreSQL (several replicas).

SQLite runs in WAL mode through a single pooled connection: every transaction is short, so
queueing on SQLAlchemy's pool (an asyncio wait) beats SQLite's busy-timeout polling between
connections, and it removes "database is locked" under load. Its connections are aiosqlite's with
one trip to the connection's thread per statement (storage/sqlite_connection.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from storage import json_codec, sqlite_connection


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# JSON columns through orjson (storage/json_codec.py): the writer encodes several per alert.
_JSON_CODEC = {"json_serializer": json_codec.dumps, "json_deserializer": json_codec.loads}


def create_engine(database_url: str, *, echo: bool = False) -> AsyncEngine:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(
            url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args=_POSTGRES_CONNECT_ARGS,
            **_JSON_CODEC,
        )

    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=30, **_JSON_CODEC)
    _configure_sqlite(engine, pragmas=_WRITER_PRAGMAS, begin="BEGIN IMMEDIATE")
    return engine


# asyncpg prepares every statement once per connection, and PostgreSQL then plans it generically after
# five runs if that looks no worse: on a table still empty, as after a deploy, that plan is a sequential
# scan, kept for the connection's life however the table grows (issue 13: the alert look-ups of a group
# commit took 7 ms each, scanning 7,000 rows for none). Planning each run costs a fraction of that.
_POSTGRES_CONNECT_ARGS = {"server_settings": {"plan_cache_mode": "force_custom_plan"}}

# The writer takes the write lock up front (IMMEDIATE), so a read-then-write never fails half-way;
# readers begin deferred transactions (a snapshot, no lock) and refuse writes. Only another process
# can hold the lock against our one writer connection (a backup, an operator's sqlite3 shell): wait
# for it two seconds, then fail, so a webhook answers 503 quickly instead of hanging.
_WRITER_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=2000")
_READER_PRAGMAS = ("busy_timeout=10000", "query_only=ON")
_HEALTH_PRAGMAS = ("busy_timeout=700",)


def _configure_sqlite(engine: AsyncEngine, *, pragmas: tuple[str, ...], begin: str) -> None:
    @event.listens_for(engine.sync_engine, "do_connect")
    def _one_hop_connection(_dialect: Any, _record: Any, _args: Any, kwargs: dict[str, Any]) -> None:
        kwargs["async_creator_fn"] = sqlite_connection.connect  # the adapter awaits and wraps what it returns

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy decide when transactions begin (see _on_begin), as its docs recommend.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.connection.driver_connection.defer_begin(begin)  # sent with the first statement


def create_read_engine(database_url: str, writer: AsyncEngine) -> AsyncEngine:
    """Connections for long read-only work (summaries, listings, exports) that must not hold up writers.

    On SQLite, WAL lets readers run beside the single writer. PostgreSQL's pool already serves
    readers and writers side by side, so the writer's engine is returned.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return writer
    engine = create_async_engine(url, pool_size=4, max_overflow=0, pool_timeout=60, **_JSON_CODEC)
    _configure_sqlite(engine, pragmas=_READER_PRAGMAS, begin="BEGIN")
    return engine


def create_intake_engine(database_url: str, writer: AsyncEngine) -> AsyncEngine:
    """Where alert webhooks store their bodies: what every sender waits for, so nothing else on the way.

    On PostgreSQL a pool of its own without the writer's pre-ping, which costs a round trip on every
    checkout (issue 13: 22 % of the webhooks a second). A connection the server dropped fails its store
    instead: the webhook answers 503 with Retry-After, the sender sends it again, and SQLAlchemy throws
    away every connection opened before the failure. On SQLite the writer's one connection (there is
    one write lock; a second connection would only queue on it, less fairly).
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return writer
    return create_async_engine(
        url, pool_size=4, max_overflow=4, pool_pre_ping=False, connect_args=_POSTGRES_CONNECT_ARGS, **_JSON_CODEC
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def create_health_engine(database_url: str, writer: AsyncEngine) -> AsyncEngine:
    """Where /healthz proves a write can commit, without queueing behind the writer's one connection.

    On SQLite a fresh connection per check (no pool) that waits at most 0.7 s for the write lock;
    on PostgreSQL the writer's pool, which serves many connections at once.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return writer
    engine = create_async_engine(url, poolclass=NullPool, **_JSON_CODEC)
    _configure_sqlite(engine, pragmas=_HEALTH_PRAGMAS, begin="BEGIN IMMEDIATE")
    return engine


@dataclass(frozen=True)
class Health:
    ok: bool
    problem: str = ""


async def check_writable(engine: AsyncEngine, *, timeout: float = 1.0) -> Health:
    """Commit a real write (a no-op update of Alembic's version row) within `timeout` seconds.

    A SELECT passes while the disk is full or another process holds SQLite's write lock; a commit
    does not. The answer names the problem so an operator knows where to look.
    """
    try:
        async with asyncio.timeout(timeout):
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
        return Health(True)
    except TimeoutError:
        return Health(False, f"a write did not commit within {timeout:g} s (database locked or overloaded)")
    except (SQLAlchemyError, OSError) as error:
        return Health(False, describe_storage_error(error))


def describe_storage_error(error: BaseException) -> str:
    """One line for an operator: what the database said, without connection strings or passwords."""
    original = getattr(error, "orig", None) or error
    message = str(original).splitlines()[0] if str(original) else type(original).__name__
    lowered = message.lower()
    if "locked" in lowered:
        return f"database locked by another process ({message})"
    if "disk" in lowered and "full" in lowered or "no space" in lowered:
        return f"disk full ({message})"
    if "no such table" in lowered or "does not exist" in lowered:
        return f"database not migrated yet ({message})"
    return f"database unavailable: {type(original).__name__}: {message}"[:300]


def dialect_insert(session: AsyncSession, model: type) -> Any:
    """An INSERT that offers ON CONFLICT (DO NOTHING / DO UPDATE) on either database: PostgreSQL and
    SQLite >= 3.35 both support it, with RETURNING, so two replicas racing on one key cannot both win."""
    from sqlalchemy.dialects import postgresql, sqlite

    bind = session.get_bind()
    return (postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert)(model)
