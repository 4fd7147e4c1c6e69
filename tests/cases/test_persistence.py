"""Definitions and workflow instances stored in a real database (SQLite file; PostgreSQL when set)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from cases.definitions import deploy_file, list_definitions
from engine import store
from engine.errors import InvalidBpmn
from engine.store import DefinitionVersion, StaleState, WorkflowInstance
from tests.conftest import DATA, T0


def _deploy(session, name="deviations.bpmn", activate=True):
    return deploy_file(session, (DATA / name).read_bytes(), filename=name, actor="designer",
                       now=T0, activate=activate)


def test_alembic_upgrade_creates_every_table(db_engine):
    names = set(sa.inspect(db_engine).get_table_names())
    assert {"definition_version", "workflow_instance", "app_user", "alembic_version"} <= names


def test_same_bytes_are_the_same_version_and_new_bytes_a_new_one(session):
    first = _deploy(session)
    again = _deploy(session)
    assert first.new == [True] and again.new == [False]
    assert again.versions[0].id == first.versions[0].id and again.versions[0].version == 1
    changed = (DATA / "deviations.bpmn").read_bytes().replace(b"Capture order", b"Capture the order")
    second = deploy_file(session, changed, filename="deviations.bpmn", actor="d", now=T0, activate=True)
    assert second.versions[0].version == 2
    statuses = {v.version: v.status for v in list_definitions(session)}
    assert statuses == {1: "retired", 2: "active"}


def test_deploying_a_retired_versions_bytes_again_does_not_undo_the_newer_version(session):
    """`make run` deploys the shipped files on every start: a redesign deployed since stays."""
    _deploy(session)
    changed = (DATA / "deviations.bpmn").read_bytes().replace(b"Capture order", b"Capture the order")
    deploy_file(session, changed, filename="deviations.bpmn", actor="d", now=T0, activate=True)
    again = _deploy(session)
    assert again.new == [False] and again.versions[0].version == 1
    assert {v.version: v.status for v in list_definitions(session)} == {1: "retired", 2: "active"}
    from cases.definitions import activate  # bringing it back is an explicit act
    activate(session, actor="d", now=T0, definition_id=again.versions[0].id)
    assert {v.version: v.status for v in list_definitions(session)} == {1: "active", 2: "retired"}


def test_a_file_with_two_processes_deploys_both(session):
    result = _deploy(session, "call_activity.bpmn")
    assert sorted(v.process_id for v in result.versions) == ["field_work", "main_process"]


def test_invalid_bpmn_stores_nothing(session):
    with pytest.raises(InvalidBpmn):
        deploy_file(session, b"<not-bpmn/>", filename="x.bpmn", actor="d", now=T0)
    session.rollback()
    assert list_definitions(session) == []


def test_instance_round_trip_through_the_database(session):
    version = _deploy(session).versions[0]
    row, live = store.create_instance(session, version, {"customer": "Ada"}, now=T0)
    session.commit()
    row2, live2 = store.load_instance(session, row.id)
    task = live2.ready_tasks()[0]
    live2.complete(task.id, {"amount": 1}, now=T0)
    store.save_instance(session, row2, live2, now=T0)
    session.commit()
    _, live3 = store.load_instance(session, row.id)
    assert [t.element_id for t in live3.ready_tasks()] == ["Check"]
    stored = session.get(WorkflowInstance, row.id)
    assert stored.next_timer_due == T0 + timedelta(hours=4)
    assert stored.row_version == 2 and stored.status == "running"


def test_stale_write_is_refused_and_changes_nothing(db_engine):
    with Session(db_engine, expire_on_commit=False) as s:
        version = _deploy(s).versions[0]
        row, _ = store.create_instance(s, version, {}, now=T0)
        s.commit()
        instance_id = row.id
    with Session(db_engine, expire_on_commit=False) as a, Session(db_engine, expire_on_commit=False) as b:
        row_a, live_a = store.load_instance(a, instance_id)
        row_b, live_b = store.load_instance(b, instance_id)
        live_a.complete(live_a.ready_tasks()[0].id, {"amount": 1}, now=T0)
        store.save_instance(a, row_a, live_a, now=T0)
        a.commit()
        live_b.complete(live_b.ready_tasks()[0].id, {"amount": 999}, now=T0)
        with pytest.raises(StaleState):
            store.save_instance(b, row_b, live_b, now=T0)
        b.rollback()
    with Session(db_engine) as check:
        _, live = store.load_instance(check, instance_id)
        assert live.ready_tasks()[0].data["amount"] == 1


def test_due_instances_finds_timers_that_are_due(session):
    version = _deploy(session).versions[0]
    row, live = store.create_instance(session, version, {}, now=T0)
    live.complete(live.ready_tasks()[0].id, {"amount": 1}, now=T0)
    store.save_instance(session, row, live, now=T0)
    session.commit()
    assert store.due_instances(session, now=T0 + timedelta(hours=3)) == []
    assert store.due_instances(session, now=T0 + timedelta(hours=4, seconds=1)) == [row.id]


def test_spec_is_stored_once_per_version(session):
    version = _deploy(session).versions[0]
    row, _ = store.create_instance(session, version, {}, now=T0)
    session.commit()
    assert "task_specs" in version.spec_json
    assert "task_specs" not in session.get(WorkflowInstance, row.id).state


def test_retired_version_starts_no_cases(session):
    version = _deploy(session).versions[0]
    version.status = "retired"
    session.add(version)
    session.commit()
    with pytest.raises(InvalidBpmn, match="retired"):
        store.create_instance(session, session.get(DefinitionVersion, version.id), {}, now=T0)


def test_concurrent_deploys_of_the_same_file_store_one_version(db_engine):
    errors = []

    def worker():
        try:
            with Session(db_engine, expire_on_commit=False) as s:
                _deploy(s)
        except Exception as err:  # a unique-constraint loser is acceptable; record for the assert
            errors.append(type(err).__name__)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with Session(db_engine) as s:
        assert len(list_definitions(s)) == 1
    assert all(name in ("IntegrityError", "OperationalError") for name in errors)
