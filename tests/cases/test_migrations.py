"""Alembic migrations match the models and go down and up again."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from cases.db import MIGRATIONS_DIR, normalize_url


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def test_migrations_match_the_models(db_url):
    command.check(_config(db_url))  # raises when autogenerate would find a difference


def test_0002_downgrades_and_upgrades_again(db_url, db_engine):
    case_tables = {"customer", "case_record", "work_item", "case_event"}
    command.downgrade(_config(db_url), "0001")
    assert not case_tables & set(sa.inspect(db_engine).get_table_names())
    command.upgrade(_config(db_url), "head")
    assert case_tables <= set(sa.inspect(db_engine).get_table_names())


def test_0003_downgrades_and_upgrades_again(db_url, db_engine):
    command.downgrade(_config(db_url), "0002")
    inspector = sa.inspect(db_engine)
    assert not {"reason_code", "deviation"} & set(inspector.get_table_names())
    assert "held_at" not in {c["name"] for c in inspector.get_columns("case_record")}
    command.upgrade(_config(db_url), "head")
    assert {"reason_code", "deviation"} <= set(sa.inspect(db_engine).get_table_names())


def test_0004_downgrades_and_upgrades_again(db_url, db_engine):
    command.downgrade(_config(db_url), "0003")
    inspector = sa.inspect(db_engine)
    assert "approval_request" not in inspector.get_table_names()
    assert "sla_state" not in {c["name"] for c in inspector.get_columns("work_item")}
    command.upgrade(_config(db_url), "head")
    inspector = sa.inspect(db_engine)
    assert "approval_request" in inspector.get_table_names()
    assert "sla_state" in {c["name"] for c in inspector.get_columns("case_record")}


def test_0005_downgrades_and_upgrades_again(db_url, db_engine):
    command.downgrade(_config(db_url), "0004")
    assert "api_token" not in sa.inspect(db_engine).get_table_names()
    command.upgrade(_config(db_url), "head")
    assert "api_token" in sa.inspect(db_engine).get_table_names()
