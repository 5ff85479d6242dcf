"""Many rows into one table in one executemany, each distinct value converted for the driver once.

SQLAlchemy converts every value of every row on its way to the driver (a datetime becomes SQLite's
text, a dict JSON), even when it is the same object again: an alert group commit stamps one `now`
into about ten columns a webhook, and those conversions were the largest single cost of a commit
after the statements themselves (issue 13). Here the INSERT is compiled once per table and set of
columns, each column's converter is SQLAlchemy's own for the dialect (so what the database receives
is exactly what `session.execute(insert(table), rows)` would send), and a value identical to the
previous row's in that column is not converted again. Python-side column defaults (a scalar, or a
callable such as `utcnow`) fill the columns the rows leave out, as SQLAlchemy would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

_MISSING = object()


@dataclass(frozen=True)
class _Plan:
    sql: str
    keys: tuple[str, ...]  # in the statement's parameter order
    given: tuple[bool, ...]  # from the rows (True) or from the column's default (False)
    defaults: tuple[Callable[[], Any] | None, ...]
    converters: tuple[Callable[[Any], Any] | None, ...]


_plans: dict[tuple[str, str, str, tuple[str, ...]], _Plan] = {}


def _default(column: Any) -> Callable[[], Any] | None:
    default = column.default
    if default is None or not (default.is_scalar or default.is_callable):
        return None
    if default.is_scalar:
        value = default.arg
        return lambda: value
    function = default.arg  # SQLAlchemy wraps a no-argument callable to take the execution context
    return lambda: function(None)


def _plan(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> _Plan:
    cache_key = (dialect.name, dialect.driver, table.name, keys)
    plan = _plans.get(cache_key)
    if plan is not None:
        return plan
    defaulted = [c.key for c in table.columns if c.key not in keys and _default(c) is not None]
    compiled = insert(table).compile(dialect=dialect, column_keys=[*keys, *defaulted])
    if compiled.positiontup is None:
        raise ValueError(f"{dialect.name}+{dialect.driver}: bulk inserts need a positional paramstyle")
    order = tuple(compiled.positiontup)
    missing = set(order) - set(keys) - set(defaulted)
    if missing:  # a column with a SQL-side default SQLAlchemy would compute first: not this path's business
        raise ValueError(f"{table.name}: give {sorted(missing)} explicitly for a bulk insert")
    plan = _Plan(
        sql=compiled.string,
        keys=order,
        given=tuple(key in keys for key in order),
        defaults=tuple(None if key in keys else _default(table.c[key]) for key in order),
        converters=tuple(table.c[key].type._cached_bind_processor(dialect) for key in order),
    )
    _plans[cache_key] = plan
    return plan


def _column_values(rows: Sequence[Mapping[str, Any]], key: str, given: bool, default: Any, convert: Any) -> list[Any]:
    values = [row[key] for row in rows] if given else [default() for _ in rows]
    if convert is None:
        return values
    converted: list[Any] = []
    previous: Any = _MISSING
    result: Any = None
    for value in values:
        if value is not previous:  # identity, not equality: 1 and True convert differently
            previous, result = value, convert(value)
        converted.append(result)
    return converted


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (dicts with the same keys) into `table` with one executemany in the session's transaction."""
    if rows:
        await insert_rows_on(await session.connection(), table, rows)


async def insert_rows_on(connection: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """The same on a bare connection, in its transaction (where an ORM session's bookkeeping would cost
    more than the statement: the alert webhook's store)."""
    if not rows:
        return
    keys = tuple(rows[0])
    if any(len(row) != len(keys) for row in rows):
        raise ValueError(f"{table.name}: every row of a bulk insert must have the same columns")
    plan = _plan(connection.dialect, table, keys)
    columns = [
        _column_values(rows, key, given, default, convert)
        for key, given, default, convert in zip(plan.keys, plan.given, plan.defaults, plan.converters)
    ]
    await connection.exec_driver_sql(plan.sql, list(zip(*columns)))
