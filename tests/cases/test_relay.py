"""Messages one case throws reach the case that waits for them, or open the case they start, by
the job executor alone on a real database (cases/relay): nobody forwards them by hand."""
from __future__ import annotations

import pytest
from sqlmodel import select

from cases.case_models import Case
from cases.case_service import open_case
from cases.case_view import case_timeline
from cases.definitions import deploy_file
from cases.errors import ProcessFailed
from cases.events import CaseEvent
from cases.incidents import service as incidents
from cases.jobs import service as jobs
from cases.jobs.executor import Executor
from cases.jobs.handlers import Context
from cases.jobs.models import Job
from cases.links.models import CaseLink
from cases.relay import service as relay
from cases.relay.delivery import deliver
from tests.cases.conftest import do_step, open_steps
from tests.conftest import DATA, T0


@pytest.fixture
def relay_model(session):
    deploy_file(session, (DATA / "relay.bpmn").read_bytes(), filename="relay.bpmn",
                actor="designer", now=T0, activate=True)


def _steps(session, case_id):
    return open_steps(session, case_id)


def _do(session, people, case_id, element_id, data=None, now=T0):
    return do_step(session, people.sam, case_id, element_id, data, now)


def _open(session, people, customer, process_id, data=None, now=T0):
    return open_case(session, actor=people.sam, now=now, customer_id=customer.id,
                     process_id=process_id, channel="phone", data=data or {})




def _events(session, case_id, type_=None):
    rows = session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)
                        .order_by(CaseEvent.seq)).all()
    return [e for e in rows if type_ is None or e.type == type_]


def _message_jobs(session):
    """The message jobs as plain rows (job ids come back on SQLite once a job is deleted)."""
    return session.exec(select(Job.id, Job.case_id, Job.due_at, Job.state, Job.attempts)
                        .where(Job.kind == relay.KIND)).all()


def _status(session, case_id):
    return session.get(Case, case_id, populate_existing=True).status


def _order(session, people, customer, order_id, *, qty=4, fail="no"):
    order = _open(session, people, customer, "parts_order")
    _do(session, people, order.id, "Order", {"order_id": order_id, "qty": qty, "fail": fail})
    return order


def _until_failed(session, clock):
    """Let the message's time to live pass and run the executor until its job fails for good."""
    executor = Executor(session.get_bind(), clock=clock)
    clock.advance(seconds=relay.TIME_TO_LIVE.total_seconds())
    for _ in range(relay.MAX_ATTEMPTS + 1):
        executor.run_until_idle()
        clock.advance(minutes=5)
    [job] = _message_jobs(session)
    return job


def test_a_send_task_reaches_the_case_waiting_with_its_correlation_and_both_finish(
        session, people, customer, relay_model, clock):
    other = _open(session, people, customer, "parts_supplier", {"order_id": "PO-1"})
    supplier = _open(session, people, customer, "parts_supplier", {"order_id": "PO-2"})
    order = _order(session, people, customer, "PO-2")
    [thrown] = _events(session, order.id, "message_thrown")
    assert (thrown.element_id, thrown.actor) == ("AskSupplier", "engine")
    assert '"destination":"case"' in thrown.details and '"order_id":"PO-2"' in thrown.details
    [job] = _message_jobs(session)
    assert job.case_id == order.id and job.due_at == T0

    executor = Executor(session.get_bind(), clock=clock)
    assert executor.run_until_idle().done == 1
    assert _message_jobs(session) == []
    assert _steps(session, supplier.id) == ["Quote"] and _steps(session, other.id) == []
    [sent] = _events(session, supplier.id, "message_sent")
    assert sent.actor == "system" and f'"from_case_id":{order.id}' in sent.details
    assert [e.text for e in case_timeline(session, supplier) if e.type == "message_sent"] == [
        f"Case {order.id} sent the message “quote_requested”"]

    _do(session, people, supplier.id, "Quote", {"price": 42})
    assert _status(session, supplier.id) == "resolved"  # its end came right after the send
    executor.run_until_idle()
    [received] = _events(session, order.id, "message_received")
    assert received.element_id == "AwaitQuote" and '"price":42' in received.details
    _do(session, people, order.id, "Accept")
    assert _status(session, order.id) == "resolved"
    assert _status(session, other.id) == "open" and _events(session, other.id, "message_sent") == []


def test_a_message_start_event_opens_one_case_for_the_senders_customer(
        session, people, customer, relay_model, clock):
    escalation = _open(session, people, customer, "parts_escalation")
    _do(session, people, escalation.id, "Escalate", {"reason": "rude", "phone": "555 0101"})
    assert _status(session, escalation.id) == "resolved"  # the end event threw the message
    logged, callback_thrown = _events(session, escalation.id, "message_thrown")
    assert logged.element_id == "Log" and '"destination":"outside"' in logged.details
    assert callback_thrown.element_id == "EscalationEnd"
    assert len(_message_jobs(session)) == 1, "a message no process catches gets no job"

    executor = Executor(session.get_bind(), clock=clock)
    executor.run_until_idle()
    [opened] = session.exec(select(Case).where(Case.process_id == "parts_callback")).all()
    assert (opened.opened_by, opened.customer_id, opened.channel) == ("system", customer.id,
                                                                       "phone")
    first = _events(session, opened.id)[0]
    assert first.type == "case_opened" and f'"sender_case_id":{escalation.id}' in first.details
    assert '"message":"callback_requested"' in first.details
    assert _steps(session, opened.id) == ["Call"]
    [link] = session.exec(select(CaseLink).where(CaseLink.other_case_id == opened.id)).all()
    assert (link.case_id, link.kind) == (escalation.id, "parent")
    clock.advance(hours=2)
    executor.run_until_idle()
    assert len(session.exec(select(Case).where(Case.process_id == "parts_callback")).all()) == 1
    _do(session, people, opened.id, "Call")
    assert _status(session, opened.id) == "resolved"
    words = {e.type: e.text for e in case_timeline(session, opened)}
    assert words["case_opened"] == (f"The message “callback_requested” of case {escalation.id} "
                                    "opened the case")
    sent = [e.text for e in case_timeline(session, escalation) if e.type == "message_thrown"]
    assert sorted(sent) == ["“Ask for a callback” sent the message “callback_requested” to the "
                            "case waiting for it",
                            "“Log the escalation” sent the message “escalation_logged” out of "
                            "Caseflow (no process here catches it)"]


