"""case_search.data_from: where a document's workflow data values begin

A step that changes only the case data rewrites the tail of the document in place
(cases/search/index.py) instead of reading the customer and the notes again. NULL (documents
written before) means "not known": the next change rebuilds that document whole.

Revision ID: 0016_perf2
Revises: 0015_calendar
Create Date: 2026-12-01 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_perf2'
down_revision = '0015_calendar'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild): SQLite keeps the FTS5 triggers on case_search.
    op.add_column('case_search', sa.Column('data_from', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('case_search', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('data_from')
