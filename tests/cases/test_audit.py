"""The hash-chained case event log: a clean chain verifies; edits, deletions and insertions show."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from typer.testing import CliRunner

from cases.audit import verify
from cases.case_models import WorkItem
from cases.case_service import complete_step, open_case
from cases.cli import app
from cases.db import make_engine
from cases.events import CaseEvent, event_hash
from tests.cases.conftest import People, deploy_shipped
from tests.cases.test_case_service import ORDER
from tests.conftest import T0


def _case_with_history(session, people, customer):
    case = open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="install_service", channel="web", priority=2)
    item = session.exec(select(WorkItem).where(WorkItem.case_id == case.id)).one()
    complete_step(session, actor=people.ann, now=T0 + timedelta(minutes=5), case_id=case.id,
                  work_item_id=item.id, data=ORDER, expected_version=case.row_version)
    return case


def _events(session, case_id):
    session.expire_all()
    return session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)
                        .order_by(CaseEvent.seq)).all()


def _sql(session, statement, **params):
    session.execute(sa.text(statement), params)
    session.commit()


@pytest.fixture
def case(session, install, people, customer):
    return _case_with_history(session, people, customer)


def test_a_clean_chain_verifies(session, case):
    events = _events(session, case.id)
    assert len(events) >= 4 and events[0].prev_hash is None
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
    assert verify(session, case.id) == [] and verify(session) == []


def test_an_edited_event_is_found(session, case):
    completed = next(e for e in _events(session, case.id) if e.type == "task_completed")
    forged = json.loads(completed.details)
    forged["data"]["product"] = "tv"
    _sql(session, "UPDATE case_event SET details = :d WHERE id = :id",
         d=json.dumps(forged), id=completed.id)
    [finding] = verify(session, case.id)
    assert (finding.kind, finding.seq) == ("edited", completed.seq)


def test_an_edited_event_with_a_recomputed_hash_breaks_the_next_link(session, case):
    first = _events(session, case.id)[0]
    details = {**json.loads(first.details), "channel": "store"}
    digest = event_hash(prev_hash=None, case_id=case.id, seq=1, type=first.type, actor=first.actor,
                        at=first.at, element_id=first.element_id, details=details)
    _sql(session, "UPDATE case_event SET details = :d, hash = :h WHERE id = :id",
         d=json.dumps(details), h=digest, id=first.id)
    assert [(f.kind, f.seq) for f in verify(session, case.id)] == [("edited", 1)]


def test_a_deleted_event_is_found_in_the_middle_and_at_the_end(session, case):
    events = _events(session, case.id)
    _sql(session, "DELETE FROM case_event WHERE id = :id", id=events[1].id)
    assert [(f.kind, f.seq) for f in verify(session, case.id)] == [("deleted", 2)]
    _sql(session, "DELETE FROM case_event WHERE id = :id", id=events[-1].id)
    assert ("deleted", events[-1].seq) in [(f.kind, f.seq) for f in verify(session, case.id)]


def test_an_inserted_event_is_found_even_with_a_valid_hash(session, case):
    last = _events(session, case.id)[-1]
    seq, at, details = last.seq + 1, last.at + timedelta(minutes=1), {"work_item_id": 1}
    digest = event_hash(prev_hash=last.hash, case_id=case.id, seq=seq, type="task_completed",
                        actor="mallory", at=at, element_id="Task_CheckEligibility", details=details)
    session.add(CaseEvent(case_id=case.id, seq=seq, type="task_completed", actor="mallory", at=at,
                          element_id="Task_CheckEligibility", details=json.dumps(details),
                          prev_hash=last.hash, hash=digest))
    session.commit()
    assert [(f.kind, f.seq) for f in verify(session, case.id)] == [("inserted", seq)]


def test_cli_audit_verify_exits_one_on_findings(tmp_path, monkeypatch):
    from cases.db import upgrade
    from cases.customers import create_customer
    from cases.users import create_user

    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    monkeypatch.setenv("CASEFLOW_DATABASE_URL", url)
    monkeypatch.setenv("CASEFLOW_SECRET_KEY", "k" * 40)
    upgrade(url)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        deploy_shipped(session, "install_service")
        ann = create_user(session, username="ann", password="correct horse", role="agent", now=T0,
                          teams=["Customer Care"])
        session.commit()
        customer = create_customer(session, actor="ann", now=T0, name="Ada", account_number="A-1")
        case = _case_with_history(session, People(ann, ann, ann, ann), customer)
    runner = CliRunner()
    clean = runner.invoke(app, ["audit", "verify"])
    assert clean.exit_code == 0 and "intact" in clean.output
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE case_event SET actor = 'mallory' WHERE case_id = :c AND seq = 1"),
                     {"c": case.id})
    engine.dispose()
    tampered = runner.invoke(app, ["audit", "verify", "--case", str(case.id)])
    assert tampered.exit_code == 1
    assert f"case {case.id} event 1: edited" in tampered.output
