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


def test_0006_fills_in_version_and_minutes_of_existing_work_items(db_url, db_engine, session,
                                                                  install, people, customer):
    from datetime import UTC, datetime, timedelta

    from sqlmodel import select

    from cases.case_models import WorkItem
    from cases.case_service import complete_step, open_case

    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    case = open_case(session, actor=people.ann, now=t0, customer_id=customer.id,
                     process_id="install_service", channel="phone")
    first = session.exec(select(WorkItem).where(WorkItem.case_id == case.id)).one()
    complete_step(session, actor=people.ann, now=t0 + timedelta(minutes=44, seconds=31),
                  case_id=case.id, work_item_id=first.id, expected_version=case.row_version,
                  data={"customer_id": "C-1001", "product": "fibre_broadband",
                        "installation_address": "12 Harbour Road", "contact_phone": "+353 1 555",
                        "requested_date": "2026-03-10"})
    assert session.get(WorkItem, first.id).minutes_spent == 45   # written when the step is done
    session.close()

    command.downgrade(_config(db_url), "0005")
    assert "minutes_spent" not in {c["name"] for c in sa.inspect(db_engine).get_columns("work_item")}
    command.upgrade(_config(db_url), "head")
    with db_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, definition_id, state, minutes_spent FROM work_item "
                                    "ORDER BY id")).all()
    assert [(r.definition_id, r.state, r.minutes_spent) for r in rows] == [
        (case.definition_id, "done", 45), (case.definition_id, "open", None)]


def test_0007_downgrades_and_upgrades_again(db_url, db_engine):
    command.downgrade(_config(db_url), "0006")
    assert "retired_by" not in {c["name"] for c in sa.inspect(db_engine).get_columns("definition_version")}
    command.upgrade(_config(db_url), "head")
    assert {"activated_by", "retired_at", "retired_by"} <= {
        c["name"] for c in sa.inspect(db_engine).get_columns("definition_version")}


def test_0017_downgrades_and_upgrades_again_keeping_the_instances(db_url, db_engine, session,
                                                                  install, people, customer):
    from datetime import UTC, datetime

    from cases.case_service import open_case

    case = open_case(session, actor=people.ann, now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
                     customer_id=customer.id, process_id="install_service", channel="phone")
    instance_id = case.instance_id
    session.close()
    with db_engine.connect() as conn:  # written with its state
        assert conn.execute(sa.text("SELECT data_digest FROM workflow_instance WHERE id = :id"),
                            {"id": instance_id}).scalar_one()
    command.downgrade(_config(db_url), "0016_perf2")
    assert "data_digest" not in {c["name"] for c in
                                 sa.inspect(db_engine).get_columns("workflow_instance")}
    command.upgrade(_config(db_url), "head")
    with db_engine.connect() as conn:  # the row kept; its digest not known until its next save
        assert conn.execute(sa.text("SELECT data_digest FROM workflow_instance WHERE id = :id"),
                            {"id": instance_id}).one() == (None,)
