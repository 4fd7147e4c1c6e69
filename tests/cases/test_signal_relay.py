"""Signals one case throws reach every other case waiting for them and open a case of every
process that starts on them, by the job executor alone on a real database (cases/relay): a
signal is a broadcast, heard by each receiver exactly once, and never by its sender twice."""
from __future__ import annotations

import json

import pytest
from sqlmodel import select

from cases.case_models import Case
from cases.case_service import open_case
from cases.case_view import case_timeline
from cases.definitions import deploy_file
from cases.errors import ProcessFailed
from cases.events import CaseEvent
from cases.jobs import service as jobs
from cases.jobs.executor import Executor
from cases.jobs.handlers import HANDLERS, Context
from cases.jobs.models import Job
from cases.links.models import CaseLink
from cases.outbox.models import OutboxEvent
from cases.relay.broadcast import fan_out
from engine import store
from tests.cases.conftest import do_step, open_steps
from tests.conftest import DATA, T0

SIGNAL_JOBS = ("signal_broadcast", "signal", "signal_start")


@pytest.fixture
def outage_model(session):
    deploy_file(session, (DATA / "signal_relay.bpmn").read_bytes(), filename="signal_relay.bpmn",
                actor="designer", now=T0, activate=True)


def _open(session, people, customer, process_id, data=None):
    return open_case(session, actor=people.sam, now=T0, customer_id=customer.id,
                     process_id=process_id, channel="phone", data=data or {})


def _steps(session, case_id):
    return open_steps(session, case_id)


def _do(session, people, case_id, element_id, data=None, now=T0):
    return do_step(session, people.sam, case_id, element_id, data, now)


def _events(session, case_id, type_):
    return session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                CaseEvent.type == type_)
                        .order_by(CaseEvent.seq)).all()


def _signal_jobs(session):
    return session.exec(select(Job.kind, Job.case_id, Job.state)
                        .where(Job.kind.in_(SIGNAL_JOBS)).order_by(Job.id)).all()


def _surveys(session):
    return session.exec(select(Case).where(Case.process_id == "outage_survey")
                        .execution_options(populate_existing=True)).all()


def _status(session, case_id):
    return session.get(Case, case_id, populate_existing=True).status


def test_a_thrown_signal_wakes_every_waiting_case_and_opens_a_case_of_the_starting_process(
        session, people, customer, outage_model, clock):
    first = _open(session, people, customer, "outage_restore")
    second = _open(session, people, customer, "outage_restore")
    fix = _open(session, people, customer, "outage_fix")
    _do(session, people, fix.id, "Fix", {"area": "D4", "fail": "no"})

    [thrown] = _events(session, fix.id, "signal_thrown")
    details = json.loads(thrown.details)
    assert (thrown.element_id, thrown.actor) == ("Cleared", "engine")
    assert details["signal"] == "outage_cleared" and details["payload"] == {"area": "D4"}
    assert details["destination"] == "cases" and details["caught_by_sender"] is True
    # the sender's action queued one job, whatever the number of receivers
    assert _signal_jobs(session) == [("signal_broadcast", fix.id, "pending")]
    assert session.exec(select(OutboxEvent.type).where(OutboxEvent.case_id == fix.id,
                                                       OutboxEvent.type == "signal_thrown")).all()

    executor = Executor(session.get_bind(), clock=clock)
    executor.run_until_idle()
    assert _signal_jobs(session) == []
    for receiver in (first, second):
        assert _steps(session, receiver.id) == ["Confirm"]
        [sent] = _events(session, receiver.id, "signal_sent")
        assert f'"from_case_id":{fix.id}' in sent.details and sent.actor == "system"
        assert len(_events(session, receiver.id, "signal_received")) == 1
    [survey] = _surveys(session)
    assert (survey.opened_by, survey.customer_id, survey.channel) == ("system", customer.id,
                                                                       "phone")
    opened = json.loads(_events(session, survey.id, "case_opened")[0].details)
    assert (opened["signal"], opened["sender_case_id"]) == ("outage_cleared", fix.id)
    assert _steps(session, survey.id) == ["Survey"]
    [link] = session.exec(select(CaseLink).where(CaseLink.other_case_id == survey.id)).all()
    assert (link.case_id, link.kind) == (fix.id, "parent")
    words = {e.type: e.text for e in case_timeline(session, survey)}
    assert words["case_opened"] == (f"The signal “outage_cleared” of case {fix.id} opened "
                                    "the case")
    assert [e.text for e in case_timeline(session, first) if e.type == "signal_sent"] == [
        f"Case {fix.id} broadcast the signal “outage_cleared”"]
    _do(session, people, survey.id, "Survey")
    assert _status(session, survey.id) == "resolved"


