"""The job executor: timers fire by themselves, a poisoned case becomes an incident while every
other due case still moves, retry and resolve work, leases keep several workers apart."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from cases.case_models import Case, WorkItem
from cases.case_service import complete_step, open_case
from cases.definitions import deploy_file
from cases.errors import Conflict, Forbidden, InvalidInput, ProcessFailed
from cases.events import CaseEvent
from cases.incidents import service as incidents
from cases.incidents.models import Incident
from cases.jobs import service as jobs
from cases.jobs.executor import Executor
from cases.jobs.handlers import register
from cases.insights import exception_report
from cases.jobs.models import Job
from cases.version_migration import migrate
from tests.conftest import DATA, T0

from .conftest import deploy_shipped

POISON = DATA / "timer_script.bpmn"
FIXED = POISON.read_bytes().replace(b"share = 100 / divisor",
                                    b"share = 100 / divisor if divisor else 0")


@pytest.fixture
def timer_process(session):
    deploy_file(session, POISON.read_bytes(), filename=POISON.name, actor="designer", now=T0,
                activate=True)
    session.commit()


def _open(session, people, customer, divisor):
    return open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="timer_script", channel="phone", data={"divisor": divisor})


def _executor(session, clock, **kw):
    return Executor(session.get_bind(), clock=clock, **kw)


def _open_steps(session, case_id):
    return sorted(w.element_id for w in session.exec(select(WorkItem).where(
        WorkItem.case_id == case_id, WorkItem.state == "open")).all())


def _types(session, case_id):
    return [e.type for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                         .order_by(CaseEvent.seq)).all()]


def test_a_case_waiting_for_a_timer_has_its_job(session, people, customer, timer_process):
    case = _open(session, people, customer, 4)
    [job] = session.exec(select(Job).where(Job.case_id == case.id)).all()
    assert (job.kind, job.state, job.due_at) == ("timer", "pending", T0 + timedelta(hours=1))


def test_poisoned_case_becomes_an_incident_and_the_others_still_move(session, people, customer,
                                                                     timer_process, clock):
    healthy_1 = _open(session, people, customer, 4)
    poisoned = _open(session, people, customer, 0)
    healthy_2 = _open(session, people, customer, 5)
    clock.advance(hours=1)
    executor = _executor(session, clock)
    first = executor.run_until_idle()
    assert (first.done, first.failed) == (2, 1)
    assert _open_steps(session, healthy_1.id) == _open_steps(session, healthy_2.id) == ["Review"]
    assert _open_steps(session, poisoned.id) == []
    job = session.exec(select(Job).where(Job.case_id == poisoned.id)).one()
    assert (job.state, job.attempts) == ("pending", 1) and "division by zero" in job.last_error
    assert job.due_at == clock.now + timedelta(seconds=10), "retried later, with backoff"
    assert executor.run_until_idle().claimed == 0, "not due again before the backoff"
    for backoff in (10, 20):
        clock.advance(seconds=backoff)
        executor.run_until_idle()
    job = session.get(Job, job.id, populate_existing=True)
    assert (job.state, job.attempts) == ("failed", 3)
    [incident] = incidents.for_case(session, poisoned.id)
    assert (incident.state, incident.element_id, incident.source, incident.attempts) == (
        "open", "Divide", "timer", 3)
    assert "division by zero" in incident.error and incident.job_id == job.id
    assert _types(session, poisoned.id).count("incident_opened") == 1
    report = exception_report(session, poisoned.definition_id, now=clock.now)
    assert report.element("Divide").incidents == 1, "the insights count incidents per step"
    assert executor.run_until_idle().claimed == 0, "a failed job waits for a person"


def _poison_to_incident(session, people, customer, clock):
    poisoned = _open(session, people, customer, 0)
    clock.advance(hours=1)
    executor = _executor(session, clock)
    for backoff in (0, 10, 20):
        clock.advance(seconds=backoff)
        executor.run_until_idle()
    [incident] = incidents.for_case(session, poisoned.id)
    return poisoned, incident, executor


def test_retry_after_the_model_is_fixed_moves_the_case_on(session, people, customer,
                                                          timer_process, clock):
    poisoned, incident, executor = _poison_to_incident(session, people, customer, clock)
    with pytest.raises(Forbidden):
        incidents.retry(session, actor=people.ann, now=clock.now, incident_id=incident.id)
    [v2] = deploy_file(session, FIXED, filename=POISON.name, actor="designer", now=clock.now,
                       activate=True).versions
    moved = migrate(session, actor=people.sam.__class__(username="dana", display_name="Dana",
                                                        role="designer", password_hash="!"),
                    now=clock.now, from_id=poisoned.definition_id, to_id=v2.id,
                    case_ids=[poisoned.id])
    assert moved[0].moved, moved[0].reason
    incidents.retry(session, actor=people.sam, now=clock.now, incident_id=incident.id,
                    note="fixed the division in version 2")
    executor.run_until_idle()
    job = session.exec(select(Job).where(Job.case_id == poisoned.id)).one()
    assert job.state == "pending", "the retried job waits for the timer the migration re-armed"
    clock.advance(hours=1)
    executor.run_until_idle()
    assert _open_steps(session, poisoned.id) == ["Review"]
    incident = session.get(Incident, incident.id, populate_existing=True)
    assert (incident.state, incident.resolution, incident.resolved_by) == ("resolved", "retried", "sam")
    assert "incident_retried" in _types(session, poisoned.id)
    with pytest.raises(Conflict):
        incidents.retry(session, actor=people.sam, now=clock.now, incident_id=incident.id)


def test_retry_without_a_fix_fails_again_and_resolve_needs_a_note(session, people, customer,
                                                                  timer_process, clock):
    poisoned, incident, executor = _poison_to_incident(session, people, customer, clock)
    incidents.retry(session, actor=people.sam, now=clock.now, incident_id=incident.id)
    for backoff in (0, 10, 20):
        clock.advance(seconds=backoff)
        executor.run_until_idle()
    [again, first] = incidents.for_case(session, poisoned.id)
    assert (again.state, first.state) == ("open", "resolved") and again.attempts == 3
    with pytest.raises(InvalidInput):
        incidents.resolve(session, actor=people.sam, now=clock.now, incident_id=again.id, note=" ")
    incidents.resolve(session, actor=people.sam, now=clock.now, incident_id=again.id,
                      note="Called the customer; closing the case by hand")
    assert incidents.search(session, state="open")[1] == 0
    assert _types(session, poisoned.id)[-1] == "incident_resolved"


def test_a_persons_action_that_runs_into_a_failing_script_is_a_409_and_an_incident(
        session, people, customer, clock):
    deploy_file(session, (DATA / "scripts.bpmn").read_bytes(), filename="scripts.bpmn",
                actor="designer", now=T0, activate=True)
    case = open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="script_process", channel="phone", data={})
    [item] = session.exec(select(WorkItem).where(WorkItem.case_id == case.id)).all()
    with pytest.raises(ProcessFailed) as failed:
        complete_step(session, actor=people.ann, now=T0, case_id=case.id, work_item_id=item.id,
                      data={"items": "not a list", "spin": False},
                      expected_version=case.row_version)
    assert failed.value.element_id == "Compute" and failed.value.submitted["items"] == "not a list"
    assert _open_steps(session, case.id) == ["Enter"], "nothing of the action was stored"
    [incident] = incidents.for_case(session, case.id)
    assert (incident.source, incident.element_id, incident.job_id) == ("action", "Compute", None)
    with pytest.raises(Conflict):
        incidents.retry(session, actor=people.sam, now=T0, incident_id=incident.id)


def test_an_expired_lease_lets_another_worker_take_the_job(session, people, customer,
                                                          timer_process, clock):
    case = _open(session, people, customer, 4)
    clock.advance(hours=1)
    crashed = _executor(session, clock)
    assert len(jobs.claim(session, owner=crashed.owner, now=clock.now)) == 1
    session.commit()  # ...and the worker dies before running it
    other = _executor(session, clock)
    assert other.run_until_idle().claimed == 0, "leased to the crashed worker"
    clock.advance(seconds=61)
    assert other.run_until_idle().done == 1
    assert _open_steps(session, case.id) == ["Review"]


def test_periodic_sla_sweep_job_is_made_once_and_comes_back(session, people, customer, clock):
    deploy_shipped(session, "install_service")
    a, b = _executor(session, clock), _executor(session, clock)
    a.ensure_periodic()
    b.ensure_periodic()
    [sweep] = session.exec(select(Job).where(Job.kind == "sla_sweep")).all()
    assert a.run_until_idle().done == 2, "the SLA sweep and the webhook dispatcher"
    sweep = session.get(Job, sweep.id, populate_existing=True)
    assert sweep.due_at == clock.now + timedelta(seconds=60) and sweep.lease_owner is None


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_four_workers_on_postgresql_run_each_job_exactly_once(session, db_engine, clock):
    ran: list[int] = []
    lock = threading.Lock()

    def count(s: Session, job: Job, ctx) -> None:
        with lock:
            ran.append(job.id)
        jobs.done(s, job, ctx.owner)
        s.commit()

    register("test_count", count)
    for i in range(200):
        session.add(Job(kind="test_count", key=f"count:{i}", due_at=T0, created_at=T0, updated_at=T0))
    session.commit()
    workers = [Executor(db_engine, clock=clock, batch=7) for _ in range(4)]
    threads = [threading.Thread(target=w.run_until_idle, kwargs={"max_rounds": 1000}) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(ran) == sorted(set(ran)) and len(ran) == 200
    assert session.exec(select(Job).where(Job.kind == "test_count")).all() == []


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_four_workers_fire_each_due_timer_once(session, db_engine, people, customer, clock,
                                               timer_process):
    cases = [_open(session, people, customer, 2) for _ in range(24)]
    clock.advance(hours=1)
    workers = [Executor(db_engine, clock=clock, batch=3) for _ in range(4)]
    threads = [threading.Thread(target=w.run_until_idle) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for case in cases:
        assert _types(session, case.id).count("timer_fired") == 1
        assert _open_steps(session, case.id) == ["Review"]
    assert session.exec(select(Job).where(Job.kind == "timer")).all() == []


def test_a_runaway_script_behind_a_timer_is_an_incident_and_the_worker_goes_on(
        session, people, customer, clock):
    runaway = POISON.read_bytes().replace(
        b"share = 100 / divisor",
        b"try:\n    while True: pass\nexcept Exception:\n    pass\nwhile True: pass")
    deploy_file(session, runaway, filename="runaway.bpmn", actor="designer", now=T0, activate=True)
    stuck = _open(session, people, customer, 1)
    clock.advance(hours=1)
    executor = _executor(session, clock, time_limit=0.3)
    for backoff in (0, 10, 20):
        clock.advance(seconds=backoff)
        executor.run_until_idle()
    [incident] = incidents.for_case(session, stuck.id)
    assert incident.element_id == "Divide" and "longer than 0.3 s" in incident.error
    assert executor.run_once().claimed == 0  # the executor is alive and has nothing left to do
