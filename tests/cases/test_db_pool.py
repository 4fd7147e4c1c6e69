"""PostgreSQL connections: a pooled connection the server dropped is replaced, not handed out."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from cases import db
from cases.db import make_engine

pytestmark = pytest.mark.postgres
ON_POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


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
