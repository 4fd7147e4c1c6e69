"""The BPMN events that used to strand cases, run through the case services and the job
executor on a real database (every step is a save and a restore of the workflow)."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from cases.case_models import Case
from cases.case_service import open_case
from cases.definitions import deploy_file
from cases.errors import Conflict, NotFound
from cases.events import CaseEvent
from cases.jobs.executor import Executor
from cases.jobs.models import Job
from cases.messages import correlate_message
from cases.subscriptions.models import Subscription
from cases.subscriptions.signals import broadcast
from tests.cases.conftest import do_step, open_steps
from tests.conftest import DATA, T0


def _deploy(session, name):
    deploy_file(session, (DATA / name).read_bytes(), filename=name, actor="designer", now=T0,
                activate=True)


def _steps(session, case_id):
    return open_steps(session, case_id)


def _do(session, people, case_id, element_id, data=None, now=T0):
    return do_step(session, people.sam, case_id, element_id, data, now)


def _open(session, people, customer, process_id, data=None, now=T0):
    return open_case(session, actor=people.ann, now=now, customer_id=customer.id,
                     process_id=process_id, channel="phone", data=data or {})




def _waits(session, case_id):
    return sorted((s.kind, s.name) for s in session.exec(
        select(Subscription).where(Subscription.case_id == case_id)).all())


def _timer_job(session, case_id):
    return session.exec(select(Job).where(Job.kind == "timer", Job.case_id == case_id)).first()


@pytest.fixture
def waiting_case(session, people, customer):
    _deploy(session, "event_gateway.bpmn")
    case = _open(session, people, customer, "event_gateway")
    _do(session, people, case.id, "Ask")
    return case


def test_event_gateway_waits_for_all_three(session, waiting_case):
    assert _waits(session, waiting_case.id) == [("message", "customer_replied"),
                                                ("signal", "storm_warning")]
    assert _timer_job(session, waiting_case.id).due_at == T0 + timedelta(days=3)


def test_event_gateway_message_wins_and_withdraws_the_others(session, people, waiting_case, clock):
    case, caught = correlate_message(session, actor=people.ann, now=T0, name="customer_replied",
                                     payload={"reading": 4711})
    assert caught and case.id == waiting_case.id
    assert _steps(session, case.id) == ["Record"]
    assert _waits(session, case.id) == [] and _timer_job(session, case.id) is None
    clock.advance(days=4)
    assert Executor(session.get_bind(), clock=clock).run_until_idle().claimed == 0


def test_event_gateway_timer_wins_by_itself(session, waiting_case, clock):
    clock.advance(days=3)
    Executor(session.get_bind(), clock=clock).run_until_idle()
    assert _steps(session, waiting_case.id) == ["Chase"]
    assert _waits(session, waiting_case.id) == []


def test_event_gateway_signal_wins_through_a_broadcast(session, people, waiting_case, clock):
    assert broadcast(session, actor=people.sam, now=T0, name="storm_warning") == [waiting_case.id]
    Executor(session.get_bind(), clock=clock).run_until_idle()
    assert _steps(session, waiting_case.id) == ["Postpone"]
    assert _timer_job(session, waiting_case.id) is None
    types = [e.type for e in session.exec(select(CaseEvent).where(
        CaseEvent.case_id == waiting_case.id)).all()]
    assert "signal_sent" in types


def test_a_signal_reaches_every_waiting_case_and_only_those(session, people, customer, clock):
    _deploy(session, "signals.bpmn")
    _deploy(session, "event_gateway.bpmn")
    visits = [_open(session, people, customer, "field_visit") for _ in range(3)]
    not_waiting = _open(session, people, customer, "event_gateway")  # still at "Ask"
    assert sorted(broadcast(session, actor=people.sam, now=T0, name="storm_warning")) == [
        v.id for v in visits]
    result = Executor(session.get_bind(), clock=clock).run_until_idle()
    assert result.done == 3
    for visit in visits:
        assert _steps(session, visit.id) == ["CallCustomer", "SecureSite", "Shelter"]
    assert _steps(session, not_waiting.id) == ["Ask"]
    assert broadcast(session, actor=people.sam, now=T0, name="no_such_signal") == []


def test_a_correlated_message_finds_its_one_case(session, people, customer):
    _deploy(session, "correlation.bpmn")
    first = _open(session, people, customer, "order_reply", {"order_id": "PO-1"})
    second = _open(session, people, customer, "order_reply", {"order_id": "PO-2"})
    for case in (first, second):
        _do(session, people, case.id, "Order")
    with pytest.raises(NotFound, match="order_id"):  # both wait, each for its own order
        correlate_message(session, actor=people.ann, now=T0, name="supplier_replied")
    with pytest.raises(Conflict, match="2 cases"):  # an uncorrelated message both wait for
        correlate_message(session, actor=people.ann, now=T0, name="claim_settled")
    with pytest.raises(NotFound):
        correlate_message(session, actor=people.ann, now=T0, name="supplier_replied",
                          correlation={"order_id": "PO-9"})
    case, caught = correlate_message(session, actor=people.ann, now=T0, name="supplier_replied",
                                     payload={"order_id": "PO-2", "eta": "Friday"},
                                     correlation={"order_id": "PO-2"})
    assert caught and case.id == second.id
    assert "Fit" in _steps(session, second.id) and "Fit" not in _steps(session, first.id)
    case, caught = correlate_message(session, actor=people.ann, now=T0, name="claim_settled",
                                     payload={"claim_id": "CL-7"}, business_key=str(first.id))
    assert caught and "Book" in _steps(session, first.id)


def test_timer_start_opens_one_case_per_firing(session, people, clock):
    _deploy(session, "timer_start.bpmn")
    starts = session.exec(select(Job).where(Job.kind == "timer_start")).all()
    assert len(starts) == 2
    executor = Executor(session.get_bind(), clock=clock)
    assert executor.run_until_idle().claimed == 0
    clock.now = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
    executor.run_until_idle()
    opened = session.exec(select(Case).order_by(Case.id)).all()
    assert sorted(c.process_id for c in opened) == ["campaign", "meter_check"]
    assert all(c.opened_by == "system" for c in opened)
    assert sorted(_steps(session, c.id)[0] for c in opened) == ["Call", "Read"]
    assert executor.run_until_idle().claimed == 0, "one case per firing"
    clock.advance(days=1)
    executor.run_until_idle()
    assert [c.process_id for c in session.exec(select(Case)).all()].count("meter_check") == 2
    meter = next(c for c in opened if c.process_id == "meter_check")
    assert [j.key for j in session.exec(select(Job).where(Job.kind == "timer_start")).all()] == [
        f"timer_start:{meter.definition_id}:Daily"], "the campaign's date fired once"


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_four_workers_open_each_timer_start_case_once(session, db_engine, clock):
    _deploy(session, "timer_start.bpmn")
    clock.now = datetime(2026, 12, 4, 8, 0, tzinfo=timezone.utc)  # four daily firings due
    workers = [Executor(db_engine, clock=clock, batch=1) for _ in range(4)]
    threads = [threading.Thread(target=w.run_until_idle) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    processes = [c.process_id for c in session.exec(select(Case)).all()]
    assert processes.count("meter_check") == 4 and processes.count("campaign") == 1


# process, how the event comes (message/signal name, "wait" for a timer, "work" to complete the
# main step, whose end throws), the steps waiting afterwards
EVENT_SUBPROCESSES = [
    ("esp_message", ("message", "cancel_requested"), ["esp_message_cancel"]),
    ("esp_message_non", ("message", "address_changed"),
     ["esp_message_non_update_address", "esp_message_non_work"]),
    ("esp_timer", ("wait", None), ["esp_timer_too_late"]),
    ("esp_timer_non", ("wait", None), ["esp_timer_non_remind", "esp_timer_non_work"]),
    ("esp_signal", ("signal", "network_outage"), ["esp_signal_stop_work"]),
    ("esp_signal_non", ("signal", "network_outage"),
     ["esp_signal_non_inform", "esp_signal_non_work"]),
    ("esp_error", ("work", "esp_error_work"), ["esp_error_repair"]),
    ("esp_escalation", ("work", "esp_escalation_work"),
     ["esp_escalation_finish", "esp_escalation_supervise"]),
]


@pytest.mark.parametrize("process_id, event, waiting", EVENT_SUBPROCESSES,
                         ids=[p for p, _, _ in EVENT_SUBPROCESSES])
def test_event_subprocess_through_the_services(session, people, customer, clock, process_id,
                                               event, waiting):
    _deploy(session, "event_subprocesses.bpmn")
    case = _open(session, people, customer, process_id)
    how, name = event
    if how == "message":
        correlate_message(session, actor=people.ann, now=T0, name=name, business_key=str(case.id))
    elif how == "signal":
        assert broadcast(session, actor=people.sam, now=T0, name=name) == [case.id]
    elif how == "wait":
        clock.advance(hours=1)
    else:
        _do(session, people, case.id, name)
    Executor(session.get_bind(), clock=clock).run_until_idle()
    assert _steps(session, case.id) == waiting
