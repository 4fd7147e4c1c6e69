"""approval requests, SLA state of cases and work items

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:28:32.774409
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.store


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('approval_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('reason_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('requested_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('decided_at', engine.store.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name='ck_approval_request_status'),
    sa.CheckConstraint('decided_by IS NULL OR decided_by <> requested_by', name='ck_approval_request_not_own'),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_request_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_approval_request_status_requested', ['status', 'requested_at'], unique=False)

    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='on_time'))
        batch_op.create_index('ix_case_record_status_promised', ['status', 'sla_state', 'promised_at'], unique=False)
        batch_op.create_check_constraint('ck_case_record_sla_state', "sla_state IN ('on_time', 'at_risk', 'breached')")

    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='on_time'))
        batch_op.create_check_constraint('ck_work_item_sla_state', "sla_state IN ('on_time', 'at_risk', 'breached')")



def downgrade() -> None:
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_constraint('ck_work_item_sla_state', type_='check')
        batch_op.drop_column('sla_state')

    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_constraint('ck_case_record_sla_state', type_='check')
        batch_op.drop_index('ix_case_record_status_promised')
        batch_op.drop_column('sla_state')

    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_request_status_requested')
        batch_op.drop_index(batch_op.f('ix_approval_request_case_id'))

    op.drop_table('approval_request')
