"""aiosqlite with one trip to its thread per statement, and none for a BEGIN or an idle rollback.

aiosqlite runs every call on the connection's own thread and hands the result back to the event loop;
through SQLAlchemy's adapter a statement is four such trips (create a cursor, execute, fetch, close),
a BEGIN a fifth and the pool's rollback on check-in a sixth. Each trip is a thread wake-up and a GIL
hand-over, and under load the loop is busy: issue 13 measured the alert webhook's group commit at 29
trips for 8 statements, the writer thread waiting its turn more than it worked.

Here a statement is one function run on that thread (execute, fetch every row, close: SQLAlchemy reads
them all at once anyway), BEGIN is sent with the transaction's first statement, and COMMIT or ROLLBACK
skip the trip when no transaction is open. What runs on the thread, and in what order, is what ran
before: only the hand-overs between statements are gone. sqlite3 objects are still touched on that
thread only (the loop side reads `in_transaction`, as aiosqlite itself does).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from threading import Thread
from typing import Any, Sequence

import aiosqlite


def _run_statement(
    connection: sqlite3.Connection, begin: str | None, many: bool, sql: str, parameters: Any
) -> tuple[Any, int, int | None, list[Any]]:
    """On the connection's thread: the pending BEGIN, then the statement, all its rows, and the cursor closed."""
    if begin is not None:
        connection.execute(begin)
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        elif parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneHopCursor:
    """What SQLAlchemy's aiosqlite adapter needs of a cursor, with the rows read in the statement's one trip."""

    arraysize = 1

    def __init__(self, connection: OneHopConnection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = None) -> OneHopCursor:
        await self._run(False, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> OneHopCursor:
        await self._run(True, sql, parameters)
        return self

    async def _run(self, many: bool, sql: str, parameters: Any) -> None:
        connection = self._connection
        begin, connection.pending_begin = connection.pending_begin, None
        self.description, self.rowcount, self.lastrowid, rows = await connection._execute(
            _run_statement, connection._conn, begin, many, sql, parameters
        )
        self._rows = deque(rows)

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()  # the sqlite3 cursor was closed on the thread, right after its statement


class OneHopConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors are OneHopCursors; `defer_begin` holds BEGIN for the next statement."""

    pending_begin: str | None = None

    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        return OneHopCursor(self)

    def defer_begin(self, sql: str) -> None:
        """BEGIN (IMMEDIATE, say) is sent just before the next statement, in the same trip to the thread.

        A transaction that runs no statement never begins, and so has nothing to commit or roll back.
        A BEGIN that fails (the write lock held past busy_timeout) fails that first statement.
        """
        self.pending_begin = sql

    async def commit(self) -> None:
        self.pending_begin = None
        if self._connection is not None and self._connection.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        self.pending_begin = None
        if self._connection is not None and self._connection.in_transaction:
            await super().rollback()


def connect(database: str, **kwargs: Any) -> OneHopConnection:
    """Like aiosqlite.connect (await the result), with the worker thread a daemon as SQLAlchemy makes it."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, **kwargs)

    connection = OneHopConnection(connector, iter_chunk_size=64)
    if isinstance(connection, Thread):  # aiosqlite < 0.22: the connection is the thread
        connection.daemon = True
    else:
        connection._thread.daemon = True
    return connection
