"""Bulk reassign, extend deadline and hold: one deviation per case, each in its own transaction."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from cases.bulk.service import bulk
from cases.case_models import Case, WorkItem
from cases.case_service import open_case
from cases.deviations import Deviation
from cases.errors import Forbidden, InvalidInput
from cases.events import CaseEvent
from cases.reason_codes import sync_reason_codes
from cases.users import create_user
from tests.conftest import T0

NOTE = "Ann is off sick this week"


@pytest.fixture
def opened(session, install, people, customer):
    sync_reason_codes(session)

    def open_some(n: int) -> list[Case]:
        return [open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                          process_id="install_service", channel="phone") for _ in range(n)]
    return open_some


def _item(session, case: Case) -> WorkItem:
    return session.exec(select(WorkItem).where(WorkItem.case_id == case.id)
                        .order_by(WorkItem.id)).first()


def _events(session, type_: str) -> list[CaseEvent]:
    return list(session.exec(select(CaseEvent).where(CaseEvent.type == type_)).all())


def test_bulk_reassign_logs_one_deviation_per_step_and_reports_what_failed(session, people,
                                                                         opened):
    cases = opened(3)
    items = [_item(session, c).id for c in cases]
    session.get(WorkItem, items[2]).state = "done"  # finished meanwhile
    session.commit()
    result = bulk(session, actor=people.sam, now=T0, kind="reassign", reason_code="assignee_absent",
                  note=NOTE, work_item_ids=[*items, 999_999], assignee_id=people.bob.id)
    assert [o.work_item_id for o in result.done] == items[:2]
    assert {o.message for o in result.done} == {"Handed to bob"}
    failed = {o.work_item_id: o.message for o in result.failed}
    assert failed == {999_999: "No work item 999999", items[2]: failed[items[2]]}
    assert "already done" in failed[items[2]]
    rows = session.exec(select(Deviation).where(Deviation.kind == "reassign")).all()
    assert sorted(r.case_id for r in rows) == sorted(c.id for c in cases[:2])
    assert {(r.reason_code, r.note, r.actor) for r in rows} == {("assignee_absent", NOTE, "sam")}
    for item_id in items[:2]:
        assert session.get(WorkItem, item_id, populate_existing=True).assignee_id == people.bob.id
    assert len(_events(session, "work_item_reassigned")) == 2


def test_bulk_extend_deadline_refuses_per_step_a_time_earlier_than_its_due(session, people,
                                                                         opened):
    cases = opened(2)
    items = [_item(session, c) for c in cases]
    items[1].due_at = T0 + timedelta(days=10)
    session.add(items[1])
    session.commit()
    new_due = T0 + timedelta(days=3)
    result = bulk(session, actor=people.sam, now=T0, kind="extend_deadline",
                  reason_code="third_party_delay", note="Wholesale network late",
                  work_item_ids=[i.id for i in items], due_at=new_due)
    assert [o.work_item_id for o in result.done] == [items[0].id]
    [failed] = result.failed
    assert failed.work_item_id == items[1].id and "later than" in failed.message
    assert session.get(WorkItem, items[0].id, populate_existing=True).due_at == new_due
    assert len(_events(session, "deadline_extended")) == 1


def test_bulk_hold_takes_the_cases_of_selected_steps_once(session, people, opened):
    cases = opened(3)
    items = [_item(session, c).id for c in cases]
    result = bulk(session, actor=people.sam, now=T0, kind="hold", reason_code="crm_down",
                  note="CRM down since 9:00", work_item_ids=items[:2], case_ids=[cases[0].id,
                                                                                cases[2].id])
    assert sorted(o.case_id for o in result.done) == sorted(c.id for c in cases)
    assert {session.get(Case, c.id, populate_existing=True).status for c in cases} == {"on_hold"}
    again = bulk(session, actor=people.sam, now=T0, kind="hold", reason_code="crm_down",
                 note="CRM down since 9:00", case_ids=[cases[0].id])
    assert again.done == [] and again.failed[0].message == "The case is on hold"


def test_only_supervisors_and_whole_input_refusals(session, people, opened):
    [case] = opened(1)
    item = _item(session, case).id
    with pytest.raises(Forbidden):
        bulk(session, actor=people.ann, now=T0, kind="hold", reason_code="crm_down", note="x",
             case_ids=[case.id])
    refusals = [
        (dict(kind="skip", reason_code="crm_down", case_ids=[case.id]), "kind"),
        (dict(kind="hold", reason_code="crm_down"), "targets"),
        (dict(kind="hold", reason_code="no_such_code", case_ids=[case.id]), "reason_code"),
        (dict(kind="hold", reason_code="wrong_team", case_ids=[case.id]), "reason_code"),
        (dict(kind="reassign", reason_code="wrong_team", work_item_ids=[item]), "team"),
        (dict(kind="reassign", reason_code="wrong_team", case_ids=[case.id], team="Billing"),
         "case_ids"),
        (dict(kind="extend_deadline", reason_code="crm_down", work_item_ids=[item],
              due_at=T0 - timedelta(hours=1)), "due_at"),
        (dict(kind="hold", reason_code="crm_down", case_ids=list(range(1, 202))), "targets"),
    ]
    for args, field in refusals:
        with pytest.raises(InvalidInput) as err:
            bulk(session, actor=people.sam, now=T0, note="n", **args)
        assert field in err.value.errors, args
    assert session.exec(select(Deviation)).all() == []  # nothing half-done


def test_two_supervisors_holding_the_same_cases_at_once_hold_each_once(db_engine, session,
                                                                       people, opened):
    cases = opened(6)
    other = create_user(session, username="sue", password="correct horse", role="supervisor",
                        now=T0, teams=["Supervisors"])
    session.commit()
    results, errors = {}, []
    start = threading.Barrier(2)

    def supervisor(user) -> None:
        try:
            with Session(db_engine, expire_on_commit=False) as own:
                start.wait(timeout=30)
                results[user.username] = bulk(own, actor=user, now=T0, kind="hold",
                                              reason_code="crm_down", note="CRM down",
                                              case_ids=[c.id for c in cases])
        except BaseException as err:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=supervisor, args=(u,)) for u in (people.sam, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    done = [o.case_id for r in results.values() for o in r.done]
    failed = [o for r in results.values() for o in r.failed]
    assert sorted(done) == sorted(c.id for c in cases)  # each case held by exactly one of them
    assert {o.message for o in failed} <= {"The case is on hold"} and len(failed) == 6
    holds = _events(session, "case_put_on_hold")
    assert sorted(e.case_id for e in holds) == sorted(c.id for c in cases)
