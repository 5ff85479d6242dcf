"""alert silences and issue snoozes

* `alert_silences`: silences opsbot created in an Alertmanager from an issue's message (its id there,
  the matchers sent, who, until when), and when opsbot saw each end (lifted from Slack, or run out).
* `issue_snoozes`: an issue's notifications held until a time (no escalation steps, repeats not
  announced); the periodic job ends each at its time and brings the issue back.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 13:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_silences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('alertmanager_url', sa.Text(), nullable=False),
    sa.Column('silence_id', sa.String(length=64), nullable=False),
    sa.Column('matchers', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_alert_silences_issue_id_issues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_silences'))
    )
    with op.batch_alter_table('alert_silences', schema=None) as batch_op:
        batch_op.create_index('ix_alert_silences_issue_id_ended_at', ['issue_id', 'ended_at'], unique=False)
        batch_op.create_index('ix_alert_silences_ended_at_ends_at', ['ended_at', 'ends_at'], unique=False)

    op.create_table('issue_snoozes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('snoozed_by', sa.String(length=255), nullable=False),
    sa.Column('snoozed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_issue_snoozes_issue_id_issues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issue_snoozes'))
    )
    with op.batch_alter_table('issue_snoozes', schema=None) as batch_op:
        batch_op.create_index('ix_issue_snoozes_issue_id_ended_at', ['issue_id', 'ended_at'], unique=False)
        batch_op.create_index('ix_issue_snoozes_ended_at_until', ['ended_at', 'until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('issue_snoozes', schema=None) as batch_op:
        batch_op.drop_index('ix_issue_snoozes_ended_at_until')
        batch_op.drop_index('ix_issue_snoozes_issue_id_ended_at')
    op.drop_table('issue_snoozes')
    with op.batch_alter_table('alert_silences', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_silences_ended_at_ends_at')
        batch_op.drop_index('ix_alert_silences_issue_id_ended_at')
    op.drop_table('alert_silences')
