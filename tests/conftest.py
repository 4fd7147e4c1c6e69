"""Shared fixtures: real databases (a SQLite file, and PostgreSQL when configured), a fake clock."""
from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlmodel import Session, SQLModel

import cases.models
import cases.users
from cases.db import make_engine, normalize_url, upgrade

# The job executor runs inside the app by default; tests start it themselves where they test it.
os.environ.setdefault("CASEFLOW_RUN_JOBS", "false")
# Every event is chained under this key (cases/audit_key.py); tests that need another set their own.
TEST_AUDIT_KEY = "test-audit-key-0123456789abcdef0123456789abcdef"
os.environ["CASEFLOW_AUDIT_KEY"] = TEST_AUDIT_KEY

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
BPMN_DIR = ROOT / "bpmn"
DATA = Path(__file__).resolve().parent / "engine" / "data"
PG_URL = os.environ.get("CASEFLOW_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# Passwords are hashed with argon2id as in production, at its lowest cost: the suite creates and
# signs in users thousands of times, and the default cost (about 0.3 s a hash here) was minutes of
# it. Production keeps argon2-cffi's defaults (cases/users.py); a hash carries its own parameters,
# so servers started by the tests verify these cheap hashes at their own cost.
cases.users._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def pytest_configure(config):
    if IN_CI and not PG_URL:
        raise pytest.UsageError("CI=true needs CASEFLOW_TEST_DATABASE_URL: PostgreSQL tests must run")


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> datetime:
        from datetime import timedelta

        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _pg_schema_url(schema: str) -> str:
    """The test schema's URL. Its sessions commit without waiting for the WAL flush
    (`synchronous_commit=off`: a crash could lose the last commits, which tests never look for;
    commits stay atomic and isolated), which takes a quarter off the PostgreSQL tests' time."""
    url = sa.engine.make_url(normalize_url(PG_URL))
    options = f"-csearch_path={schema} -csynchronous_commit=off"
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


# Migrating from nothing costs about half a second, and the suite wants a fresh database
# hundreds of times. SQLite: each test process migrates one template file, the first time it needs
# one, and hands out copies (a millisecond). test_migrations.py still migrates step by step.
_TEMPLATES: dict[str, str] = {}


def fresh_sqlite(path: Path) -> str:
    """Make `path` a migrated, empty SQLite database (a copy of this process's template); its URL."""
    if "sqlite" not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="caseflow-template-"))
        atexit.register(shutil.rmtree, folder, True)
        upgrade(f"sqlite:///{folder / 'template.sqlite3'}")
        _TEMPLATES["sqlite"] = str(folder / "template.sqlite3")
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(_TEMPLATES["sqlite"]) as source, sqlite3.connect(path) as target:
        source.backup(target)
    source.close()
    target.close()
    return f"sqlite:///{path}"


def _pg_admin() -> sa.Engine:
    return sa.create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT",
                            poolclass=sa.pool.NullPool)


# PostgreSQL: a schema per test, migrated once and reused. When a test ends, its schema is emptied
# (TRUNCATE ... RESTART IDENTITY: ids start at 1 again) and handed to the next test of this
# process, unless the test left it at another revision (the downgrade tests) or something still
# holds its tables; then it is dropped. A migration puts no rows into an empty database, so an
# emptied schema is a migrated one.
_PG_FREE: list[str] = []
_PG_ALL: list[str] = []


def _pg_drop_all() -> None:
    if _PG_ALL:
        with _pg_admin().connect() as conn:
            for schema in _PG_ALL:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def _pg_schema(admin: sa.Engine) -> str:
    if _PG_FREE:
        return _PG_FREE.pop()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    if not _PG_ALL:
        atexit.register(_pg_drop_all)
    _PG_ALL.append(schema)
    upgrade(_pg_schema_url(schema))
    return schema


def _pg_release(admin: sa.Engine, schema: str) -> None:
    with admin.connect() as conn:
        try:
            conn.execute(sa.text("SET lock_timeout = '2s'"))
            head = conn.execute(sa.text(f'SELECT version_num FROM "{schema}".alembic_version')).scalar()
            if head != _pg_head():
                raise LookupError(head)
            _pg_empty(conn, schema)
            _PG_FREE.append(schema)
        except (LookupError, sa.exc.DBAPIError):
            conn.execute(sa.text("SET lock_timeout = 0"))
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            _PG_ALL.remove(schema)


def _pg_empty(conn: sa.Connection, schema: str) -> None:
    """Empty the tables that have rows (TRUNCATE of all fifty costs a quarter of a second) and
    start every used sequence again at 1."""
    tables = conn.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename <> 'alembic_version'"),
        {"s": schema}).scalars().all()
    has_rows = conn.execute(sa.text("SELECT " + ", ".join(
        f'EXISTS (SELECT 1 FROM "{schema}"."{t}")' for t in tables))).one()
    used = [f'"{schema}"."{t}"' for t, rows in zip(tables, has_rows, strict=True) if rows]
    if used:
        conn.execute(sa.text(f"TRUNCATE {', '.join(used)} CASCADE"))
    for sequence in conn.execute(sa.text(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = :s AND last_value IS NOT NULL"),
            {"s": schema}).scalars():
        conn.execute(sa.text(f'ALTER SEQUENCE "{schema}"."{sequence}" RESTART'))


def _pg_head() -> str:
    if "head" not in _TEMPLATES:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        from cases.db import MIGRATIONS_DIR

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        _TEMPLATES["head"] = ScriptDirectory.from_config(config).get_current_head()
    return _TEMPLATES["head"]


@contextmanager
def migrated_database(kind: str, folder: Path) -> Iterator[str]:
    """Yield the URL of a migrated, empty database: a SQLite file in `folder` (a copy of this
    process's template), or a schema of its own on PostgreSQL (emptied or dropped afterwards;
    PostgreSQL tests skip without CASEFLOW_TEST_DATABASE_URL)."""
    if kind == "sqlite":
        yield fresh_sqlite(folder / "caseflow.sqlite3")
        return
    if not PG_URL:
        pytest.skip("set CASEFLOW_TEST_DATABASE_URL to run PostgreSQL tests")
    admin = _pg_admin()
    schema = _pg_schema(admin)
    try:
        yield _pg_schema_url(schema)
    finally:
        _pg_release(admin, schema)


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path):
    """A migrated, empty database URL: a SQLite file, or a fresh schema on PostgreSQL."""
    with migrated_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def db_engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(db_engine):
    with Session(db_engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def sqlite_engine(tmp_path):
    """A SQLite file with tables from the models (for tests that need no PostgreSQL variant)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'plain.sqlite3'}")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()
