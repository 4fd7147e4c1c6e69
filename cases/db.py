"""Database engine and sessions: SQLite (WAL) by default, PostgreSQL by URL."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger("caseflow.db")


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> sa.Engine:
    """Create the SQLAlchemy engine; SQLite gets WAL, foreign keys and a busy timeout."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        ensure_sqlite_dir(url)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def ensure_sqlite_dir(url: str) -> None:
    """Create the folder of a SQLite file (var/ on a fresh clone)."""
    path = sa.engine.make_url(url).database
    if url.startswith("sqlite") and path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """Yield a session that rolls back on error; the service inside commits once."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        except Exception:
            session.rollback()
            raise


def upgrade(url: str) -> tuple[str | None, str | None]:
    """Run Alembic migrations up to head on the database at `url`; return the schema revision
    before and after (None before: the tables were created now)."""
    from alembic import command
    from alembic.config import Config

    ensure_sqlite_dir(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    before = schema_revision(url)
    command.upgrade(config, "head")
    after = schema_revision(url)
    if before != after:
        log.info("database schema upgraded from %s to %s", before or "nothing", after)
    return before, after


def schema_revision(url: str) -> str | None:
    """The Alembic revision the database at `url` is at (None for a database without tables)."""
    from alembic.runtime.migration import MigrationContext

    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


@lru_cache(maxsize=1)
def schema_heads() -> frozenset[str]:
    """The Alembic head revision(s) this Caseflow's migrations lead to (read once)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def current_revisions(conn: sa.Connection) -> frozenset[str]:
    """The revision(s) the connected database is at (empty: no Caseflow tables)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return frozenset()
    return frozenset(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def schema_status(engine: sa.Engine) -> tuple[frozenset[str], frozenset[str]]:
    """(current, head) revisions of the database behind `engine`; equal when it is migrated."""
    with engine.connect() as conn:
        return current_revisions(conn), schema_heads()
