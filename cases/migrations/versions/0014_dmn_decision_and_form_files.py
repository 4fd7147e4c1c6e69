"""decision tables (.dmn) and Camunda forms (.form) as versioned files, pinned per process version

Revision ID: 0014_dmn
Revises: 0013_findwork
Create Date: 2026-12-01 15:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.store


revision = '0014_dmn'
down_revision = '0013_findwork'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('created_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('dmn', 'form')", name='ck_model_file_kind'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'key', 'content_hash', name='uq_model_file_key_hash'),
    sa.UniqueConstraint('kind', 'key', 'version', name='uq_model_file_key_version')
    )
    with op.batch_alter_table('model_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_file_key'), ['key'], unique=False)
    op.create_table('definition_file',
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('model_file_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['definition_version.id'], ),
    sa.ForeignKeyConstraint(['model_file_id'], ['model_file.id'], ),
    sa.PrimaryKeyConstraint('definition_id', 'model_file_id')
    )


def downgrade() -> None:
    op.drop_table('definition_file')
    with op.batch_alter_table('model_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_file_key'))
    op.drop_table('model_file')
