"""The SLA sweep with a fake clock (SQLite and PostgreSQL): at risk at 80%, breached at the target,
each recorded once however often and from however many sessions the sweep runs."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from cases import deviation_service as dev
from cases.audit import verify
from cases.case_models import Case, WorkItem
from cases.case_service import complete_step, open_case
from cases.errors import Forbidden, InvalidInput
from cases.events import CaseEvent
from cases.sla_sweep import resolve_escalation, sla_status, sweep
from tests.cases.test_case_service import ORDER
from tests.conftest import T0

# install_service: "Capture order" is due 30 minutes after it opens; the promise is 10 days.
CAPTURE_DUE = timedelta(minutes=30)


def _open(session, people, customer, contacted_at=T0) -> Case:
    return open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="install_service", channel="phone", contacted_at=contacted_at)


def _events(session, case, *types) -> list[CaseEvent]:
    return list(session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                     CaseEvent.type.in_(types))
                             .order_by(CaseEvent.seq)).all())


def _escalations(session, case) -> list[WorkItem]:
    return list(session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                                    WorkItem.kind == "escalation")).all())


def test_a_step_goes_at_risk_then_breached_once_each(session, install, people, customer):
    case = _open(session, people, customer)
    assert sweep(session, now=T0 + timedelta(minutes=23)).at_risk == 0
    result = sweep(session, now=T0 + timedelta(minutes=24))  # 80% of 30 minutes
    assert (result.at_risk, result.breached) == (1, 0)
    assert sweep(session, now=T0 + timedelta(minutes=25)).at_risk == 0, "at risk only once"
    [risk] = _events(session, case, "sla_at_risk")
    assert risk.element_id == "Task_CaptureOrder" and json.loads(risk.details)["scope"] == "task"
    result = sweep(session, now=T0 + CAPTURE_DUE)
    assert (result.breached, result.escalated) == (1, 1)
    for minutes in (31, 45):
        assert sweep(session, now=T0 + timedelta(minutes=minutes)).breached == 0
    [breach] = _events(session, case, "sla_breached")
    details = json.loads(breach.details)
    assert details["priority"] == {"from": 0, "to": 1}
    session.expire_all()
    case = session.get(Case, case.id)
    assert case.priority == 1
    [escalation] = _escalations(session, case)
    assert (escalation.team, escalation.state, escalation.element_id) == (
        "Supervisors", "open", "Task_CaptureOrder")
    assert details["escalation_item_id"] == escalation.id
    item = session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                               WorkItem.kind != "escalation")).one()
    assert item.sla_state == "breached"
    # completing the late step leaves the escalation for the supervisors
    case = complete_step(session, actor=people.ann, now=T0 + timedelta(minutes=50), case_id=case.id,
                         work_item_id=item.id, data=ORDER, expected_version=case.row_version)
    assert session.get(WorkItem, escalation.id).state == "open"
    assert verify(session, case.id) == []


def test_the_promise_to_the_customer_is_measured_from_first_contact(session, install, people,
                                                                   customer):
    case = _open(session, people, customer, contacted_at=T0 - timedelta(days=2))
    assert case.promised_at == T0 + timedelta(days=8)
    sweep(session, now=T0 + timedelta(minutes=5))  # nothing yet for the case
    assert not [e for e in _events(session, case, "sla_at_risk") if e.element_id is None]
    sweep(session, now=T0 + timedelta(days=6))  # 8 of 10 days used
    [risk] = [e for e in _events(session, case, "sla_at_risk") if e.element_id is None]
    assert json.loads(risk.details)["scope"] == "case"
    sweep(session, now=T0 + timedelta(days=8))
    sweep(session, now=T0 + timedelta(days=9))
    case_breaches = [e for e in _events(session, case, "sla_breached") if e.element_id is None]
    assert len(case_breaches) == 1
    session.expire_all()
    assert session.get(Case, case.id).sla_state == "breached"


def test_a_customer_caused_hold_stops_the_step_clock_not_the_promise(session, install, people,
                                                                    customer):
    case = _open(session, people, customer)
    case = dev.hold(session, actor=people.ann, now=T0 + timedelta(minutes=1), case_id=case.id,
                    expected_version=case.row_version, reason_code="customer_away",
                    note="Customer abroad for two weeks")
    sweep(session, now=T0 + timedelta(hours=5))
    assert not _events(session, case, "sla_at_risk", "sla_breached")
    sweep(session, now=T0 + timedelta(days=10))  # the promise: 10 days from first contact
    assert [e.element_id for e in _events(session, case, "sla_breached")] == [None]


def test_sweeps_in_two_sessions_at_once_record_each_breach_once(db_engine, install, people,
                                                                customer):
    with Session(db_engine, expire_on_commit=False) as s:
        cases = [_open(s, people, customer).id for _ in range(3)]
    now = T0 + timedelta(minutes=40)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            with Session(db_engine, expire_on_commit=False) as s:
                barrier.wait()
                results.append(sweep(s, now=now))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with Session(db_engine) as s:
        with Session(db_engine) as late:  # a third sweep afterwards finds the rest, if any
            sweep(late, now=now)
        breaches = s.exec(select(CaseEvent.case_id).where(CaseEvent.type == "sla_breached")).all()
        assert sorted(breaches) == sorted(cases), "one breach per case, never two"
        escalations = s.exec(select(WorkItem.case_id).where(WorkItem.kind == "escalation")).all()
        assert sorted(escalations) == sorted(cases)
        for case_id in cases:
            assert verify(s, case_id) == []


def test_extending_a_deadline_watches_the_new_target(session, install, people, customer):
    case = _open(session, people, customer)
    sweep(session, now=T0 + timedelta(minutes=31))
    item = session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                               WorkItem.kind != "escalation")).one()
    case = session.get(Case, case.id)
    dev.extend_deadline(session, actor=people.ann, now=T0 + timedelta(minutes=32), case_id=case.id,
                        expected_version=case.row_version, reason_code="customer_away",
                        note="Customer asked to call back tomorrow", work_item_id=item.id,
                        due_at=T0 + timedelta(days=1))
    session.expire_all()
    assert session.get(WorkItem, item.id).sla_state == "on_time"
    sweep(session, now=T0 + timedelta(days=1, minutes=1))
    assert len([e for e in _events(session, case, "sla_breached") if e.element_id]) == 2


def test_a_supervisor_closes_an_escalation_with_a_note(session, install, people, customer):
    case = _open(session, people, customer)
    sweep(session, now=T0 + timedelta(hours=1))
    [escalation] = _escalations(session, case)
    with pytest.raises(Forbidden):
        resolve_escalation(session, actor=people.ann, now=T0, work_item_id=escalation.id, note="ok")
    with pytest.raises(InvalidInput):
        resolve_escalation(session, actor=people.sam, now=T0, work_item_id=escalation.id, note=" ")
    item = resolve_escalation(session, actor=people.sam, now=T0 + timedelta(hours=2),
                              work_item_id=escalation.id, note="Moved two agents to the order queue")
    assert item.state == "done"
    assert [json.loads(e.details)["note"] for e in _events(session, case, "escalation_resolved")] == [
        "Moved two agents to the order queue"]


def test_sla_status_in_sql_matches_the_sweep(session, install, people, customer):
    _open(session, people, customer)
    for minutes, expected in ((10, "on_time"), (25, "at_risk"), (30, "breached")):
        now = T0 + timedelta(minutes=minutes)
        status = session.exec(select(sla_status(WorkItem.created_at, WorkItem.due_at, now))
                              .where(WorkItem.kind != "escalation")).one()
        assert status == expected, minutes
