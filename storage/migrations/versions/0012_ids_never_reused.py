"""received_webhooks and outbox: ids are never handed out twice, on SQLite too

SQLite gives an INTEGER PRIMARY KEY the largest id in the table plus one, so once the newest rows
are deleted their ids come back. Processing deletes each received webhook, and a second replica
that had read webhook 1 before the first processed it then found a *new* webhook 1 "still waiting",
processed the old body again and deleted the new one: accepted alerts lost (1 run in about 20 of
the two-replica rate-limit test under load). Outbox ids name post attempts and markers in Slack for
a week, longer than done items are kept. AUTOINCREMENT makes SQLite's ids only grow, as
PostgreSQL's sequences always did, so nothing changes there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 15:00:00
"""

from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

TABLES = ('received_webhooks', 'outbox')


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return  # a PostgreSQL sequence never hands out an id twice
    for table in TABLES:
        # The copy keeps every row and id; SQLite then counts on from the largest id copied.
        with op.batch_alter_table(table, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}):
            pass


def upgrade() -> None:
    _recreate(True)


def downgrade() -> None:
    _recreate(False)
