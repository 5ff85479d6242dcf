"""outbox: the due-rows index carries the ordering key

A delivery claim on SQLite walks the due rows in (status, next_attempt_at) order and skips those
whose key a worker holds. In an alert storm thousands of due thread replies share the one key in
flight; with the key in the index they are skipped without reading each row (issue 13).
The new index serves every query the old (status, next_attempt_at) one did, which it replaces.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 11:30:00
"""

from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_next_attempt_at_key', ['status', 'next_attempt_at', 'ordering_key'], unique=False)
        batch_op.drop_index('ix_outbox_status_next_attempt_at')


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        batch_op.drop_index('ix_outbox_status_next_attempt_at_key')
