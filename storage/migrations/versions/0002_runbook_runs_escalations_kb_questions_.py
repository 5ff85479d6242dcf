"""runbook runs, escalations, kb questions, surveys, report runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:17:50.018602
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_runs')),
    sa.UniqueConstraint('kind', 'period', name='uq_report_runs_kind_period')
    )
    op.create_table('escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('requested_by', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('on_call', sa.String(length=64), nullable=True),
    sa.Column('next_level_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=255), nullable=True),
    sa.Column('pagerduty_dedup_key', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_escalations_issue_id_issues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalations'))
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index('ix_escalations_issue_id', ['issue_id'], unique=False)
        batch_op.create_index('ix_escalations_status_next_level_at', ['status', 'next_level_at'], unique=False)

    op.create_table('kb_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('asked_by', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=255), nullable=True),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('article_path', sa.Text(), nullable=True),
    sa.Column('section', sa.Text(), nullable=True),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('confident', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('feedback_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issue_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_kb_questions_issue_id_issues'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_questions'))
    )
    with op.batch_alter_table('kb_questions', schema=None) as batch_op:
        batch_op.create_index('ix_kb_questions_asked_at', ['asked_at'], unique=False)

    op.create_table('runbook_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('runbook_id', sa.String(length=255), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verify_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('output_excerpt', sa.Text(), nullable=False),
    sa.Column('output_digest', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_runbook_runs_issue_id_issues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runbook_runs'))
    )
    with op.batch_alter_table('runbook_runs', schema=None) as batch_op:
        batch_op.create_index('ix_runbook_runs_issue_id_started_at', ['issue_id', 'started_at'], unique=False)
        batch_op.create_index('ix_runbook_runs_status_verify_deadline', ['status', 'verify_deadline'], unique=False)

    op.create_table('survey_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reminder_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('helpful', sa.Integer(), nullable=True),
    sa.Column('speed', sa.Integer(), nullable=True),
    sa.Column('professional', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_survey_responses_issue_id_issues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_responses')),
    sa.UniqueConstraint('issue_id', 'user_id', name='uq_survey_responses_issue_id_user_id')
    )
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.create_index('ix_survey_responses_sent_at', ['sent_at'], unique=False)
        batch_op.create_index('ix_survey_responses_status_sent_at', ['status', 'sent_at'], unique=False)

    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_url', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.drop_column('link_url')

    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_responses_status_sent_at')
        batch_op.drop_index('ix_survey_responses_sent_at')

    op.drop_table('survey_responses')
    with op.batch_alter_table('runbook_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_runbook_runs_status_verify_deadline')
        batch_op.drop_index('ix_runbook_runs_issue_id_started_at')

    op.drop_table('runbook_runs')
    with op.batch_alter_table('kb_questions', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_questions_asked_at')

    op.drop_table('kb_questions')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index('ix_escalations_status_next_level_at')
        batch_op.drop_index('ix_escalations_issue_id')

    op.drop_table('escalations')
    op.drop_table('report_runs')
