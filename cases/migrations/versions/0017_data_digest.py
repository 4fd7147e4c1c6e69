"""workflow_instance.data_digest: a digest of the state's data values

Written with every state (engine/store.py): an action then tells whether it changed the data
values the search index keeps by comparing two digests, instead of reading the state it loaded
a second time (cases/search/index.py). NULL (states written before) means "not known": that
action reads the loaded state as before.

Revision ID: 0017_data_digest
Revises: 0016_perf2
Create Date: 2026-12-02 01:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_data_digest'
down_revision = '0016_perf2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('workflow_instance', sa.Column('data_digest', sa.String(length=64),
                                                 nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (no table rebuild: case rows point at workflow_instance).
    with op.batch_alter_table('workflow_instance', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('data_digest')
