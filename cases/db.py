"""Database engine and sessions: SQLite (WAL) by default, PostgreSQL by URL."""
from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import threading
import time
import weakref
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger("caseflow.db")

# bench/http.py sets this to a folder: each server process then counts its SQL statements and
# transactions and writes them to <folder>/<pid>.json when it receives SIGUSR1.
SQL_COUNT_DIR = "CASEFLOW_BENCH_SQL_COUNTS"


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, pool_size: int = 5, pool_overflow: int = 10) -> sa.Engine:
    """Create the SQLAlchemy engine; SQLite gets WAL, foreign keys and a busy timeout.

    PostgreSQL keeps up to `pool_size` idle connections and opens up to `pool_overflow` more
    under a burst, closing them when they come back (the server sizes its pool from Settings)."""
    url = normalize_url(url)
    counting = os.environ.get(SQL_COUNT_DIR)
    if url.startswith("sqlite"):
        ensure_sqlite_dir(url)
        lock = threading.Lock()
        engine = sa.create_engine(url, connect_args={
            "check_same_thread": False, "timeout": 30,
            "factory": _queued_sqlite(lock, counting=bool(counting))})
        WRITE_LOCKS[engine] = lock
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_overflow,
                                  connect_args=_counting_psycopg() if counting else {})
        sa.event.listen(engine.pool, "checkin", _note_checkin)
        sa.event.listen(engine.pool, "checkout", _ping_if_idle)
    if counting:
        _count_sql(engine, Path(counting))
    return engine


_COUNTS = {"statements": 0, "transactions": 0, "commits": 0, "checkouts": 0, "pings": 0,
           "connects": 0, "dumps": 0}


def _count_sql(engine: sa.Engine, folder: Path) -> None:
    """Count what this process sends to the database (for bench/http.py; off unless asked).

    Statements are counted by the driver's cursors (_counting_psycopg, _queued_sqlite),
    transactions and commits by the ORM sessions that run them: a listener on the engine's own
    events would put every statement of the process on SQLAlchemy's slower path for engines
    with events (about 5% more instructions per request), and the benchmark would measure it."""
    def bump(key):
        def listener(*_args, **_kwargs):
            _COUNTS[key] += 1
        return listener

    if not sa.event.contains(OrmSession, "after_begin", _count_begin):
        sa.event.listen(OrmSession, "after_begin", _count_begin)
        sa.event.listen(OrmSession, "after_commit", _count_commit)
    sa.event.listen(engine.pool, "checkout", bump("checkouts"))  # one pre-ping each, if on
    sa.event.listen(engine.pool, "connect", bump("connects"))  # new database connections

    def dump(*_args) -> None:
        _COUNTS["dumps"] += 1
        tmp = folder / f"{os.getpid()}.tmp"
        tmp.write_text(json.dumps(_COUNTS))
        tmp.replace(folder / f"{os.getpid()}.json")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGUSR1, dump)
        dump()  # tells the benchmark which processes count


def _count_begin(*_args) -> None:
    _COUNTS["transactions"] += 1


def _count_commit(*_args) -> None:
    _COUNTS["commits"] += 1


def _counting_psycopg() -> dict:
    """Connect arguments whose cursors count the statements they send (see _count_sql)."""
    import psycopg

    class CountingCursor(psycopg.Cursor):
        def execute(self, *args, **kwargs):
            _COUNTS["statements"] += 1
            return super().execute(*args, **kwargs)

        def executemany(self, *args, **kwargs):
            _COUNTS["statements"] += 1
            return super().executemany(*args, **kwargs)

    return {"cursor_factory": CountingCursor}


# A pooled connection that waited this long is checked before use (the server may have restarted
# or dropped it meanwhile); one handed back moments ago is not: under load that is every request,
# and a ping on each would be one more round trip per request.
PING_AFTER_IDLE = 5.0


def _note_checkin(_dbapi_connection, record) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """Ping a connection that sat idle in the pool; a dead one is replaced (the pool retries)."""
    checked_in = record.info.get("checked_in")
    if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE:
        return  # new, or in use moments ago
    _COUNTS["pings"] += 1
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_connection.commit()  # not a ROLLBACK: that would drop its prepared statements
    except Exception as err:  # noqa: BLE001 - any failure means this connection is unusable
        raise sa.exc.DisconnectionError(f"pooled connection is gone: {err}") from err


def end_read(session: Session) -> None:
    """Commit a transaction that only read (PostgreSQL): psycopg forgets a connection's prepared
    statements on every ROLLBACK (and sends DEALLOCATE ALL), and a session that ends without a
    commit rolls back, so every request that only read made PostgreSQL parse and plan the next
    requests' statements on that connection anew. The caller knows the work only read (a GET:
    what a GET changes it commits itself, like a token's last use); anything still pending in
    the session is left to roll back."""
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.commit()


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
WRITE_LOCKS: "weakref.WeakKeyDictionary[sa.Engine, threading.Lock]" = weakref.WeakKeyDictionary()


def _queued_sqlite(lock: threading.Lock, *, counting: bool = False) -> type:
    """The sqlite3 connection class of an engine: its writers wait their turn on `lock`.

    SQLite has one writer at a time; the others retry with growing sleeps (the busy timeout),
    so under load some wait seconds while later ones get in. Here a transaction takes the
    process's write lock before its first write and gives it back when it ends (commit,
    rollback, or the connection closed), so writers go in about the order they came. Other
    processes still meet SQLite's busy timeout. This sits in the driver's connection and cursor,
    not in SQLAlchemy's engine events: a listener there put every statement on SQLAlchemy's
    slower path for engines with events (about 5% more instructions per request). With
    `counting`, the cursors also count statements for the benchmark (_count_sql)."""

    class QueuedCursor(sqlite3.Cursor):
        def _before(self, sql: str) -> None:
            if counting:
                _COUNTS["statements"] += 1
            if not self.connection.writing and sql.lstrip()[:7].upper().startswith(WRITES):
                self.connection.take_turn()

        def execute(self, sql, *args):
            self._before(sql)
            return super().execute(sql, *args)

        def executemany(self, sql, *args):
            self._before(sql)
            return super().executemany(sql, *args)

    class QueuedConnection(sqlite3.Connection):
        writing = False

        def cursor(self, factory=QueuedCursor):
            return super().cursor(factory)

        def take_turn(self) -> None:
            # Never wait forever: past the busy timeout, SQLite itself says "locked".
            self.writing = lock.acquire(timeout=30)

        def _give_back(self) -> None:
            if self.writing:
                self.writing = False
                lock.release()

        def commit(self):
            try:
                return super().commit()
            finally:
                self._give_back()

        def rollback(self):
            try:
                return super().rollback()
            finally:
                self._give_back()

        def close(self):
            try:
                return super().close()
            finally:
                self._give_back()

    return QueuedConnection


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