def test_the_payload_reaches_the_receivers_and_the_started_case_as_data(
        session, people, customer, outage_model, clock):
    restore = _open(session, people, customer, "outage_restore")
    fix = _open(session, people, customer, "outage_fix")
    _do(session, people, fix.id, "Fix", {"area": "D4", "fail": "no"})
    Executor(session.get_bind(), clock=clock).run_until_idle()
    [survey] = _surveys(session)
    for case in (restore, survey):
        _, live = store.load_instance(session, case.instance_id)
        assert live.data["cleared"] == {"area": "D4"}
    _, live = store.load_instance(session, survey.instance_id)
    assert live.data["area"] == "D4"  # the payload is the start data too


def test_the_sender_hears_its_own_signal_once(session, people, customer, outage_model, clock):
    fix = _open(session, people, customer, "outage_fix")
    other_fix = _open(session, people, customer, "outage_fix")
    _do(session, people, fix.id, "Fix", {"area": "D4", "fail": "no"})
    # its non-interrupting event subprocess caught it inside the instance and stays armed
    assert _steps(session, fix.id) == ["Close", "TellTeam"]
    Executor(session.get_bind(), clock=clock).run_until_idle()
    assert _steps(session, fix.id) == ["Close", "TellTeam"], "no second start of TellTeam"
    assert _events(session, fix.id, "signal_sent") == []
    # another case of the sender's own process waits for it too, and hears it
    assert _steps(session, other_fix.id) == ["Fix", "TellTeam"]
    _do(session, people, fix.id, "TellTeam")
    _do(session, people, fix.id, "Close")
    assert _status(session, fix.id) == "resolved"


def test_a_signal_nobody_waits_for_is_the_event_alone(session, people, customer, outage_model,
                                                      clock):
    fix = _open(session, people, customer, "outage_fix")
    _do(session, people, fix.id, "Fix", {"area": "D4", "fail": "no"})
    Executor(session.get_bind(), clock=clock).run_until_idle()  # opens the survey
    _do(session, people, fix.id, "TellTeam")
    _do(session, people, fix.id, "Close")  # its end event throws outage_closed
    assert _status(session, fix.id) == "resolved"
    [closed] = [e for e in _events(session, fix.id, "signal_thrown")
                if '"outage_closed"' in e.details]
    assert closed.element_id == "FixEnd"
    assert json.loads(closed.details)["destination"] == "nobody"
    assert _signal_jobs(session) == []
    assert len(session.exec(select(OutboxEvent.id).where(
        OutboxEvent.case_id == fix.id, OutboxEvent.type == "signal_thrown")).all()) == 2
    texts = [e.text for e in case_timeline(session, fix) if e.type == "signal_thrown"]
    assert "“Outage closed” broadcast the signal “outage_closed” (no other case waits for it " \
           "and no process starts on it)" in texts


def test_the_senders_rollback_records_nothing(session, people, customer, outage_model, clock):
    restore = _open(session, people, customer, "outage_restore")
    fix = _open(session, people, customer, "outage_fix")
    with pytest.raises(ProcessFailed, match="Check"):
        _do(session, people, fix.id, "Fix", {"area": "D4", "fail": "yes"})
    assert _events(session, fix.id, "signal_thrown") == []
    assert _signal_jobs(session) == []
    Executor(session.get_bind(), clock=clock).run_until_idle()
    assert _steps(session, restore.id) == [] and _surveys(session) == []
    assert _steps(session, fix.id) == ["Fix"]


