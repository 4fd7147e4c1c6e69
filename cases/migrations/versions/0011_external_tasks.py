"""external tasks: service tasks with a topic that workers fetch, lock and complete

Revision ID: 0011
Revises: 0010_hooks
Create Date: 2026-12-01 13:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.store


revision = '0011'
down_revision = '0010_hooks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('external_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('process_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('element_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('worker_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('lock_expires_at', engine.store.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retries', sa.Integer(), nullable=True),
    sa.Column('retry_at', engine.store.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('error_details', sa.Text(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('open', 'incident', 'completed', 'errored', 'cancelled')",
                       name='ck_external_task_state'),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ),
    sa.ForeignKeyConstraint(['definition_id'], ['definition_version.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'task_id', name='uq_external_task_case_task')
    )
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_task_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_external_task_fetch', ['state', 'topic', 'created_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.drop_index('ix_external_task_fetch')
        batch_op.drop_index(batch_op.f('ix_external_task_case_id'))
    op.drop_table('external_task')
