"""Timers wake cases through the case layer: new work items, events, once only."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from cases.case_models import WorkItem
from cases.case_service import complete_step, open_case
from cases.events import CaseEvent
from cases.timers import advance_due_timers
from engine.store import WorkflowInstance
from tests.conftest import T0

from .conftest import deploy_shipped


FAULT = {"service_id": "S-20417", "fault_type": "no_service", "fault_since": "2026-03-02",
         "vulnerable_customer": False, "callback_phone": "+353 1 555 0199"}


def _open_restore(session, people, customer):
    """Open a restoration case and log the fault, which starts the restoration clock."""
    deploy_shipped(session, "restore_service")
    case = open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="restore_service", channel="phone", contacted_at=T0, data={})
    [item] = session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                                 WorkItem.state == "open")).all()
    return complete_step(session, actor=people.ann, now=T0, case_id=case.id, work_item_id=item.id,
                         data=FAULT, expected_version=case.row_version)


def _open_items(session, case_id):
    return sorted(i.element_id for i in session.exec(
        select(WorkItem).where(WorkItem.case_id == case_id, WorkItem.state == "open")).all())


def test_due_timer_opens_the_escalation_step_once(session, people, customer):
    case = _open_restore(session, people, customer)
    due = session.get(WorkflowInstance, case.instance_id).next_timer_due
    assert due is not None and due > T0
    before = _open_items(session, case.id)
    assert advance_due_timers(session, now=due - timedelta(seconds=1)) == 0
    assert _open_items(session, case.id) == before
    assert advance_due_timers(session, now=due) == 1
    after = _open_items(session, case.id)
    assert len(after) == len(before) + 1, "the escalation step became a work item"
    types = [e.type for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()]
    assert types.count("timer_fired") == 1
    assert advance_due_timers(session, now=due + timedelta(hours=1)) == 0, "nothing is due twice"
