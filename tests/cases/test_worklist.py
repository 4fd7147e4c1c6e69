"""Worklists in urgency order, and claiming, releasing and assigning work items."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from cases.audit import verify
from cases.case_models import WorkItem
from cases.case_service import open_case
from cases.errors import Conflict, Forbidden
from cases.events import CaseEvent
from cases.work_items import assign, claim, release
from cases.worklist import worklist, worklist_count
from tests.conftest import T0


@pytest.fixture
def items(session, install, people, customer):
    """Four Capture order items (due 30 minutes after opening): name -> work item id."""
    found = {}
    for name, priority, minutes in (("a", 1, 0), ("b", 5, 10), ("c", 1, 20), ("d", 1, 5)):
        case = open_case(session, actor=people.ann, now=T0 + timedelta(minutes=minutes),
                         customer_id=customer.id, process_id="install_service", channel="phone",
                         priority=priority)
        found[name] = session.exec(select(WorkItem.id).where(WorkItem.case_id == case.id)).one()
    return found


def _names(entries, items):
    by_id = {v: k for k, v in items.items()}
    return [by_id[e.item.id] for e in entries]


def test_team_worklist_puts_overdue_first_then_priority_then_due(session, people, items):
    now = T0 + timedelta(minutes=35)  # a is 5 minutes late; d is due right now (not late yet)
    entries = worklist(session, actor=people.ann, now=now, view="team")
    assert _names(entries, items) == ["a", "b", "d", "c"]
    assert [e.overdue for e in entries] == [True, False, False, False]
    assert [e.at_risk for e in entries] == [False, True, True, False]
    assert entries[1].case.priority == 5
    assert worklist_count(session, actor=people.ann, now=now, view="team") == 4
    assert worklist(session, actor=people.fran, now=now, view="team") == []


def test_at_risk_steps_come_before_higher_priority_ones(session, people, items):
    now = T0 + timedelta(minutes=30)  # a (due 30) and d (due 35) have used 80% of their time
    entries = worklist(session, actor=people.ann, now=now, view="team")
    assert _names(entries, items) == ["a", "d", "b", "c"]
    assert [e.at_risk for e in entries] == [True, True, False, False]


def test_mine_unassigned_and_overdue_views(session, people, items):
    now = T0 + timedelta(minutes=37)  # a and d are late, b (due at 40) is not
    claim(session, actor=people.ann, now=now, work_item_id=items["c"])
    assert _names(worklist(session, actor=people.ann, now=now, view="mine"), items) == ["c"]
    assert _names(worklist(session, actor=people.ann, now=now, view="unassigned"), items) == ["a", "d", "b"]
    assert _names(worklist(session, actor=people.ann, now=now, view="overdue"), items) == ["a", "d"]
    assert worklist(session, actor=people.bob, now=now, view="mine") == []


def test_claim_by_another_agent_is_refused_while_claimed(session, people, items):
    item = claim(session, actor=people.ann, now=T0, work_item_id=items["a"])
    assert item.assignee_id == people.ann.id
    with pytest.raises(Conflict, match="already claimed by ann"):
        claim(session, actor=people.bob, now=T0, work_item_id=items["a"])
    with pytest.raises(Forbidden):
        release(session, actor=people.bob, now=T0, work_item_id=items["a"])
    assert session.get(WorkItem, items["a"]).assignee_id == people.ann.id
    release(session, actor=people.ann, now=T0, work_item_id=items["a"])
    assert claim(session, actor=people.bob, now=T0, work_item_id=items["a"]).assignee_id == people.bob.id


def test_supervisor_assigns_and_agents_cannot(session, people, items):
    with pytest.raises(Forbidden):
        assign(session, actor=people.ann, now=T0, work_item_id=items["b"], assignee_id=people.bob.id)
    item = assign(session, actor=people.sam, now=T0, work_item_id=items["b"], assignee_id=people.bob.id)
    assert item.assignee_id == people.bob.id
    types = session.exec(select(CaseEvent.type).where(CaseEvent.case_id == item.case_id)
                         .order_by(CaseEvent.seq)).all()
    assert types[-1] == "task_assigned"
    assert verify(session, item.case_id) == []


def test_an_agent_claims_only_steps_of_their_teams(session, people, items):
    with pytest.raises(Forbidden, match="Customer Care, and you are not in that team"):
        claim(session, actor=people.fran, now=T0, work_item_id=items["a"])
    assert session.get(WorkItem, items["a"]).assignee_id is None
    assign(session, actor=people.sam, now=T0, work_item_id=items["a"], assignee_id=people.fran.id)
    assert claim(session, actor=people.fran, now=T0, work_item_id=items["a"]).assignee_id == people.fran.id
    assert claim(session, actor=people.sam, now=T0, work_item_id=items["b"]).assignee_id == people.sam.id
