"""issue class: minor or complex

* `issues.issue_class`: "minor" (a runbook applies and the priority is not High) or "complex", set when
  the issue opens; a minor issue becomes complex when auto-fix fails or someone escalates it (the
  timeline keeps the change). Issues opened before this revision stay unclassified (NULL).
* `ix_issues_reported_at_class`: /summary counts the classes of the issues reported in a period.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issue_class', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_issues_reported_at_class', ['reported_at', 'issue_class'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.drop_index('ix_issues_reported_at_class')
        batch_op.drop_column('issue_class')