def test_a_case_that_starts_to_wait_wakes_the_message_meant_for_it(
        session, people, customer, relay_model, clock):
    order = _order(session, people, customer, "PO-3")
    executor = Executor(session.get_bind(), clock=clock)
    assert executor.run_until_idle().done == 1  # nobody waits yet: it comes back later
    [job] = _message_jobs(session)
    assert job.due_at > T0 and job.attempts == 0 and job.state == "pending"
    supplier = _open(session, people, customer, "parts_supplier", {"order_id": "PO-3"})
    assert [j.due_at for j in _message_jobs(session)] == [T0]
    executor.run_until_idle()
    assert _steps(session, supplier.id) == ["Quote"] and _message_jobs(session) == []
    assert _status(session, order.id) == "open"


def test_no_receiver_becomes_an_incident_on_the_sender_and_its_retry_delivers_once(
        session, people, customer, relay_model, clock):
    order = _order(session, people, customer, "PO-9")
    job = _until_failed(session, clock)
    assert job.state == "failed" and job.attempts == relay.MAX_ATTEMPTS
    [incident] = incidents.for_case(session, order.id)
    assert (incident.element_id, incident.source, incident.job_id) == ("AskSupplier", "message",
                                                                       job.id)
    assert "No open case waits for message 'quote_requested'" in incident.error
    assert '"order_id":"PO-9"' in incident.error

    supplier = _open(session, people, customer, "parts_supplier", {"order_id": "PO-9"},
                     now=clock.now)
    incidents.retry(session, actor=people.sam, now=clock.now, incident_id=incident.id)
    executor = Executor(session.get_bind(), clock=clock)
    executor.run_until_idle()
    clock.advance(hours=2)
    executor.run_until_idle()
    assert _steps(session, supplier.id) == ["Quote"]
    assert len(_events(session, supplier.id, "message_received")) == 1
    assert _message_jobs(session) == []


def test_two_waiting_cases_are_refused_plainly_and_neither_gets_the_message(
        session, people, customer, relay_model, clock):
    first = _open(session, people, customer, "parts_supplier", {"order_id": "PO-5"})
    second = _open(session, people, customer, "parts_supplier", {"order_id": "PO-5"})
    order = _order(session, people, customer, "PO-5")
    job = _until_failed(session, clock)
    assert job.state == "failed"
    [incident] = incidents.for_case(session, order.id)
    assert "2 cases wait for message 'quote_requested'" in incident.error
    assert f"cases {first.id}, {second.id}" in incident.error
    for case in (first, second):
        assert _events(session, case.id, "message_sent") == []
        assert _steps(session, case.id) == []


def test_a_receiver_whose_model_fails_leaves_the_message_with_the_sender(
        session, people, customer, relay_model, clock):
    supplier = _open(session, people, customer, "parts_supplier", {"order_id": "PO-6"})
    order = _order(session, people, customer, "PO-6", qty=0)  # the supplier divides by it
    job = _until_failed(session, clock)
    assert job.state == "failed"
    [incident] = incidents.for_case(session, order.id)
    assert incident.element_id == "AskSupplier"
    assert f"Case {supplier.id} failed at Size" in incident.error
    assert _events(session, supplier.id, "message_received") == []
    assert incidents.for_case(session, supplier.id) == []


def test_a_job_another_worker_took_over_delivers_once(session, people, customer, relay_model,
                                                      clock):
    supplier = _open(session, people, customer, "parts_supplier", {"order_id": "PO-7"})
    _order(session, people, customer, "PO-7")
    [job_id] = jobs.claim(session, owner="worker-a", now=clock.now)
    session.commit()
    stale = session.get(Job, job_id)
    clock.advance(seconds=jobs.LEASE.total_seconds() + 1)  # worker A stalls past its lease
    assert Executor(session.get_bind(), clock=clock, owner="worker-b").run_until_idle().done == 1
    with pytest.raises(jobs.LeaseLost):
        deliver(session, stale, Context(owner="worker-a", now=clock.now))
    session.rollback()
    assert len(_events(session, supplier.id, "message_received")) == 1
    assert _steps(session, supplier.id) == ["Quote"]


def test_the_senders_action_rolls_back_and_nothing_thrown_is_recorded(
        session, people, customer, relay_model):
    _open(session, people, customer, "parts_supplier", {"order_id": "PO-8"})
    order = _open(session, people, customer, "parts_order")
    with pytest.raises(ProcessFailed, match="Check"):
        _do(session, people, order.id, "Order", {"order_id": "PO-8", "qty": 1, "fail": "yes"})
    assert _message_jobs(session) == []
    assert _events(session, order.id, "message_thrown") == []
    assert _steps(session, order.id) == ["Order"]
