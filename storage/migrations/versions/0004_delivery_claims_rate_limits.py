"""delivery claims, post attempts, rate limits

What the delivery workers of every replica share, so each issue is posted once and a 429 slows
everyone down:

* `delivery_claims`: one row per ordering key (`issue:42`) a worker is sending; renewed while the
  item is in flight, deleted with its outcome, expired when the worker died.
* `slack_post_attempts`: a chat.postMessage about to be made whose outcome is not recorded yet; a
  retry first looks in the channel for the message's metadata marker.
* `slack_rate_limits`: method (and channel) paused by a 429 until Retry-After has passed.
* `outbox.first_failed_at`: when an item began failing, so retries stop (the item is parked) after
  a bounded time instead of never.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 07:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delivery_claims',
    sa.Column('ordering_key', sa.String(length=255), nullable=False),
    sa.Column('worker_id', sa.String(length=64), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('ordering_key', name=op.f('pk_delivery_claims'))
    )
    op.create_table('slack_post_attempts',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=255), nullable=False),
    sa.Column('thread_ts', sa.String(length=64), nullable=True),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_slack_post_attempts'))
    )
    op.create_table('slack_rate_limits',
    sa.Column('method', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=255), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('method', 'channel', name=op.f('pk_slack_rate_limits'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_failed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('first_failed_at')
    op.drop_table('slack_rate_limits')
    op.drop_table('slack_post_attempts')
    op.drop_table('delivery_claims')
