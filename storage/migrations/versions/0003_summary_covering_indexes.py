"""covering indexes for summaries and reports

Every /summary figure is an aggregate over a time range; these indexes hold the columns each
aggregate reads after its range column, so SQLite and PostgreSQL answer from the index alone
(bench/summary_1m.py measures them on 1,000,000 issues).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 06:10:00
"""

from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_INDEXES = (
    # logged, by priority/category/source, MTTA (avg and p90) of issues reported in the period
    ('issues', 'ix_issues_reported_at_summary', ['reported_at', 'priority', 'category', 'source', 'ack_seconds']),
    # resolved, MTTR (avg and p90), late against the priority's target, first-contact resolution, open at the end
    ('issues', 'ix_issues_resolved_at_summary', ['resolved_at', 'priority', 'resolution_seconds', 'reported_at']),
    # open at the end of the period, and which of those are past their target
    ('issues', 'ix_issues_status_reported_at_priority', ['status', 'reported_at', 'priority']),
    # "reopened" events, for first-contact resolution
    ('issue_events', 'ix_issue_events_kind_issue_id', ['kind', 'issue_id']),
    ('runbook_runs', 'ix_runbook_runs_started_at_status', ['started_at', 'status']),
    ('escalations', 'ix_escalations_created_at_team', ['created_at', 'team']),
    ('alerts', 'ix_alerts_last_seen_at_summary', ['last_seen_at', 'alertname', 'times_fired', 'issue_id']),
    ('kb_questions', 'ix_kb_questions_asked_at_outcome', ['asked_at', 'outcome']),
    ('survey_responses', 'ix_survey_responses_sent_at_scores', ['sent_at', 'status', 'helpful', 'speed', 'professional']),
)


def upgrade() -> None:
    for table, name, columns in _INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
