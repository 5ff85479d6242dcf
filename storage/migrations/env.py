"""Alembic environment: runs on the connection the app hands over, or on sqlalchemy.url from the CLI."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_from_url() -> None:
    from storage.database import create_engine

    async def _go() -> None:
        engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
        async with engine.begin() as connection:
            await connection.run_sync(_run)
        await engine.dispose()

    asyncio.run(_go())


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    _run_from_url()
