"""work item: version and minutes spent, for the insights; an index for unassigned worklists

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 21:10:00

Existing rows are filled in: `definition_id` from their case's current version (a case migrated
before this revision counts its earlier steps under the version it is in now), `minutes_spent`
from the timestamps of the steps that are done.
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _minutes_sql(dialect: str) -> str:
    if dialect == "postgresql":
        return "CAST(round(extract(epoch FROM completed_at - created_at) / 60) AS INTEGER)"
    return "CAST(round((julianday(completed_at) - julianday(created_at)) * 1440) AS INTEGER)"


def upgrade() -> None:
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('definition_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('minutes_spent', sa.Integer(), nullable=True))
    op.execute("UPDATE work_item SET definition_id = (SELECT c.definition_id FROM case_record c "
               "WHERE c.id = work_item.case_id)")
    dialect = op.get_bind().dialect.name
    op.execute(f"UPDATE work_item SET minutes_spent = {_minutes_sql(dialect)} "
               "WHERE state = 'done' AND completed_at IS NOT NULL")
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.alter_column('definition_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_work_item_definition_id_definition_version',
                                    'definition_version', ['definition_id'], ['id'])
        batch_op.create_index('ix_work_item_version_element',
                              ['definition_id', 'element_id', 'case_id', 'kind', 'state', 'due_at',
                               'completed_at', 'team'], unique=False)
        batch_op.create_index('ix_work_item_version_done_minutes',
                              ['definition_id', 'state', 'element_id', 'minutes_spent', 'kind'],
                              unique=False)
        # the unassigned worklist (assignee NULL, team IN ...) seeks instead of filtering rows
        batch_op.drop_index('ix_work_item_state_assignee_due')
        batch_op.create_index('ix_work_item_state_assignee_team_due',
                              ['state', 'assignee_id', 'team', 'due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_index('ix_work_item_state_assignee_team_due')
        batch_op.create_index('ix_work_item_state_assignee_due', ['state', 'assignee_id', 'due_at'],
                              unique=False)
        batch_op.drop_index('ix_work_item_version_done_minutes')
        batch_op.drop_index('ix_work_item_version_element')
        batch_op.drop_constraint('fk_work_item_definition_id_definition_version',
                                 type_='foreignkey')
        batch_op.drop_column('minutes_spent')
        batch_op.drop_column('definition_id')
