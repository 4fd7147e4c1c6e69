"""the transactional outbox, webhook subscriptions and their deliveries

Revision ID: 0010_hooks
Revises: 0009
Create Date: 2026-12-01 13:23:20

Events recorded before this revision are not in the outbox: webhooks announce what happens from
now on.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.store


revision = '0010_hooks'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('events', sa.Text(), nullable=False),
    sa.Column('processes', sa.Text(), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('outbox_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('process_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('dispatched_at', engine.store.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', name='uq_outbox_event_event_id')
    )
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_event_undispatched', ['dispatched_at', 'id'], unique=False)

    op.create_table('webhook_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', engine.store.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_response', sa.Text(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_duration_ms', sa.Integer(), nullable=True),
    sa.Column('log', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')",
                       name='ck_webhook_delivery_status'),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox_event.id'], ),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscription.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subscription_id', 'outbox_id', name='uq_webhook_delivery_event')
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_status', ['status', 'id'], unique=False)
        batch_op.create_index('ix_webhook_delivery_stream',
                              ['subscription_id', 'case_id', 'status', 'outbox_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_delivery_stream')
        batch_op.drop_index('ix_webhook_delivery_status')

    op.drop_table('webhook_delivery')
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_event_undispatched')

    op.drop_table('outbox_event')
    op.drop_table('webhook_subscription')
