"""case search (PostgreSQL full-text, SQLite FTS5) and saved worklist filters

Revision ID: 0013_findwork
Revises: 0012_attach
Create Date: 2026-12-01 15:30:00
"""
import json

from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.store


revision = '0013_findwork'
down_revision = '0012_attach'
branch_labels = None
depends_on = None

# SQLite: an FTS5 table over case_search (external content), kept in step by triggers.
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE case_search_fts USING fts5(body, content='case_search', "
    "content_rowid='case_id', tokenize='porter unicode61')",
    "CREATE TRIGGER case_search_ai AFTER INSERT ON case_search BEGIN "
    "INSERT INTO case_search_fts(rowid, body) VALUES (new.case_id, new.body); END",
    "CREATE TRIGGER case_search_ad AFTER DELETE ON case_search BEGIN "
    "INSERT INTO case_search_fts(case_search_fts, rowid, body) "
    "VALUES ('delete', old.case_id, old.body); END",
    "CREATE TRIGGER case_search_au AFTER UPDATE ON case_search BEGIN "
    "INSERT INTO case_search_fts(case_search_fts, rowid, body) "
    "VALUES ('delete', old.case_id, old.body); "
    "INSERT INTO case_search_fts(rowid, body) VALUES (new.case_id, new.body); END",
]
# PostgreSQL: a GIN index on the document's tsvector (queries use the same expression).
PG_FTS = ("CREATE INDEX ix_case_search_fts ON case_search "
          "USING gin (to_tsvector('english', body))")


def upgrade() -> None:
    op.create_table('case_search',
    sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    op.create_table('saved_filter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('query', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('created_at', engine.store.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'name', name='uq_saved_filter_user_name')
    )
    with op.batch_alter_table('saved_filter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_filter_user_id'), ['user_id'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute(PG_FTS)
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)
    _backfill(bind)


def _backfill(bind) -> None:
    """Write the document of every existing case (the triggers fill FTS5 on SQLite)."""
    from cases.search.index import compose

    rows = bind.execute(sa.text(
        "SELECT c.id, c.process_id, u.name, u.account_number, u.email, u.phone, w.state "
        "FROM case_record c JOIN customer u ON u.id = c.customer_id "
        "LEFT JOIN workflow_instance w ON w.id = c.instance_id ORDER BY c.id")).all()
    notes: dict[int, list[str]] = {}
    for case_id, details in bind.execute(sa.text(
            "SELECT case_id, details FROM case_event WHERE type = 'note_added' "
            "ORDER BY case_id, seq")):
        notes.setdefault(case_id, []).append(json.loads(details).get("text", ""))
    from engine.clock import utcnow

    now = utcnow()
    table = sa.table('case_search', sa.column('case_id', sa.Integer), sa.column('body', sa.Text),
                     sa.column('updated_at', engine.store.UTCDateTime(timezone=True)))
    for row in rows:
        body = compose(row[0], process_id=row[1], customer=row[2:6], notes=notes.get(row[0], []),
                       state=row[6])
        bind.execute(table.insert().values(case_id=row[0], body=body, updated_at=now))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_case_search_fts")
    else:
        for name in ('case_search_ai', 'case_search_ad', 'case_search_au'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS case_search_fts")
    with op.batch_alter_table('saved_filter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_filter_user_id'))
    op.drop_table('saved_filter')
    op.drop_table('case_search')
