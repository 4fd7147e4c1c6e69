"""A runaway model script holding a write transaction costs its time limit, not the database."""
from __future__ import annotations

import threading
from xml.sax.saxutils import escape

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from cases.customers import Customer, create_customer
from cases.settings import Settings
from engine import store
from engine.errors import ScriptFailed
from tests.conftest import T0
from tests.engine.bpmn_snippets import doc, linear, process, script_task

SWALLOWED_LOOP = "try:\n    while True: pass\nexcept Exception: pass\nwhile True: pass"


def test_a_runaway_script_releases_the_write_lock_and_another_user_commits(db_engine, session):
    xml = doc(process(linear(script_task(escape(SWALLOWED_LOOP)))))
    (version,) = store.deploy(session, xml.encode(), filename="runaway.bpmn", uploaded_by="d",
                              now=T0, activate=True)
    session.commit()
    wrote, outcome = threading.Event(), {}

    def runaway_request():
        with Session(db_engine, expire_on_commit=False) as s:
            s.add(Customer(name="Runaway", account_number="R-1", created_at=T0))
            s.flush()  # holds the write lock now (SQLite), or a new row (PostgreSQL)
            wrote.set()
            try:
                store.create_instance(s, version, {}, now=T0, time_limit=1.0)
            except ScriptFailed as err:
                outcome["error"] = err
                s.rollback()

    thread = threading.Thread(target=runaway_request)
    thread.start()
    wrote.wait()
    with Session(db_engine, expire_on_commit=False) as other:
        create_customer(other, actor="ann", now=T0, name="Ada Byrne", account_number="C-1001")
    thread.join()
    assert outcome["error"].element_id == "Mid"
    assert "longer than 1 s" in str(outcome["error"])
    with Session(db_engine) as check:
        accounts = check.exec(select(Customer.account_number)).all()
    assert accounts == ["C-1001"]


def test_script_pool_settings_are_checked_at_startup():
    with pytest.raises(ValidationError, match="script_workers must be at least 1"):
        Settings(demo_mode=True, script_workers=0)
    with pytest.raises(ValidationError, match="script_memory_mb must be at least 64"):
        Settings(demo_mode=True, script_memory_mb=16)
    assert Settings(demo_mode=True, script_workers=4).script_workers == 4
