"""reason-code catalog, deviation log (refuses rows without a reason), case hold columns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:21:36.434228
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.store


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reason_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kinds', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('processes', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('note_required', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reason_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reason_code_code'), ['code'], unique=True)

    op.create_table('deviation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('element_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('reason_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('approver', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('skip', 'go_back', 'jump_to', 'override_decision', 'add_task', 'reassign', 'extend_deadline', 'hold', 'resume', 'cancel', 'edit_data')", name='ck_deviation_kind'),
    sa.CheckConstraint('length(trim(reason_code)) > 0 AND length(trim(note)) > 0', name='ck_deviation_reason'),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ),
    sa.ForeignKeyConstraint(['definition_id'], ['definition_version.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deviation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deviation_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_deviation_definition_kind_element', ['definition_id', 'kind', 'element_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deviation_reason_code'), ['reason_code'], unique=False)

    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_at', engine.store.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('hold_category', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_column('hold_category')
        batch_op.drop_column('held_at')

    with op.batch_alter_table('deviation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deviation_reason_code'))
        batch_op.drop_index('ix_deviation_definition_kind_element')
        batch_op.drop_index(batch_op.f('ix_deviation_case_id'))

    op.drop_table('deviation')
    with op.batch_alter_table('reason_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reason_code_code'))

    op.drop_table('reason_code')
