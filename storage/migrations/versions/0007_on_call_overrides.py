"""on-call overrides

* `on_call_overrides`: who covers a team's rota and until when (/oncall take|give|release); escalations
  ask it who is on call at a moment, so an override is honoured while it lasts and ends by itself.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('on_call_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by', sa.String(length=64), nullable=True),
    sa.Column('end_announced_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_on_call_overrides'))
    )
    with op.batch_alter_table('on_call_overrides', schema=None) as batch_op:
        batch_op.create_index('ix_on_call_overrides_team_ends_at', ['team', 'ends_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('on_call_overrides', schema=None) as batch_op:
        batch_op.drop_index('ix_on_call_overrides_team_ends_at')
    op.drop_table('on_call_overrides')
