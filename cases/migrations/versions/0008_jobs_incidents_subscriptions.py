"""jobs, incidents and subscriptions: the engine runs by itself

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:30:00

Every running instance with a due timer gets its timer job, so timers that were waiting before
this revision fire through the job executor.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.store


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

UTC = engine.store.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('due_at', UTC, nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column('lease_expires_at', UTC, nullable=True),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.CheckConstraint("state IN ('pending', 'failed')", name='ck_job_state'),
        sa.ForeignKeyConstraint(['case_id'], ['case_record.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key', name='uq_job_key'),
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index('ix_job_state_due', ['state', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_case_id'), ['case_id'], unique=False)
    op.create_table(
        'incident',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('definition_id', sa.Integer(), nullable=False),
        sa.Column('process_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('element_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('opened_at', UTC, nullable=False),
        sa.Column('last_failed_at', UTC, nullable=False),
        sa.Column('resolved_at', UTC, nullable=True),
        sa.Column('resolved_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('resolution', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('open', 'resolved')", name='ck_incident_state'),
        sa.ForeignKeyConstraint(['case_id'], ['case_record.id']),
        sa.ForeignKeyConstraint(['definition_id'], ['definition_version.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_incident_state_process', ['state', 'process_id', 'element_id'],
                              unique=False)
    op.create_table(
        'subscription',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('element_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column('correlation', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case_record.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_subscription_kind_name', ['kind', 'name'], unique=False)
    _backfill_timer_jobs()


def _backfill_timer_jobs() -> None:
    """One timer job per open case whose workflow waits for a timer (fired by the executor)."""
    op.execute(sa.text(
        "INSERT INTO job (kind, key, case_id, due_at, state, attempts, max_attempts, payload, "
        "created_at, updated_at) "
        "SELECT 'timer', 'timer:' || CAST(c.id AS VARCHAR(20)), c.id, w.next_timer_due, 'pending', "
        "0, 3, '{}', w.updated_at, w.updated_at "
        "FROM case_record c JOIN workflow_instance w ON w.id = c.instance_id "
        "WHERE w.status = 'running' AND w.next_timer_due IS NOT NULL "
        "AND c.status IN ('open', 'on_hold')"))


def downgrade() -> None:
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index('ix_subscription_kind_name')
        batch_op.drop_index(batch_op.f('ix_subscription_case_id'))
    op.drop_table('subscription')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_state_process')
        batch_op.drop_index(batch_op.f('ix_incident_case_id'))
    op.drop_table('incident')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_case_id'))
        batch_op.drop_index('ix_job_state_due')
    op.drop_table('job')
