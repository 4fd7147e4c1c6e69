"""External tasks in the case layer: projected with the workflow, fetched and locked by workers,
completed only by the lock holder, failed into incidents, BPMN errors caught by a boundary, expired
locks fetchable again, competing workers (threads) never sharing a task."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from cases.case_models import WorkItem
from cases.case_service import open_case
from cases.definitions import deploy_file
from cases.errors import LockNotHeld
from cases.events import CaseEvent
from cases.external_tasks import service as ext
from cases.external_tasks.models import ExternalTask
from cases.incidents import service as incidents
from tests.conftest import DATA, T0

FILE = DATA / "external_tasks.bpmn"
PROVISION = {"network.provision": timedelta(minutes=5)}


@pytest.fixture
def opened(session, people, customer):
    """Open a case of the external-task process; return a function opening more."""
    deploy_file(session, FILE.read_bytes(), filename=FILE.name, actor="designer", now=T0,
                activate=True)

    def open_one(**data):
        return open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                         process_id="external_tasks", channel="phone", data=data or {"order": 7})
    return open_one


def _types(session, case_id) -> list[str]:
    return list(session.exec(select(CaseEvent.type).where(CaseEvent.case_id == case_id)
                             .order_by(CaseEvent.seq)).all())


def _fetch(session, people, worker="w1", now=T0, topics=PROVISION, max_tasks=5):
    return ext.fetch_and_lock(session, actor=people.sam, now=now, worker_id=worker,
                              topics=topics, max_tasks=max_tasks)


def test_a_task_is_fetched_locked_completed_and_refetched_after_its_lock_expires(
        session, people, opened):
    case = opened(order=9)
    [row] = ext.for_case(session, case.id)
    assert (row.element_id, row.topic, row.state, row.worker_id) == (
        "Provision", "network.provision", "open", None)
    assert session.exec(select(WorkItem).where(WorkItem.case_id == case.id)).all() == []
    [locked] = _fetch(session, people)
    assert locked.variables == {"order": 9} and locked.task.worker_id == "w1"
    assert locked.task.lock_expires_at == T0 + timedelta(minutes=5)
    assert _fetch(session, people, worker="w2") == []  # held
    done = ext.complete(session, actor=people.sam, now=T0, external_task_id=locked.task.id,
                        worker_id="w1", variables={"circuit": "C-9"})
    assert done.state == "completed"
    [notify] = ext.for_case(session, case.id)
    assert notify.topic == "mail.send"
    [mail] = _fetch(session, people, topics={"mail.send": timedelta(seconds=30)})
    assert mail.variables == {"order": 9, "circuit": "C-9"}
    types = _types(session, case.id)
    assert (types.index("external_task_created") < types.index("external_task_locked")
            < types.index("external_task_completed"))
    # an expired lock makes the task fetchable again; the stale worker is refused
    opened()
    [first] = _fetch(session, people, worker="slow")
    later = T0 + timedelta(minutes=6)
    [again] = _fetch(session, people, worker="fast", now=later)
    assert again.task.id == first.task.id and again.task.worker_id == "fast"
    with pytest.raises(LockNotHeld):
        ext.complete(session, actor=people.sam, now=later, external_task_id=first.task.id,
                     worker_id="slow", variables={})
    with pytest.raises(LockNotHeld):
        ext.extend_lock(session, actor=people.sam, now=later, external_task_id=first.task.id,
                        worker_id="slow", new_duration=timedelta(minutes=1))
    extended = ext.extend_lock(session, actor=people.sam, now=later,
                               external_task_id=first.task.id, worker_id="fast",
                               new_duration=timedelta(hours=1))
    assert extended.lock_expires_at == later + timedelta(hours=1)
    assert _fetch(session, people, worker="slow", now=later + timedelta(minutes=30)) == []


def test_failures_wait_out_the_retry_timeout_then_become_an_incident_a_retry_reopens(
        session, people, opened):
    case = opened()
    [locked] = _fetch(session, people)
    row = ext.report_failure(session, actor=people.sam, now=T0, external_task_id=locked.task.id,
                             worker_id="w1", error_message="NMS timeout", retries=1,
                             retry_timeout=timedelta(minutes=10))
    assert (row.state, row.retries, row.attempts, row.worker_id) == ("open", 1, 1, None)
    assert _fetch(session, people, now=T0 + timedelta(minutes=9)) == []
    [locked] = _fetch(session, people, now=T0 + timedelta(minutes=10))
    row = ext.report_failure(session, actor=people.sam, now=T0 + timedelta(minutes=10),
                             external_task_id=locked.task.id, worker_id="w1",
                             error_message="NMS down", error_details="trace", retries=0)
    assert row.state == "incident" and row.incident_id is not None
    [incident] = incidents.for_case(session, case.id)
    assert incident.source == "external_task" and "NMS down" in incident.error
    assert _fetch(session, people, now=T0 + timedelta(hours=1)) == []
    incidents.retry(session, actor=people.sam, now=T0 + timedelta(hours=1), incident_id=incident.id)
    [locked] = _fetch(session, people, now=T0 + timedelta(hours=1))
    assert locked.task.id == row.id and locked.task.retries == 1


def test_a_bpmn_error_takes_the_boundary_path_to_a_person_an_uncaught_code_is_an_incident(
        session, people, opened):
    case = opened()
    [locked] = _fetch(session, people)
    row = ext.throw_error(session, actor=people.sam, now=T0, external_task_id=locked.task.id,
                          worker_id="w1", error_code="PROVISION_FAILED",
                          error_message="port busy", variables={"reason": "port 4"})
    assert row.state == "errored" and ext.for_case(session, case.id) == []
    [item] = session.exec(select(WorkItem).where(WorkItem.case_id == case.id)).all()
    assert item.element_id == "ProvisionByHand" and item.state == "open"
    assert "external_task_bpmn_error" in _types(session, case.id)
    other = opened()
    [locked] = _fetch(session, people)
    row = ext.throw_error(session, actor=people.sam, now=T0, external_task_id=locked.task.id,
                          worker_id="w1", error_code="SOMETHING_ELSE")
    assert row.state == "incident"
    [incident] = incidents.for_case(session, other.id)
    assert "SOMETHING_ELSE" in incident.error


def test_competing_workers_never_get_or_complete_the_same_task(db_engine, session, people, opened):
    for n in range(6):
        opened(order=n)
    got: dict[str, list[int]] = {}
    completed: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        try:
            with Session(db_engine, expire_on_commit=False) as own:
                start.wait(timeout=30)
                locked = ext.fetch_and_lock(own, actor=people.sam, now=T0, worker_id=name,
                                            topics=PROVISION, max_tasks=2)
                got[name] = [t.task.id for t in locked]
                for task_id in sorted(r.id for r in own.exec(select(ExternalTask)).all()):
                    try:  # every worker tries every task; only the holder may complete it
                        ext.complete(own, actor=people.sam, now=T0, external_task_id=task_id,
                                     worker_id=name, variables={})
                        completed.append(task_id)
                    except LockNotHeld:
                        pass
        except BaseException as err:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    fetched = [i for ids_ in got.values() for i in ids_]
    assert len(fetched) == len(set(fetched)) and set(fetched) <= set(ids_of_tasks(session))
    assert sorted(completed) == sorted(fetched) and fetched


def ids_of_tasks(session) -> list[int]:
    return list(session.exec(select(ExternalTask.id)).all())
