"""Shared fixtures: real databases (a SQLite file, and PostgreSQL when configured), a fake clock."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

import cases.models  # noqa: F401  (registers every table)
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
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


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
    url = sa.engine.make_url(normalize_url(PG_URL))
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


@contextmanager
def migrated_database(kind: str, folder: Path) -> Iterator[str]:
    """Yield the URL of a migrated, empty database: a SQLite file in `folder`, or a fresh schema
    on PostgreSQL (dropped afterwards; the test is skipped without CASEFLOW_TEST_DATABASE_URL)."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'caseflow.sqlite3'}"
        upgrade(url)
        yield url
        return
    if not PG_URL:
        pytest.skip("set CASEFLOW_TEST_DATABASE_URL to run PostgreSQL tests")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = _pg_schema_url(schema)
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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
