"""PostgreSQL connections: a pooled connection the server dropped is replaced, not handed out."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

import threading

from sqlmodel import Session

from cases import db
from cases.db import make_engine

ON_POSTGRESQL = pytest.mark.parametrize("db_url", [pytest.param("postgresql",
                                                                  marks=pytest.mark.postgres)],
                                        indirect=True)


@pytest.fixture
def pg_url(db_url):
    return db_url


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def _drop(url: str, pid: int) -> None:
    admin = make_engine(url)
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


@ON_POSTGRESQL
def test_an_idle_connection_the_server_dropped_is_replaced(pg_url, monkeypatch):
    engine = make_engine(pg_url)
    try:
        first = _backend_pid(engine)
        _drop(pg_url, first)
        monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # as if it had waited in the pool a while
        assert _backend_pid(engine) != first  # answered on a new connection, no error
    finally:
        engine.dispose()


@ON_POSTGRESQL
def test_a_connection_used_moments_ago_is_not_pinged(pg_url):
    engine = make_engine(pg_url)
    try:
        first = _backend_pid(engine)
        pings = db._COUNTS["pings"]
        assert _backend_pid(engine) == first  # the same pooled connection, reused
        assert db._COUNTS["pings"] == pings
    finally:
        engine.dispose()


def test_sqlite_writers_queue_on_one_lock_that_every_ending_gives_back(tmp_path):
    """Each way a write transaction ends (commit, rollback, a session closed without either)
    gives the process's SQLite write lock back; reads never take it; threads all get their turn."""
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.sqlite3'}")
    lock = db.WRITE_LOCKS[engine]
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))

    def write(n, end="commit"):
        with Session(engine) as s:
            s.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": n})
            assert lock.locked()
            if end == "commit":
                s.commit()
            elif end == "rollback":
                s.rollback()

    for end in ("commit", "rollback", "close"):
        write(1, end)
        assert not lock.locked()
    with Session(engine) as s:
        assert s.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 1
        assert not lock.locked()

    threads = [threading.Thread(target=lambda i=i: [write(i) for _ in range(20)])
               for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with Session(engine) as s:
        assert s.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 1 + 6 * 20
    assert not lock.locked()
    engine.dispose()


def _prepared(session) -> int:
    return session.execute(sa.text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()


@ON_POSTGRESQL
def test_a_read_ends_in_a_commit_that_keeps_the_prepared_statements(pg_url):
    """end_read: psycopg forgets a connection's prepared statements on every ROLLBACK, so a
    transaction that only read commits instead; with changes pending it is left to roll back."""
    from cases.users import User

    engine = make_engine(pg_url, pool_size=1, pool_overflow=0)  # every session: one connection
    probe = sa.text("SELECT count(*) FROM case_record WHERE id > :n")
    try:
        with Session(engine) as session:
            for n in range(6):  # psycopg prepares a statement on its fifth run
                session.execute(probe, {"n": n})
            db.end_read(session)
            assert not session.in_transaction()
        with Session(engine) as session:
            assert _prepared(session) >= 1  # still there: the read committed
            session.add(User(username="pending", display_name="P", role="agent",
                             password_hash="x"))
            db.end_read(session)
            assert session.in_transaction()  # a change pending: left to roll back on close
        with Session(engine) as session:
            assert session.execute(sa.text(
                "SELECT count(*) FROM app_user WHERE username = 'pending'")).scalar_one() == 0
            assert _prepared(session) == 0  # and psycopg dropped them, as it does on ROLLBACK
    finally:
        engine.dispose()


def test_the_benchmarks_counts_come_from_the_driver_and_the_sessions(db_url, tmp_path,
                                                                     monkeypatch):
    """bench/http.py's SQL counts (CASEFLOW_BENCH_SQL_COUNTS): statements by the driver's cursor,
    transactions and commits by the sessions, and no listener on the engine's own events (which
    would slow every statement of the server being measured)."""
    import signal

    from sqlalchemy.orm import Session as OrmSession

    monkeypatch.setenv(db.SQL_COUNT_DIR, str(tmp_path))
    usr1 = signal.getsignal(signal.SIGUSR1)
    engine = make_engine(db_url)
    try:
        assert not engine._has_events  # SQLite's writer queue sits in the driver too
        with engine.connect():  # the first connection: the dialect's own set-up statements
            pass
        before = dict(db._COUNTS)
        with Session(engine) as session:
            session.execute(sa.text("SELECT count(*) FROM case_record")).scalar_one()
            session.execute(sa.text("SELECT count(*) FROM app_user")).scalar_one()
            session.commit()
        counted = {k: db._COUNTS[k] - before[k] for k in ("statements", "transactions",
                                                            "commits")}
        assert counted == {"statements": 2, "transactions": 1, "commits": 1}
    finally:
        engine.dispose()
        # what _count_sql set up for the whole process, undone for the tests that follow
        sa.event.remove(OrmSession, "after_begin", db._count_begin)
        sa.event.remove(OrmSession, "after_commit", db._count_commit)
        signal.signal(signal.SIGUSR1, usr1)
