"""The keyed case event chain: a clean chain verifies; edits, deletions, insertions and chains
recomputed without the audit key show, naming the case and the event; old plain chains rekey."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from typer.testing import CliRunner

from cases.audit import check, rekey, verify
from cases.audit_key import configured_audit_key
from cases.case_models import WorkItem
from cases.case_service import complete_step, open_case
from cases.cli import app
from cases.db import make_engine
from cases.events import CaseEvent, event_hash
from cases.settings import Settings
from tests.cases.conftest import People, deploy_shipped
from tests.cases.test_case_service import ORDER
from tests.conftest import T0, TEST_AUDIT_KEY, fresh_sqlite

KEY = TEST_AUDIT_KEY.encode()


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
    digest = event_hash(key=None, prev_hash=None, case_id=case.id, seq=1, type=first.type,
                        actor=first.actor, at=first.at, element_id=first.element_id,
                        details=details)
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
    digest = event_hash(key=KEY, prev_hash=last.hash, case_id=case.id, seq=seq,
                        type="task_completed", actor="mallory", at=at,
                        element_id="Task_CheckEligibility", details=details)
    session.add(CaseEvent(case_id=case.id, seq=seq, type="task_completed", actor="mallory", at=at,
                          element_id="Task_CheckEligibility", details=json.dumps(details),
                          prev_hash=last.hash, hash=digest))
    session.commit()
    assert [(f.kind, f.seq) for f in verify(session, case.id)] == [("inserted", seq)]


def _rechain(session, case_id: int, key: bytes | None, from_seq: int = 1) -> None:
    """Recompute the chain from `from_seq` on with `key` (None: plain SHA-256), as someone with
    write access to the database would after editing an event; also old chains look like this."""
    events = _events(session, case_id)
    prev = next((e.hash for e in events if e.seq == from_seq - 1), None)
    for e in events[from_seq - 1:]:
        digest = event_hash(key=key, prev_hash=prev, case_id=case_id, seq=e.seq, type=e.type,
                            actor=e.actor, at=e.at, element_id=e.element_id,
                            details=json.loads(e.details))
        session.execute(sa.text("UPDATE case_event SET prev_hash = :p, hash = :h WHERE id = :id"),
                        {"p": prev, "h": digest, "id": e.id})
        prev = digest
    _sql(session, "UPDATE case_record SET event_hash = :h WHERE id = :id", h=prev, id=case_id)


def _forge_completed(session, case_id: int):
    completed = next(e for e in _events(session, case_id) if e.type == "task_completed")
    forged = {**json.loads(completed.details), "actor_note": "forged"}
    _sql(session, "UPDATE case_event SET details = :d WHERE id = :id",
         d=json.dumps(forged), id=completed.id)
    return completed


def test_events_are_chained_with_the_audit_key_not_a_plain_hash(session, case):
    first = _events(session, case.id)[0]
    plain = event_hash(key=None, prev_hash=None, case_id=case.id, seq=1, type=first.type,
                       actor=first.actor, at=first.at, element_id=first.element_id,
                       details=json.loads(first.details))
    assert len(first.hash) == 64 and first.hash != plain
    assert check(session, case.id).events == len(_events(session, case.id))


def test_an_edit_with_the_chain_recomputed_without_the_key_is_found_at_the_edited_event(
        session, case):
    completed = _forge_completed(session, case.id)
    _rechain(session, case.id, key=None, from_seq=completed.seq)
    [finding] = verify(session, case.id)
    assert (finding.kind, finding.seq, finding.type) == ("edited", completed.seq, "task_completed")
    assert finding.at == completed.at and "without the audit key" in finding.message


def test_a_whole_chain_recomputed_without_the_key_is_not_intact(session, case):
    _forge_completed(session, case.id)
    _rechain(session, case.id, key=None)
    [finding] = verify(session, case.id)
    assert (finding.kind, finding.seq, finding.type) == ("unkeyed", 1, "case_opened")
    assert "plain SHA-256" in finding.message and "rekey" in finding.message


def test_a_chain_recomputed_under_another_key_matches_nothing(session, case):
    _forge_completed(session, case.id)
    _rechain(session, case.id, key=b"m" * 40)
    findings = verify(session, case.id)
    assert {f.kind for f in findings} == {"edited"}
    assert [f.seq for f in findings] == [e.seq for e in _events(session, case.id)]


def test_verifying_with_another_key_fails_every_event(session, case):
    findings = verify(session, case.id, key=b"another-key-" * 4)
    assert len(findings) == len(_events(session, case.id))
    assert all(f.message == "its content does not match its hash" for f in findings)


def test_an_old_plain_chain_is_unkeyed_until_rekeyed_then_intact(session, case, people):
    _rechain(session, case.id, key=None)  # as written before the audit key existed
    [finding] = verify(session, case.id)
    assert finding.kind == "unkeyed"
    report = rekey(session)
    assert (report.cases, report.events, report.refused) == (1, len(_events(session, case.id)), [])
    assert verify(session) == []
    assert rekey(session).cases == 0  # once is enough
    _forge_completed(session, case.id)  # and from now on an edit shows again
    assert [f.kind for f in verify(session, case.id)] == ["edited"]


def test_rekey_refuses_an_old_chain_that_was_edited(session, case):
    _rechain(session, case.id, key=None)
    completed = _forge_completed(session, case.id)
    report = rekey(session, case.id)
    assert report.cases == 0
    assert ("edited", completed.seq) in [(f.kind, f.seq) for f in report.refused]
    assert ("edited", completed.seq) in [(f.kind, f.seq) for f in verify(session, case.id)]


def test_an_old_plain_prefix_is_anchored_by_the_next_keyed_event(session, case, people):
    _rechain(session, case.id, key=None)
    item = session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                               WorkItem.state == "open")).first()
    session.refresh(case)
    complete_step(session, actor=people.ann, now=T0 + timedelta(minutes=9), case_id=case.id,
                  work_item_id=item.id, data={"address_serviceable": True,
                                              "credit_result": "passed"},
                  expected_version=case.row_version)
    assert verify(session, case.id) == []
    first = _events(session, case.id)[0]
    _sql(session, "UPDATE case_event SET actor = 'mallory' WHERE id = :id", id=first.id)
    assert [(f.kind, f.seq) for f in verify(session, case.id)] == [("edited", 1)]


def _cli_case(tmp_path, monkeypatch):
    from cases.customers import create_customer
    from cases.users import create_user

    url = fresh_sqlite(tmp_path / 'audit.sqlite3')
    monkeypatch.setenv("CASEFLOW_DATABASE_URL", url)
    monkeypatch.setenv("CASEFLOW_SECRET_KEY", "k" * 40)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        deploy_shipped(session, "install_service")
        ann = create_user(session, username="ann", password="Tq7-vine-Orbit-92x", role="agent",
                          now=T0, teams=["Customer Care"])
        session.commit()
        customer = create_customer(session, actor="ann", now=T0, name="Ada", account_number="A-1")
        case = _case_with_history(session, People(ann, ann, ann, ann), customer)
    return engine, case


def test_cli_audit_verify_names_the_case_and_event_and_exits_one(tmp_path, monkeypatch):
    engine, case = _cli_case(tmp_path, monkeypatch)
    runner = CliRunner()
    clean = runner.invoke(app, ["audit", "verify"])
    assert clean.exit_code == 0, clean.output
    with Session(engine) as session:
        count = len(_events(session, case.id))
    assert f"intact: {count} events in 1 case(s)" in clean.output
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE case_event SET actor = 'mallory' "
                             "WHERE case_id = :c AND seq = 1"), {"c": case.id})
    engine.dispose()
    tampered = runner.invoke(app, ["audit", "verify", "--case", str(case.id)])
    assert tampered.exit_code == 1
    assert (f"case {case.id} event 1 (case_opened at 2026-03-02T09:00:00+00:00): edited: its "
            "content does not match its hash") in tampered.output


def test_cli_audit_rekey_then_verify(tmp_path, monkeypatch):
    engine, case = _cli_case(tmp_path, monkeypatch)
    with Session(engine, expire_on_commit=False) as session:
        _rechain(session, case.id, key=None)
    engine.dispose()
    runner = CliRunner()
    before = runner.invoke(app, ["audit", "verify"])
    assert before.exit_code == 1 and f"case {case.id} event 1 (case_opened" in before.output
    assert "unkeyed" in before.output
    done = runner.invoke(app, ["audit", "rekey"])
    assert done.exit_code == 0 and "in 1 case(s)" in done.output
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0


def test_cli_wrong_key_gets_a_hint(tmp_path, monkeypatch):
    _cli_case(tmp_path, monkeypatch)
    monkeypatch.setenv("CASEFLOW_AUDIT_KEY", "z" * 40)
    configured_audit_key.cache_clear()
    try:
        result = CliRunner().invoke(app, ["audit", "verify"])
    finally:
        monkeypatch.setenv("CASEFLOW_AUDIT_KEY", TEST_AUDIT_KEY)
        configured_audit_key.cache_clear()
    assert result.exit_code == 1 and "is CASEFLOW_AUDIT_KEY the key" in result.output


def test_no_audit_key_outside_demo_mode_refuses_to_start_in_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("CASEFLOW_AUDIT_KEY")
    monkeypatch.delenv("CASEFLOW_DEMO_MODE", raising=False)
    monkeypatch.setenv("CASEFLOW_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("CASEFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Caseflow cannot start: Set CASEFLOW_AUDIT_KEY")
    monkeypatch.setenv("CASEFLOW_AUDIT_KEY", "too-short")
    with pytest.raises(ValueError, match="too short"):
        Settings()


def test_demo_mode_creates_a_key_file_once_and_keeps_using_it(tmp_path, monkeypatch):
    monkeypatch.delenv("CASEFLOW_AUDIT_KEY")
    key_file = tmp_path / "var" / "audit.key"
    first = Settings(demo_mode=True, audit_key_file=key_file).audit_key
    assert key_file.read_text().strip() == first and len(first) == 64
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert Settings(demo_mode=True, audit_key_file=key_file).audit_key == first  # a restart
    monkeypatch.setenv("CASEFLOW_DEMO_MODE", "true")
    monkeypatch.setenv("CASEFLOW_AUDIT_KEY_FILE", str(key_file))
    configured_audit_key.cache_clear()
    try:
        assert configured_audit_key() == first.encode()
    finally:
        configured_audit_key.cache_clear()


def test_events_of_a_transaction_that_ended_unwritten_stay_out_of_the_next(session, case,
                                                                           customer):
    """Events wait in the session until the transaction writes them (cases/events.py): a
    transaction closed without writing them must not hand them to the session's next one,
    where they would land outside the chain the case row knows."""
    from cases import events

    case_id, customer_id = case.id, customer.id
    before = [e.seq for e in _events(session, case_id)]
    events.record(session, case, "note_added", actor="ann", at=T0, details={"text": "lost"})
    session.close()  # the request ended: no commit, no rollback called
    other = session.get(type(customer), customer_id)  # the session lives on for something else
    other.name = "Ann Other"
    session.commit()
    assert [e.seq for e in _events(session, case_id)] == before
    assert verify(session, case_id) == []
