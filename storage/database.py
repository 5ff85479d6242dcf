"""Engine and sessionmaker for SQLite (embedded default) and PostgreSQL (several replicas).

SQLite runs in WAL mode through a single pooled connection: every transaction is short, so
queueing on SQLAlchemy's pool (an asyncio wait) beats SQLite's busy-timeout polling between
connections, and it removes "database is locked" under load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(database_url: str, *, echo: bool = False) -> AsyncEngine:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)

    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=60)
    _configure_sqlite(engine, pragmas=_WRITER_PRAGMAS, begin="BEGIN IMMEDIATE")
    return engine


# The writer takes the write lock up front (IMMEDIATE), so a read-then-write never fails half-way;
# readers begin deferred transactions (a snapshot, no lock) and refuse writes.
_WRITER_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000")
_READER_PRAGMAS = ("busy_timeout=10000", "query_only=ON")


def _configure_sqlite(engine: AsyncEngine, *, pragmas: tuple[str, ...], begin: str) -> None:
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
        connection.exec_driver_sql(begin)


def create_read_engine(database_url: str, writer: AsyncEngine) -> AsyncEngine:
    """Connections for long read-only work (summaries, listings, exports) that must not hold up writers.

    On SQLite, WAL lets readers run beside the single writer. PostgreSQL's pool already serves
    readers and writers side by side, so the writer's engine is returned.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return writer
    engine = create_async_engine(url, pool_size=4, max_overflow=0, pool_timeout=60)
    _configure_sqlite(engine, pragmas=_READER_PRAGMAS, begin="BEGIN")
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return False
