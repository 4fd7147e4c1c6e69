"""server-side sign-in sessions and failed sign-ins (throttling)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:20:00

A session row is keyed by the SHA-256 of the token the browser holds, never the token itself.
Browsers signed in before this revision hold no session token and are asked to sign in again.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.store


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('user_session',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', engine.store.UTCDateTime(timezone=True), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)
    op.create_table('signin_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('failed_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('signin_failure', schema=None) as batch_op:
        batch_op.create_index('ix_signin_failure_username_at', ['username', 'failed_at'], unique=False)
        batch_op.create_index('ix_signin_failure_address_at', ['address', 'failed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signin_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_signin_failure_address_at')
        batch_op.drop_index('ix_signin_failure_username_at')
    op.drop_table('signin_failure')
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))
    op.drop_table('user_session')
