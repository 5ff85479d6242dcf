"""performance adjustments and incident reviews

* `performance_adjustments`: the adjustments log (/adjustment): what was changed, by whom, the KPI to
  watch and the follow-up date on which its owner is reminded.
* `incident_reviews`: one post-incident review draft per High-priority issue, kept as Markdown, and
  where it was saved among the knowledge base's drafts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 08:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('performance_adjustments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('made_by', sa.String(length=64), nullable=False),
    sa.Column('area', sa.String(length=200), nullable=False),
    sa.Column('change', sa.Text(), nullable=False),
    sa.Column('expected_impact', sa.Text(), nullable=False),
    sa.Column('kpi', sa.String(length=64), nullable=True),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_performance_adjustments'))
    )
    with op.batch_alter_table('performance_adjustments', schema=None) as batch_op:
        batch_op.create_index('ix_performance_adjustments_made_at', ['made_at'], unique=False)
        batch_op.create_index(
            'ix_performance_adjustments_follow_up_on_reminded_at', ['follow_up_on', 'reminded_at'], unique=False
        )

    op.create_table('incident_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_by', sa.String(length=64), nullable=False),
    sa.Column('markdown', sa.Text(), nullable=False),
    sa.Column('saved_path', sa.Text(), nullable=True),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('saved_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_incident_reviews_issue_id_issues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_reviews')),
    sa.UniqueConstraint('issue_id', name=op.f('uq_incident_reviews_issue_id'))
    )


def downgrade() -> None:
    op.drop_table('incident_reviews')
    with op.batch_alter_table('performance_adjustments', schema=None) as batch_op:
        batch_op.drop_index('ix_performance_adjustments_follow_up_on_reminded_at')
        batch_op.drop_index('ix_performance_adjustments_made_at')
    op.drop_table('performance_adjustments')