def test_a_broadcast_another_worker_took_over_delivers_once(session, people, customer,
                                                            outage_model, clock):
    restore = _open(session, people, customer, "outage_restore")
    fix = _open(session, people, customer, "outage_fix")
    _do(session, people, fix.id, "Fix", {"area": "D4", "fail": "no"})
    [job_id] = jobs.claim(session, owner="worker-a", now=clock.now)
    session.commit()
    stale = session.get(Job, job_id)
    session.expunge(stale)  # worker A's copy, as its own session would hold it
    clock.advance(seconds=jobs.LEASE.total_seconds() + 1)  # worker A stalls past its lease
    Executor(session.get_bind(), clock=clock, owner="worker-b").run_until_idle()
    with pytest.raises(jobs.LeaseLost):
        fan_out(session, stale, Context(owner="worker-a", now=clock.now))
    session.rollback()
    Executor(session.get_bind(), clock=clock, owner="worker-c").run_until_idle()
    assert len(_events(session, restore.id, "signal_received")) == 1
    assert _steps(session, restore.id) == ["Confirm"]
    assert len(_surveys(session)) == 1 and _signal_jobs(session) == []


@pytest.mark.parametrize("kind", ["signal", "signal_start"])
def test_a_delivery_or_start_another_worker_took_over_happens_once(
        session, people, customer, outage_model, clock, kind):
    restore = _open(session, people, customer, "outage_restore")
    fix = _open(session, people, customer, "outage_fix")
    _do(session, people, fix.id, "Fix", {"area": "D4", "fail": "no"})
    Executor(session.get_bind(), clock=clock, kinds=("signal_broadcast",)).run_until_idle()
    [job_id] = jobs.claim(session, owner="worker-a", now=clock.now, kinds=(kind,))
    session.commit()
    stale = session.get(Job, job_id)
    clock.advance(seconds=jobs.LEASE.total_seconds() + 1)
    Executor(session.get_bind(), clock=clock, owner="worker-b").run_until_idle()
    with pytest.raises(jobs.LeaseLost):
        HANDLERS[kind](session, stale, Context(owner="worker-a", now=clock.now))
    session.rollback()
    assert len(_events(session, restore.id, "signal_sent")) == 1
    assert _steps(session, restore.id) == ["Confirm"]
    assert len(_surveys(session)) == 1 and _signal_jobs(session) == []


def test_a_model_that_starts_on_the_signal_it_throws_is_stopped_after_max_chain_cases(
        session, people, customer, clock):
    from cases.case_service import MAX_CHAIN
    from cases.incidents.models import Incident

    deploy_file(session, (DATA / "signal_echo.bpmn").read_bytes(), filename="signal_echo.bpmn",
                actor="designer", now=T0, activate=True)
    first = _open(session, people, customer, "echo")
    for _ in range(4):  # the last start fails, is retried with backoff, then is an incident
        Executor(session.get_bind(), clock=clock).run_until_idle()
        clock.advance(hours=2)
    echoes = session.exec(select(Case).where(Case.process_id == "echo").order_by(Case.id)).all()
    assert len(echoes) == 1 + MAX_CHAIN, "the chain stops, it does not run on"
    chain = [json.loads(_events(session, c.id, "case_opened")[0].details).get("chain", 0)
             for c in echoes]
    assert chain == list(range(MAX_CHAIN + 1))
    [incident] = session.exec(select(Incident).where(Incident.state == "open")).all()
    assert incident.case_id == echoes[-1].id and incident.element_id == "Shout"
    assert f"after {MAX_CHAIN} cases in a row" in incident.error and "Traceback" not in incident.error
    assert first.id == echoes[0].id
