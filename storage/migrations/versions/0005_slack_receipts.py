"""slack receipts: Events API retries and replayed interactions are acted on once

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 06:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('slack_receipts',
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_slack_receipts'))
    )
    with op.batch_alter_table('slack_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_receipts_received_at'), ['received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('slack_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slack_receipts_received_at'))
    op.drop_table('slack_receipts')
