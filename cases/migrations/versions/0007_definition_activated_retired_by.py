"""definition version: who activated it, when and by whom it was retired

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 21:45:00

Versions activated or retired before this revision have no name recorded (NULL): it was not kept.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.store


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('definition_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activated_by', sqlmodel.sql.sqltypes.AutoString(length=255),
                                      nullable=True))
        batch_op.add_column(sa.Column('retired_at', engine.store.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('retired_by', sqlmodel.sql.sqltypes.AutoString(length=255),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('definition_version', schema=None) as batch_op:
        batch_op.drop_column('retired_by')
        batch_op.drop_column('retired_at')
        batch_op.drop_column('activated_by')
