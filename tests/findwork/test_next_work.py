"""Get next work: the most urgent step of one's teams, claimed; never one step twice at once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from cases import deviation_service
from cases.case_models import Case, WorkItem
from cases.case_service import open_case
from cases.events import CaseEvent
from cases.next_work import next_work
from cases.reason_codes import sync_reason_codes
from cases.users import create_user
from cases.worklist import worklist
from tests.conftest import T0


@pytest.fixture
def opened(session, install, people, customer):
    def open_one(priority: int = 0) -> Case:
        return open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                         process_id="install_service", channel="phone", priority=priority)
    return open_one


def _item(session, case: Case) -> WorkItem:
    return session.exec(select(WorkItem).where(WorkItem.case_id == case.id)).one()


def test_gives_the_most_urgent_step_in_worklist_order_and_claims_it(session, people, opened):
    low, high, late = opened(0), opened(2), opened(0)
    item = _item(session, late)
    item.due_at = T0 - timedelta(minutes=1)  # overdue: ahead of any priority
    session.add(item)
    session.commit()
    order = [e.item.id for e in worklist(session, actor=people.ann, now=T0, view="unassigned")]
    got = [next_work(session, actor=people.ann, now=T0).id for _ in range(3)]
    assert got == order == [_item(session, c).id for c in (late, high, low)]
    holders = {session.get(WorkItem, i, populate_existing=True).assignee_id for i in got}
    assert holders == {people.ann.id}
    claims = session.exec(select(CaseEvent).where(CaseEvent.type == "task_claimed")).all()
    assert len(claims) == 3 and {e.actor for e in claims} == {"ann"}
    assert next_work(session, actor=people.ann, now=T0) is None  # nothing left


def test_passes_over_other_teams_claimed_steps_and_cases_on_hold(session, people, opened):
    sync_reason_codes(session)
    held, taken, free = opened(3), opened(2), opened(0)
    deviation_service.hold(session, actor=people.ann, now=T0, case_id=held.id,
                           expected_version=held.row_version, reason_code="customer_away",
                           note="Away until Monday")
    next_work(session, actor=people.bob, now=T0)  # bob takes the most urgent open one
    assert _item(session, taken).assignee_id == people.bob.id
    assert next_work(session, actor=people.fran, now=T0) is None  # Field/Network: none of theirs
    assert next_work(session, actor=people.ann, now=T0).id == _item(session, free).id


def test_two_agents_never_get_the_same_step(db_engine, session, people, opened):
    rounds = 2  # four agents ask twice each for six steps: two asks find nothing
    cases = [opened(n % 3) for n in range(6)]
    agents = [people.ann, people.bob] + [
        create_user(session, username=f"agent{n}", password="correct horse", role="agent",
                    now=T0, teams=["Customer Care"]) for n in range(2)]
    session.commit()
    got: dict[str, list[int]] = {a.username: [] for a in agents}
    errors: list[BaseException] = []
    start = threading.Barrier(len(agents))

    def agent(user) -> None:
        try:
            with Session(db_engine, expire_on_commit=False) as own:
                start.wait(timeout=30)
                for _ in range(rounds):
                    item = next_work(own, actor=user, now=T0)
                    if item is not None:
                        got[user.username].append(item.id)
        except BaseException as err:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=agent, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    taken = [i for ids in got.values() for i in ids]
    assert sorted(taken) == sorted(_item(session, c).id for c in cases)  # each step once
    for user in agents:
        for item_id in got[user.username]:
            assert session.get(WorkItem, item_id, populate_existing=True).assignee_id == user.id
    claims = session.exec(select(CaseEvent).where(CaseEvent.type == "task_claimed")).all()
    assert len(claims) == len(cases)
