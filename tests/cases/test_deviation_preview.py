"""Deviations that keep the customer's course, on the shipped install_service process (SQLite and
PostgreSQL): a skip of the eligibility check never declines the order on defaults, every deviation
can be previewed without changing the case, going back keeps the captured values and the person,
and the first step starts from what the case knows."""
from __future__ import annotations

import pytest
from sqlmodel import select

from cases import deviation_service as dev
from cases.case_models import WorkItem
from cases.case_service import complete_step
from cases.case_view import case_view
from cases.errors import InvalidInput
from cases.events import CaseEvent
from cases.preview.service import preview
from tests.cases.test_case_service import ORDER, _snapshot
from tests.cases.test_deviations import _case, _go, _item
from tests.conftest import T0

ELIGIBILITY = ("address_serviceable", "credit_result")


def _at_eligibility(session, people, customer):
    case = _case(session, people, customer, steps=1)
    item = _item(session, case)
    assert item.element_id == "Task_CheckEligibility"
    return case, item


def test_a_skip_of_the_eligibility_check_needs_its_data_and_keeps_the_order_on_its_path(
        session, install, people, customer):
    case, item = _at_eligibility(session, people, customer)
    before = _snapshot(session, case.id)
    with pytest.raises(InvalidInput) as refused:
        _go(dev.skip, session, people, case, "customer_already_confirmed", work_item_id=item.id)
    assert set(refused.value.errors) == set(ELIGIBILITY)
    assert "Decide eligibility" in refused.value.errors["credit_result"]
    assert _snapshot(session, case.id) == before
    case = _go(dev.skip, session, people, case, "customer_already_confirmed", work_item_id=item.id,
               data={"address_serviceable": "true", "credit_result": "passed"})
    assert _item(session, case).element_id == "Task_AgreeAppointment"
    event = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                 CaseEvent.type == "task_skipped")).one()
    assert '"credit_result":"passed"' in event.details.replace(" ", "")


def test_the_skip_preview_names_the_decision_and_changes_nothing(session, install, people,
                                                                 customer):
    case, item = _at_eligibility(session, people, customer)
    before = _snapshot(session, case.id)
    bare = preview(session, actor=people.ann, now=T0, case_id=case.id, kind="skip",
                   params={"work_item_id": item.id})
    assert [n.field.id for n in bare.needs] == list(ELIGIBILITY)
    assert bare.missing == list(ELIGIBILITY)
    assert [s.element_id for s in bare.steps] == ["Task_ExplainDecline"]  # what defaults would do
    assert any("“Decide eligibility” reads address_serviceable, credit_result" in line for line in bare.lines)
    given = preview(session, actor=people.ann, now=T0, case_id=case.id, kind="skip",
                    params={"work_item_id": item.id,
                            "data": {"address_serviceable": True, "credit_result": "passed"}})
    assert [s.name for s in given.steps] == ["Agree installation appointment"]
    assert given.missing == [] and given.reads == []
    assert _snapshot(session, case.id) == before


def test_jump_and_override_previews_say_where_the_case_goes(session, install, people, customer):
    case = _case(session, people, customer)
    before = _snapshot(session, case.id)
    jump = preview(session, actor=people.ann, now=T0, case_id=case.id, kind="jump_to",
                   params={"element_id": "Task_AgreeAppointment"})
    assert [s.element_id for s in jump.steps] == ["Task_AgreeAppointment"]
    assert jump.skipped == ["Capture order", "Check eligibility and credit"]
    assert jump.reads == []  # the jump routes "Eligible?" along its path
    override = preview(session, actor=people.sam, now=T0, case_id=case.id,
                       kind="override_decision",
                       params={"gateway_id": "Gateway_Eligible", "target_id": "Task_ExplainDecline"})
    assert override.steps[0].element_id == "Task_CaptureOrder"  # the decision comes later
    with pytest.raises(InvalidInput) as bad:
        preview(session, actor=people.ann, now=T0, case_id=case.id, kind="jump_to",
                params={"element_id": "Task_Nowhere"})
    assert "element_id" in bad.value.errors
    assert _snapshot(session, case.id) == before


def test_going_back_keeps_the_captured_values_and_the_person(session, install, people, customer):
    case, _ = _at_eligibility(session, people, customer)
    before = preview(session, actor=people.ann, now=T0, case_id=case.id, kind="go_back",
                     params={"element_id": "Task_CaptureOrder"})
    assert [s.name for s in before.steps] == ["Capture order"]
    case = _go(dev.go_back, session, people, case, "wrong_data_captured", element_id="Task_CaptureOrder")
    item = _item(session, case)
    assert item.element_id == "Task_CaptureOrder"
    assert item.assignee_id == people.ann.id  # ann captured it and is in Customer Care
    view = case_view(session, case.id, now=T0)
    [step] = view.steps
    shown = {f.id: f.value for f in step.fields}
    for key in ("customer_id", "product", "installation_address", "contact_phone"):
        assert shown[key] == ORDER[key]


def test_going_back_leaves_the_step_to_the_team_when_its_worker_left_the_team(
        session, install, people, customer):
    case, _ = _at_eligibility(session, people, customer)
    people.ann.teams = "Field Operations"
    session.add(people.ann)
    session.commit()
    case = _go(dev.go_back, session, people, case, "wrong_data_captured", element_id="Task_CaptureOrder",
               actor=people.sam)
    assert _item(session, case).assignee_id is None


def test_the_first_step_starts_from_the_customer_record(session, install, people, customer):
    case = _case(session, people, customer)
    [step] = case_view(session, case.id, now=T0).steps
    shown = {f.id: f.value for f in step.fields}
    assert shown["customer_id"] == "C-1001"
    assert shown["contact_phone"] == "+353 1 555 0101"
    assert shown["product"] == ""  # nothing known: left for the person
    item = session.exec(select(WorkItem).where(WorkItem.case_id == case.id)).one()
    typed = {k: v for k, v in ORDER.items() if k != "customer_id"}
    with pytest.raises(InvalidInput) as refused:  # prefilling stores nothing: submitted data counts
        complete_step(session, actor=people.ann, now=T0, case_id=case.id, work_item_id=item.id,
                      data=typed, expected_version=case.row_version)
    assert set(refused.value.errors) == {"customer_id"}
    # no later decision reads what "Capture order" records: its skip needs no data
    case = _go(dev.skip, session, people, case, "customer_already_confirmed", work_item_id=item.id)
    assert _item(session, case).element_id == "Task_CheckEligibility"
