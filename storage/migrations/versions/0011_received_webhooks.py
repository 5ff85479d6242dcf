"""received_webhooks: alert webhooks stored before the 202, processed afterwards

Issue 13: a webhook's answer waited for the whole of its processing (alerts, issues, outbox items),
which capped ingestion well below what the HTTP server can take. The body is now committed here
first and processed by the alert processor in large batches.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 13:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'received_webhooks',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_received_webhooks')),
    )
    with op.batch_alter_table('received_webhooks', schema=None) as batch_op:
        batch_op.create_index('ix_received_webhooks_status_id', ['status', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('received_webhooks', schema=None) as batch_op:
        batch_op.drop_index('ix_received_webhooks_status_id')
    op.drop_table('received_webhooks')
