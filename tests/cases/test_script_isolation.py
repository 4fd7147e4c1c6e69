"""A runaway model script holding a write transaction costs its time limit, not the database."""
from __future__ import annotations

import threading
from xml.sax.saxutils import escape

from sqlmodel import Session, select

from cases.customers import Customer, create_customer
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
