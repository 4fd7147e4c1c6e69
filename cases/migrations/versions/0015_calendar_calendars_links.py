"""business calendars (business_calendar, team_calendar) and linked cases (case_link)

Revision ID: 0015_calendar
Revises: 0014_dmn
Create Date: 2026-12-01 15:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.store


revision = '0015_calendar'
down_revision = '0014_dmn'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('business_calendar',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('subdivision', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('hours', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('updated_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('team_calendar',
    sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['business_calendar.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team')
    )
    op.create_table('case_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('other_case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('related', 'parent', 'duplicate', 'repeat_contact')",
                       name='ck_case_link_kind'),
    sa.CheckConstraint('case_id <> other_case_id', name='ck_case_link_not_self'),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ),
    sa.ForeignKeyConstraint(['other_case_id'], ['case_record.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'other_case_id', name='uq_case_link_pair')
    )
    with op.batch_alter_table('case_link', schema=None) as batch_op:
        batch_op.create_index('ix_case_link_other_kind', ['other_case_id', 'kind'], unique=False)
        batch_op.create_index('ix_case_link_kind_case', ['kind', 'case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_link', schema=None) as batch_op:
        batch_op.drop_index('ix_case_link_kind_case')
        batch_op.drop_index('ix_case_link_other_kind')
    op.drop_table('case_link')
    op.drop_table('team_calendar')
    op.drop_table('business_calendar')
