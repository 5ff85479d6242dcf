"""The Alembic revisions and the typed models describe the same schema, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_sessionmaker

from storage.database import create_engine
from storage.migrations import alembic_config, upgrade_to_head
from storage.models import Base, OutboxItem, ReceivedWebhook, utcnow


async def test_migrations_match_the_models(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        await upgrade_to_head(engine)
        await upgrade_to_head(engine)  # applying twice is a no-op

        def differences(connection: Connection) -> list:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)

        async with engine.connect() as connection:
            diff = await connection.run_sync(differences)
        assert diff == []
    finally:
        await engine.dispose()


async def test_ids_of_deleted_webhooks_and_outbox_items_are_never_handed_out_again(empty_database_url: str) -> None:
    """A processor finds the webhooks it read again by id, and a post attempt names its outbox item by
    id: SQLite reused the largest id once its row was deleted (migration 0012)."""
    engine = create_engine(empty_database_url)
    try:
        await upgrade_to_head(engine)
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        for make in (
            lambda: ReceivedWebhook(source="alertmanager", body=b"{}", received_at=utcnow()),
            lambda: OutboxItem(ordering_key="issue:1", operation="chat.postMessage", payload={}),
        ):
            ids = []
            for _ in range(2):
                async with sessionmaker.begin() as session:
                    row = make()
                    session.add(row)
                    await session.flush()
                    ids.append(row.id)
                    await session.execute(delete(type(row)))  # the table is empty again
            assert ids[1] > ids[0], type(row).__name__
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_a_tests_postgres_database_is_already_at_head(database_url: str) -> None:
    """It is a copy of the session's migrated template, so the bot's start-up migration has nothing to do."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads())
    finally:
        await engine.dispose()
    assert current == tuple(ScriptDirectory.from_config(alembic_config()).get_heads())
