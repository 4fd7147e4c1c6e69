"""Deviations on the shipped install_service process (SQLite and PostgreSQL): every kind end to end
with its event and deviation row, and every refusal leaving the case as it was."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from cases import deviation_service as dev
from cases.audit import verify
from cases.case_models import Case, WorkItem
from cases.case_service import complete_step
from cases.deviations import Deviation
from cases.errors import Conflict, Forbidden, InvalidInput
from cases.events import CaseEvent
from cases.reason_codes import ReasonCode, add_reason_code, sync_reason_codes
from cases.work_items import claim
from engine.store import WorkflowInstance
from tests.cases.test_case_service import HAPPY_PATH, _open, _open_items, _snapshot
from tests.conftest import T0

NOTE = "Customer told us on the phone"


def _case(session, people, customer, steps: int = 0) -> Case:
    """Open a case and complete the first `steps` steps of the happy path."""
    case = _open(session, people, customer)
    for element_id, data in HAPPY_PATH[:steps]:
        [item] = _open_items(session, case.id)
        assert item.element_id == element_id
        case = complete_step(session, actor=people.ann, now=T0, case_id=case.id, work_item_id=item.id,
                             data=data, expected_version=case.row_version)
    return case


def _item(session, case) -> WorkItem:
    [item] = _open_items(session, case.id)
    return item


def _last_event(session, case) -> CaseEvent:
    return session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.actor != "engine")
                        .order_by(CaseEvent.seq.desc())).first()


def _deviations(session, case) -> list[Deviation]:
    return list(session.exec(select(Deviation).where(Deviation.case_id == case.id)).all())


def _assert_logged(session, case, kind, event_type, code, element_id=None, actor="ann") -> dict:
    """One deviation row and a matching typed event; return the event details."""
    [row] = _deviations(session, case)
    assert (row.kind, row.reason_code, row.note, row.actor) == (kind, code, NOTE, actor)
    assert row.element_id == element_id and row.definition_id == case.definition_id
    assert row.approver is None and row.at == T0
    event = _last_event(session, case)
    details = json.loads(event.details)
    assert (event.type, event.element_id, details["reason_code"], details["note"]) == (
        event_type, element_id, code, NOTE)
    return details


def _go(service, session, people, case, code, actor=None, **kwargs):
    """Deviate as ann (an agent) unless another actor is given."""
    return service(session, actor=actor or people.ann, now=T0, case_id=case.id,
                   expected_version=case.row_version, reason_code=code, note=NOTE, **kwargs)


# ---- every kind, end to end ----------------------------------------------------------------------

def test_skip_moves_on_and_logs_the_skip(session, install, people, customer):
    case = _case(session, people, customer)
    item = _item(session, case)
    case = _go(dev.skip, session, people, case, "customer_already_confirmed", work_item_id=item.id)
    assert _item(session, case).element_id == "Task_CheckEligibility"
    assert session.get(WorkItem, item.id).state == "cancelled"
    details = _assert_logged(session, case, "skip", "task_skipped", "customer_already_confirmed",
                             "Task_CaptureOrder")
    assert details["work_item_id"] == item.id
    types = [e.type for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()]
    assert types.count("task_skipped") == 1  # the engine's own copy is not logged twice


def test_go_back_reopens_an_earlier_step(session, install, people, customer):
    case = _case(session, people, customer, steps=2)
    assert _item(session, case).element_id == "Task_AgreeAppointment"
    case = _go(dev.go_back, session, people, case, "wrong_data_captured", element_id="Task_CaptureOrder")
    assert _item(session, case).element_id == "Task_CaptureOrder"
    _assert_logged(session, case, "go_back", "process_rewound_to_task", "wrong_data_captured",
                   "Task_CaptureOrder")


def test_jump_to_skips_the_steps_between(session, install, people, customer):
    case = _case(session, people, customer)
    case = _go(dev.jump_to, session, people, case, "step_not_applicable",
               element_id="Task_AgreeAppointment")
    assert _item(session, case).element_id == "Task_AgreeAppointment"
    details = _assert_logged(session, case, "jump_to", "process_jumped_to_task", "step_not_applicable",
                             "Task_AgreeAppointment")
    assert details["skipped"] == ["Task_CaptureOrder", "Task_CheckEligibility"]


def test_override_decision_sends_the_case_down_the_other_branch(session, install, people, customer):
    case = _case(session, people, customer, steps=2)
    case = _go(dev.override_decision, session, people, case, "decision_rule_wrong", actor=people.sam,
               gateway_id="Gateway_Eligible", target_id="Task_ExplainDecline")
    assert _item(session, case).element_id == "Task_ExplainDecline"
    details = _assert_logged(session, case, "override_decision", "decision_overridden",
                             "decision_rule_wrong", "Gateway_Eligible", actor="sam")
    assert details["target_id"] == "Task_ExplainDecline" and details["rewound"] is True


def test_add_task_opens_a_work_item_for_the_team_with_its_due(session, install, people, customer):
    case = _case(session, people, customer)
    due = T0 + timedelta(days=1)
    case = _go(dev.add_task, session, people, case, "customer_asked_for_written_confirmation",
               title="Send written confirmation", team="Customer Care", due_at=due)
    added = [i for i in _open_items(session, case.id) if i.kind == "adhoc"]
    assert [(i.name, i.team, i.due_at) for i in added] == [("Send written confirmation", "Customer Care", due)]
    details = _assert_logged(session, case, "add_task", "adhoc_task_added",
                             "customer_asked_for_written_confirmation", added[0].element_id)
    assert details["title"] == "Send written confirmation" and details["blocking"] is True


def test_reassign_hands_the_step_to_another_team_and_person(session, install, people, customer):
    case = _case(session, people, customer)
    item = _item(session, case)
    case = _go(dev.reassign, session, people, case, "wrong_team", work_item_id=item.id,
               team="Field Operations", assignee_id=people.fran.id)
    session.refresh(item)
    assert (item.team, item.assignee_id, item.state) == ("Field Operations", people.fran.id, "open")
    details = _assert_logged(session, case, "reassign", "work_item_reassigned", "wrong_team",
                             "Task_CaptureOrder")
    assert details["from"] == {"team": "Customer Care", "assignee_id": None}


def test_extend_deadline_of_a_step_and_of_the_case_promise(session, install, people, customer):
    case = _case(session, people, customer)
    item = _item(session, case)
    later = item.due_at + timedelta(hours=4)
    case = _go(dev.extend_deadline, session, people, case, "assignee_absent", work_item_id=item.id,
               due_at=later)
    session.refresh(item)
    assert item.due_at == later
    _assert_logged(session, case, "extend_deadline", "deadline_extended", "assignee_absent",
                   "Task_CaptureOrder")
    promise = case.promised_at + timedelta(days=5)
    with pytest.raises(InvalidInput, match="later than"):
        _go(dev.extend_deadline, session, people, case, "assignee_absent", work_item_id=item.id,
            due_at=later - timedelta(minutes=1))
    case = _go(dev.extend_deadline, session, people, case, "customer_asked_to_reschedule", due_at=promise)
    assert session.get(Case, case.id).promised_at == promise
    assert len(_deviations(session, case)) == 2


def test_hold_and_resume(session, install, people, customer):
    case = _case(session, people, customer)
    case = _go(dev.hold, session, people, case, "customer_away")
    assert (case.status, case.held_at, case.hold_category) == ("on_hold", T0, "customer_driven")
    assert _last_event(session, case).type == "case_put_on_hold"
    with pytest.raises(Conflict, match="on hold"):
        complete_step(session, actor=people.ann, now=T0, case_id=case.id,
                      work_item_id=_item(session, case).id, data=HAPPY_PATH[0][1],
                      expected_version=case.row_version)
    case = _go(dev.resume, session, people, case, "customer_available_again")
    assert (case.status, case.held_at, case.hold_category) == ("open", None, None)
    details = json.loads(_last_event(session, case).details)
    assert details["hold_category"] == "customer_driven" and details["held_seconds"] == 0
    assert [d.kind for d in _deviations(session, case)] == ["hold", "resume"]


def test_cancel_stops_the_process_and_closes_the_case(session, install, people, customer):
    case = _case(session, people, customer)
    item = _item(session, case)
    case = _go(dev.cancel, session, people, case, "customer_withdrew", actor=people.sam)
    assert (case.status, case.closed_at) == ("cancelled", T0)
    assert session.get(WorkItem, item.id).state == "cancelled" and not _open_items(session, case.id)
    assert session.get(WorkflowInstance, case.instance_id).status == "cancelled"
    _assert_logged(session, case, "cancel", "case_cancelled", "customer_withdrew", actor="sam")


# ---- refusals ------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, note, field, message", [
    ("", NOTE, "reason_code", "Choose a reason"),
    ("no_such_code", NOTE, "reason_code", "not a reason code"),
    ("customer_withdrew", NOTE, "reason_code", "not a reason to skip"),
    ("customer_already_confirmed", "  ", "note", "why"),
    ("customer_other", "x", "note", "needs an explanation"),
])
def test_a_skip_without_a_valid_reason_changes_nothing(session, install, people, customer, code, note,
                                                      field, message):
    case = _case(session, people, customer)
    before = _snapshot(session, case.id)
    with pytest.raises(InvalidInput) as err:
        dev.skip(session, actor=people.ann, now=T0, case_id=case.id, expected_version=case.row_version,
                 reason_code=code, note=note, work_item_id=_item(session, case).id)
    assert message in err.value.errors[field]
    assert _snapshot(session, case.id) == before and not _deviations(session, case)


def test_a_code_limited_to_other_processes_is_refused(session, install, people, customer):
    case = _case(session, people, customer, steps=2)
    with pytest.raises(InvalidInput, match="does not apply to process 'install_service'"):
        _go(dev.override_decision, session, people, case, "retention_exception",
            gateway_id="Gateway_Eligible", target_id="Task_ExplainDecline")


def test_a_step_claimed_by_someone_else_cannot_be_skipped_but_a_supervisor_may(
        session, install, people, customer):
    case = _case(session, people, customer)
    item = claim(session, actor=people.bob, now=T0, work_item_id=_item(session, case).id)
    case = session.get(Case, case.id)
    before = _snapshot(session, case.id)
    with pytest.raises(Forbidden, match="claimed"):
        _go(dev.skip, session, people, case, "customer_already_confirmed", work_item_id=item.id)
    assert _snapshot(session, case.id) == before
    dev.skip(session, actor=people.sam, now=T0, case_id=case.id, expected_version=case.row_version,
             reason_code="customer_already_confirmed", note=NOTE, work_item_id=item.id)
    assert _deviations(session, case)[0].actor == "sam"


def test_stale_version_is_a_conflict_and_changes_nothing(session, install, people, customer):
    case = _case(session, people, customer)
    before = _snapshot(session, case.id)
    with pytest.raises(Conflict):
        dev.skip(session, actor=people.ann, now=T0, case_id=case.id,
                 expected_version=case.row_version - 1, reason_code="customer_already_confirmed",
                 note=NOTE, work_item_id=_item(session, case).id)
    assert _snapshot(session, case.id) == before and not _deviations(session, case)


def test_steps_that_are_not_ready_are_refused(session, install, people, customer):
    case = _case(session, people, customer, steps=1)
    done = session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                               WorkItem.state == "done")).one()
    before = _snapshot(session, case.id)
    with pytest.raises(Conflict, match="already done"):
        _go(dev.skip, session, people, case, "customer_already_confirmed", work_item_id=done.id)
    with pytest.raises(InvalidInput, match="has not been completed"):
        _go(dev.go_back, session, people, case, "wrong_data_captured", element_id="Task_InstallOnSite")
    with pytest.raises(InvalidInput, match="cannot be reached|no step"):
        _go(dev.jump_to, session, people, case, "step_not_applicable", element_id="Task_CaptureOrder")
    with pytest.raises(InvalidInput, match="choices"):
        _go(dev.override_decision, session, people, case, "decision_rule_wrong", actor=people.sam,
            gateway_id="Gateway_Eligible", target_id="Task_InstallOnSite")
    with pytest.raises(Conflict, match="open"):
        _go(dev.resume, session, people, case, "customer_available_again")
    assert _snapshot(session, case.id) == before and not _deviations(session, case)


def test_a_closed_case_refuses_every_deviation(session, install, people, customer):
    case = _go(dev.cancel, session, people, _case(session, people, customer), "customer_withdrew",
               actor=people.sam)
    before = _snapshot(session, case.id)
    for service, code, kwargs in [
        (dev.cancel, "customer_withdrew", {}),
        (dev.hold, "customer_away", {}),
        (dev.add_task, "crm_down", {"title": "Call back"}),
        (dev.extend_deadline, "customer_away", {"due_at": T0 + timedelta(days=30)}),
    ]:
        with pytest.raises(Conflict, match="cancelled"):
            _go(service, session, people, case, code, **kwargs)
    assert _snapshot(session, case.id) == before and len(_deviations(session, case)) == 1


def test_the_database_refuses_a_deviation_without_a_reason(session, install, people, customer):
    case = _case(session, people, customer)
    insert = sa.text("INSERT INTO deviation (case_id, kind, element_id, reason_code, note, actor, "
                     "definition_id, at, details) VALUES (:case_id, 'skip', NULL, :code, :note, 'ann', "
                     ":definition_id, :at, '{}')")
    values = {"case_id": case.id, "definition_id": case.definition_id, "at": T0}
    for code, note in [("", NOTE), ("customer_away", ""), ("  ", NOTE)]:
        with pytest.raises(sa.exc.IntegrityError):
            session.execute(insert, {**values, "code": code, "note": note})
        session.rollback()
    session.execute(insert, {**values, "code": "customer_away", "note": NOTE})  # the control row
    session.rollback()


# ---- the catalog ---------------------------------------------------------------------------------

def test_sync_is_idempotent_and_an_admin_can_add_a_code(session, install, people, customer):
    sync_reason_codes(session)
    count = len(session.exec(select(ReasonCode)).all())
    sync_reason_codes(session)
    assert len(session.exec(select(ReasonCode)).all()) == count == 46
    add_reason_code(session, code="customer_moved_house", label="Customer moved house",
                    category="customer_driven", kinds=["cancel", "hold"])
    with pytest.raises(Conflict, match="already exists"):
        add_reason_code(session, code="customer_moved_house", label="Again",
                        category="customer_driven", kinds=["cancel"])
    with pytest.raises(InvalidInput) as err:
        add_reason_code(session, code="Bad Code", label="", category="weather", kinds=["fly"])
    assert set(err.value.errors) == {"code", "label", "category", "kinds"}
    case = _go(dev.hold, session, people, _case(session, people, customer), "customer_moved_house")
    assert case.status == "on_hold"


# ---- combinations --------------------------------------------------------------------------------

def test_an_added_task_can_be_skipped_and_a_held_case_cancelled(session, install, people, customer):
    case = _go(dev.add_task, session, people, _case(session, people, customer), "crm_down",
               title="Re-enter the order in the CRM", team="Customer Care", blocking=True)
    added = next(i for i in _open_items(session, case.id) if i.kind == "adhoc")
    case = _go(dev.skip, session, people, case, "work_done_outside_the_system", work_item_id=added.id)
    assert [i.element_id for i in _open_items(session, case.id)] == ["Task_CaptureOrder"]
    case = _go(dev.hold, session, people, case, "fraud_suspected")
    assert case.hold_category == "policy"
    case = _go(dev.cancel, session, people, case, "fraud_suspected", actor=people.sam)
    assert (case.status, case.held_at, case.hold_category) == ("cancelled", None, None)
    assert [d.kind for d in _deviations(session, case)] == ["add_task", "skip", "hold", "cancel"]
    assert verify(session, case.id) == []  # the audit chain holds across deviations


def test_two_agents_deviating_at_once_the_second_gets_a_conflict(db_engine, install, people, customer):
    with Session(db_engine, expire_on_commit=False) as first:
        case = _case(first, people, customer)
        item_id, version = _item(first, case).id, case.row_version
    with Session(db_engine, expire_on_commit=False) as a, Session(db_engine, expire_on_commit=False) as b:
        _go(dev.skip, a, people, case, "customer_already_confirmed", work_item_id=item_id)
        with pytest.raises(Conflict):
            dev.hold(b, actor=people.bob, now=T0, case_id=case.id, expected_version=version,
                     reason_code="customer_away", note=NOTE)
        assert [d.kind for d in _deviations(b, case)] == ["skip"]
