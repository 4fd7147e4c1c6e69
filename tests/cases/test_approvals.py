"""Policy and approvals (SQLite and PostgreSQL): an agent's cancel waits for a supervisor, who approves
or rejects it; nobody decides their own request or decides twice; edit_data keeps old and new
values; a customer-caused hold pauses the internal SLA clock but never the customer's."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from cases import approvals
from cases import deviation_service as dev
from cases.approvals import ApprovalRequest
from cases.audit import verify
from cases.case_models import Case, WorkItem
from cases.errors import Conflict, Forbidden, InvalidInput
from cases.events import CaseEvent
from cases.users import create_user
from tests.cases.test_case_service import ORDER, _open_items, _snapshot
from tests.cases.test_deviations import NOTE, _case, _deviations, _go
from tests.conftest import T0


def _types(session, case) -> list[str]:
    return list(session.exec(select(CaseEvent.type).where(CaseEvent.case_id == case.id)
                             .order_by(CaseEvent.seq)).all())


def _request_cancel(session, people, customer):
    case = _case(session, people, customer)
    before = _snapshot(session, case.id)
    case = _go(dev.cancel, session, people, case, "customer_withdrew")
    [request] = approvals.for_case(session, case.id)
    return case, request, before


def test_an_agents_cancel_waits_for_approval_and_changes_nothing_else(session, install, people,
                                                                      customer):
    case, request, before = _request_cancel(session, people, customer)
    assert case.status == "open" and not _deviations(session, case)
    assert (request.kind, request.status, request.requested_by, request.reason_code, request.note) == (
        "cancel", "pending", "ann", "customer_withdrew", NOTE)
    assert _types(session, case)[-1] == "deviation_requested"
    after = _snapshot(session, case.id)
    assert after[1:2] == before[1:2] and after[3:6] == before[3:6], "workflow and items untouched"
    assert [r.id for r, _ in approvals.pending(session, actor=people.sam)] == [request.id]
    with pytest.raises(Conflict, match="already waiting"):
        _go(dev.cancel, session, people, case, "customer_withdrew")
    with pytest.raises(Forbidden, match="supervisors"):
        approvals.pending(session, actor=people.ann)


def test_a_supervisor_approves_and_the_deviation_names_both(session, install, people, customer):
    case, request, _ = _request_cancel(session, people, customer)
    case = approvals.approve(session, actor=people.sam, now=T0 + timedelta(minutes=5),
                             request_id=request.id, note="Confirmed with the customer")
    assert case.status == "cancelled" and not _open_items(session, case.id)
    [row] = _deviations(session, case)
    assert (row.kind, row.actor, row.approver, row.reason_code) == ("cancel", "ann", "sam",
                                                                   "customer_withdrew")
    assert _types(session, case)[-3:] == ["deviation_approved", "case_cancelled", "task_cancelled"]
    session.refresh(request)
    assert (request.status, request.decided_by, request.decision_note) == (
        "approved", "sam", "Confirmed with the customer")
    assert approvals.pending_count(session) == 0
    assert verify(session, case.id) == []
    with pytest.raises(Conflict, match="already approved by sam"):
        approvals.approve(session, actor=people.sam, now=T0, request_id=request.id)


def test_nobody_decides_their_own_request_and_agents_decide_none(session, install, people, customer):
    case, request, _ = _request_cancel(session, people, customer)
    before = _snapshot(session, case.id)
    with pytest.raises(Forbidden, match="own request"):
        approvals.approve(session, actor=people.ann, now=T0, request_id=request.id)
    with pytest.raises(Forbidden, match="agent may not approve"):
        approvals.approve(session, actor=people.bob, now=T0, request_id=request.id)
    with pytest.raises(Forbidden, match="own request"):
        approvals.reject(session, actor=people.ann, now=T0, request_id=request.id, note="never mind")
    assert _snapshot(session, case.id) == before
    session.refresh(request)
    assert request.status == "pending"
    with pytest.raises(sa.exc.IntegrityError):  # the database itself refuses it
        session.execute(sa.update(ApprovalRequest).where(ApprovalRequest.id == request.id)
                        .values(status="approved", decided_by="ann"))
        session.flush()
    session.rollback()


def test_a_rejection_needs_a_note_and_leaves_the_case_open(session, install, people, customer):
    case, request, _ = _request_cancel(session, people, customer)
    with pytest.raises(InvalidInput, match="why"):
        approvals.reject(session, actor=people.sam, now=T0, request_id=request.id, note=" ")
    request = approvals.reject(session, actor=people.sam, now=T0, request_id=request.id,
                               note="Try the retention offer first")
    assert (request.status, request.decided_by) == ("rejected", "sam")
    session.refresh(case)
    assert case.status == "open" and not _deviations(session, case)
    assert _types(session, case)[-1] == "deviation_rejected"
    with pytest.raises(Conflict, match="already rejected"):
        approvals.approve(session, actor=people.sam, now=T0, request_id=request.id)
    # a new request may follow the rejected one
    _go(dev.cancel, session, people, case, "customer_withdrew")
    assert [r.status for r in approvals.for_case(session, case.id)] == ["pending", "rejected"]


def test_approving_what_can_no_longer_be_done_keeps_the_request_pending(session, install, people,
                                                                        customer):
    case = _case(session, people, customer, steps=1)
    case = _go(dev.override_decision, session, people, case, "decision_rule_wrong",
               gateway_id="Gateway_Eligible", target_id="Task_InstallOnSite")
    [request] = approvals.for_case(session, case.id)
    before = _snapshot(session, case.id)
    with pytest.raises(InvalidInput, match="choices"):
        approvals.approve(session, actor=people.sam, now=T0, request_id=request.id)
    assert _snapshot(session, case.id) == before
    session.refresh(request)
    assert (request.status, request.decided_by) == ("pending", None)


def test_two_supervisors_deciding_at_once_one_wins(session, install, people, customer):
    other = create_user(session, username="sue", password="correct horse", role="supervisor",
                        now=T0, teams=["Supervisors"])
    session.commit()
    case, request, _ = _request_cancel(session, people, customer)
    approvals.reject(session, actor=other, now=T0, request_id=request.id, note="Not yet")
    with pytest.raises(Conflict, match="already rejected by sue"):
        approvals.approve(session, actor=people.sam, now=T0, request_id=request.id)
    session.refresh(case)
    assert case.status == "open"


def test_a_designer_may_not_deviate_at_all(session, install, people, customer):
    designer = create_user(session, username="dee", password="correct horse", role="designer", now=T0)
    session.commit()
    case = _case(session, people, customer)
    before = _snapshot(session, case.id)
    with pytest.raises(Forbidden, match="designer may not"):
        _go(dev.hold, session, people, case, "customer_away", actor=designer)
    assert _snapshot(session, case.id) == before


def test_edit_data_corrects_a_completed_step_keeping_old_and_new(session, install, people, customer):
    case = _case(session, people, customer, steps=1)
    case = _go(dev.edit_data, session, people, case, "wrong_data_captured",
               element_id="Task_CaptureOrder", changes={"contact_phone": "+353 1 555 0199"})
    [row] = _deviations(session, case)
    assert (row.kind, row.element_id) == ("edit_data", "Task_CaptureOrder")
    event = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                 CaseEvent.type == "task_data_corrected")).one()
    details = json.loads(event.details)
    assert details["old"] == {"contact_phone": ORDER["contact_phone"]}
    assert details["new"] == {"contact_phone": "+353 1 555 0199"}
    before = _snapshot(session, case.id)
    with pytest.raises(InvalidInput) as bad:
        _go(dev.edit_data, session, people, case, "wrong_data_captured",
            element_id="Task_CaptureOrder", changes={"colour": "red"})
    assert "colour" in bad.value.errors and bad.value.submitted == {"colour": "red"}
    assert _snapshot(session, case.id) == before


def test_a_customer_caused_hold_pauses_the_internal_clock_only(session, install, people, customer):
    case = _case(session, people, customer)
    [item] = _open_items(session, case.id)
    due, promised = item.due_at, case.promised_at
    case = _go(dev.hold, session, people, case, "customer_away")
    case = dev.resume(session, actor=people.ann, now=T0 + timedelta(hours=3), case_id=case.id,
                      expected_version=case.row_version, reason_code="customer_available_again",
                      note=NOTE)
    assert session.get(WorkItem, item.id).due_at == due + timedelta(hours=3)
    assert case.promised_at == promised, "the customer's clock never stops"
    # a hold for our own reasons does not stop the internal clock
    case = _go(dev.hold, session, people, case, "fraud_suspected")
    dev.resume(session, actor=people.ann, now=T0 + timedelta(hours=5), case_id=case.id,
               expected_version=case.row_version, reason_code="customer_available_again", note=NOTE)
    session.expire_all()
    assert session.get(WorkItem, item.id).due_at == due + timedelta(hours=3)


# ---- a second person's check cannot be bypassed (billing_inquiry: credits above 100 EUR) -------

BILLING_STEPS = [
    ("Task_LogInquiry", {"invoice_number": "INV-2026-02-88123", "inquiry_type": "dispute",
                         "disputed_amount": 240,
                         "customer_question": "Why was I charged for TV when I cancelled it?"}),
    ("Task_ReviewInvoice", {"invoice_wrong": True, "error_cause": "wrong_tariff",
                            "root_cause_in_billing": True}),
    ("Task_DetermineAdjustment", {"adjustment_type": "rebill", "credit_amount": 240}),
]


def _billing_case_at_credit_approval(session, people, customer, *, credit: int = 240,
                                     determiner=None):
    """Ann logs the inquiry, Bill of Billing reviews it and sets the credit (or `determiner` does)."""
    from cases.case_service import complete_step, open_case
    from tests.cases.conftest import deploy_shipped

    deploy_shipped(session, "billing_inquiry")
    billing = create_user(session, username="bill", password="correct horse", role="agent",
                          now=T0, teams=["Billing"])
    case = open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="billing_inquiry", channel="phone")
    for element_id, data in BILLING_STEPS:
        [item] = _open_items(session, case.id)
        assert item.element_id == element_id
        worker = {"Task_LogInquiry": people.ann,
                  "Task_DetermineAdjustment": determiner or billing}.get(element_id, billing)
        if element_id == "Task_DetermineAdjustment":
            data = {**data, "credit_amount": credit}
        case = complete_step(session, actor=worker, now=T0, case_id=case.id, work_item_id=item.id,
                             data=data, expected_version=case.row_version)
    return case


def test_an_agent_cannot_skip_the_credit_approval_alone(session, people, customer):
    case = _billing_case_at_credit_approval(session, people, customer)
    [item] = _open_items(session, case.id)
    assert (item.element_id, item.team) == ("Task_ApproveCredit", "Supervisors")
    case = _go(dev.skip, session, people, case, "step_not_applicable", work_item_id=item.id,
               data={"credit_approved": True})
    assert [i.element_id for i in _open_items(session, case.id)] == ["Task_ApproveCredit"]
    [request] = approvals.for_case(session, case.id)
    assert (request.kind, request.status) == ("skip", "pending")
    case = approvals.approve(session, actor=people.sam, now=T0, request_id=request.id,
                             note="Checked the calculation myself")
    assert [i.element_id for i in _open_items(session, case.id)] != ["Task_ApproveCredit"]
    assert _deviations(session, case)[0].approver == "sam"


def test_raising_a_credit_above_the_limit_needs_a_second_person(session, people, customer):
    case = _billing_case_at_credit_approval(session, people, customer)
    case = _go(dev.edit_data, session, people, case, "wrong_data_captured",
               element_id="Task_DetermineAdjustment", changes={"credit_amount": "90"})
    assert [d.kind for d in _deviations(session, case)] == ["edit_data"], "90 EUR: done at once"
    case = _go(dev.edit_data, session, people, case, "wrong_data_captured",
               element_id="Task_DetermineAdjustment", changes={"credit_amount": "900"})
    [request] = approvals.for_case(session, case.id)
    assert (request.kind, request.parameters["changes"]) == ("edit_data", {"credit_amount": "900"})
    assert len(_deviations(session, case)) == 1, "the raise waits for approval"


# ---- the attack pass: no route around the credit approval, nobody approves their own credit --------

APPROVED = {"credit_approved": True, "approval_note": "Fine"}


def _user(session, name):
    from cases.users import User

    return session.exec(select(User).where(User.username == name)).one()


def _complete(session, actor, case, item, data=APPROVED):
    from cases.case_service import complete_step

    return complete_step(session, actor=actor, now=T0, case_id=case.id, work_item_id=item.id,
                         data=data, expected_version=case.row_version)


def _pending(session, case) -> list[tuple[str, str]]:
    return [(r.kind, r.requested_by) for r in approvals.for_case(session, case.id)
            if r.status == "pending"]


def _unchanged(before, after):
    """The workflow and the work items are as they were (a request only logs and bumps the case)."""
    assert after[1:2] == before[1:2] and after[3:6] == before[3:6]


def test_attack_reassigning_the_credit_approval_to_oneself_then_completing_it(session, people,
                                                                             customer):
    case = _billing_case_at_credit_approval(session, people, customer, credit=5000)
    bill = _user(session, "bill")
    [item] = _open_items(session, case.id)
    assert (item.element_id, item.team) == ("Task_ApproveCredit", "Supervisors")
    with pytest.raises(Forbidden, match="work for Supervisors"):
        _complete(session, bill, case, item)
    before = _snapshot(session, case.id)
    case = _go(dev.reassign, session, people, case, "customer_other", actor=bill,
               work_item_id=item.id, assignee_id=bill.id)
    assert _pending(session, case) == [("reassign", "bill")]
    _unchanged(before, _snapshot(session, case.id))
    # even once a supervisor lets the step be handed to him, the agent cannot decide it
    [request] = approvals.for_case(session, case.id)
    case = approvals.approve(session, actor=people.sam, now=T0, request_id=request.id)
    assert session.get(WorkItem, item.id).assignee_id == bill.id
    before = _snapshot(session, case.id)
    with pytest.raises(Forbidden, match="agent may not complete steps here: this is a supervisor"):
        _complete(session, bill, case, item)
    assert _snapshot(session, case.id) == before


def test_attack_jumping_from_the_credit_approval_to_applying_it(session, people, customer):
    case = _billing_case_at_credit_approval(session, people, customer, credit=5000)
    bill = _user(session, "bill")
    before = _snapshot(session, case.id)
    case = _go(dev.jump_to, session, people, case, "step_not_applicable", actor=bill,
               element_id="Task_ApplyAdjustment")
    assert _pending(session, case) == [("jump_to", "bill")]
    _unchanged(before, _snapshot(session, case.id))
    assert [i.element_id for i in _open_items(session, case.id)] == ["Task_ApproveCredit"]


def test_attack_moving_the_credit_approval_to_billing_then_skipping_it(session, people, customer):
    case = _billing_case_at_credit_approval(session, people, customer, credit=5000)
    bill = _user(session, "bill")
    [item] = _open_items(session, case.id)
    case = _go(dev.reassign, session, people, case, "wrong_team", actor=bill, work_item_id=item.id,
               team="Billing")
    assert _pending(session, case) == [("reassign", "bill")], "re-teaming it waits too"
    case = _go(dev.reassign, session, people, case, "wrong_team", actor=people.sam,
               work_item_id=item.id, team="Billing")
    assert session.get(WorkItem, item.id).team == "Billing"
    before = _snapshot(session, case.id)
    case = _go(dev.skip, session, people, case, "step_not_applicable", actor=bill,
               work_item_id=item.id, data={"credit_approved": True})
    assert ("skip", "bill") in _pending(session, case), "its lane, not its team, makes it a check"
    _unchanged(before, _snapshot(session, case.id))
    with pytest.raises(Forbidden, match="supervisor's check"):
        _complete(session, bill, case, item)


def test_an_added_step_for_the_supervisors_stays_theirs_when_handed_on(session, people, customer):
    case = _billing_case_at_credit_approval(session, people, customer)
    case = _go(dev.add_task, session, people, case, "customer_other", actor=people.bob,
               title="Check the goodwill credit", team="Supervisors")
    [added] = [i for i in _open_items(session, case.id) if i.kind == "adhoc"]
    case = _go(dev.reassign, session, people, case, "wrong_team", actor=people.sam,
               work_item_id=added.id, team="Customer Care")
    case = _go(dev.skip, session, people, case, "customer_other", actor=people.bob,
               work_item_id=added.id)
    assert _pending(session, case) == [("skip", "bob")]
    with pytest.raises(Forbidden, match="supervisor's check"):
        _complete(session, people.bob, case, session.get(WorkItem, added.id), data={})


def test_nobody_approves_a_credit_they_set_themselves_by_any_path(session, people, customer):
    sue = create_user(session, username="sue", password="correct horse", role="supervisor",
                      now=T0, teams=["Supervisors"])
    session.commit()
    case = _billing_case_at_credit_approval(session, people, customer, credit=5000,
                                            determiner=people.sam)
    [item] = _open_items(session, case.id)
    before = _snapshot(session, case.id)
    for attempt in (lambda: _complete(session, people.sam, case, item),
                    lambda: _go(dev.skip, session, people, case, "step_not_applicable",
                                actor=people.sam, work_item_id=item.id,
                                data={"credit_approved": True}),
                    lambda: _go(dev.jump_to, session, people, case, "step_not_applicable",
                                actor=people.sam, element_id="Task_ApplyAdjustment")):
        with pytest.raises(Forbidden, match="whoever asked for it"):
            attempt()
        assert _snapshot(session, case.id) == before
    case = _go(dev.skip, session, people, case, "step_not_applicable", actor=people.ann,
               work_item_id=item.id, data={"credit_approved": True})
    [request] = approvals.for_case(session, case.id)
    with pytest.raises(Forbidden, match="whoever asked for it"):
        approvals.approve(session, actor=people.sam, now=T0, request_id=request.id)
    session.refresh(request)
    assert request.status == "pending"
    case = _complete(session, sue, case, item)
    assert [i.element_id for i in _open_items(session, case.id)] == ["Task_ApplyAdjustment"]


def test_approve_and_reject_at_once_one_wins_and_the_other_gets_409(db_engine, session, install,
                                                                   people, customer):
    """Two sessions decide one request while a third holds the case row, so both are mid-way
    (the approver holding the request, the rejecter waiting for it, or the other way round) when
    it is let go: never a deadlock, one decision, one Conflict."""
    import threading
    import time

    if db_engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite lets one writer in at a time")
    sue = create_user(session, username="sue", password="correct horse", role="supervisor",
                      now=T0, teams=["Supervisors"])
    session.commit()
    case, request, _ = _request_cancel(session, people, customer)
    sam_id, sue_id = people.sam.id, sue.id
    session.close()
    from cases.users import User

    decisions = {"approve": lambda s: approvals.approve(s, actor=s.get(User, sam_id), now=T0,
                                                        request_id=request.id),
                 "reject": lambda s: approvals.reject(s, actor=s.get(User, sue_id), now=T0,
                                                      request_id=request.id,
                                                      note="Try the retention offer first")}
    pids, outcomes = {}, {}

    def decide(name):
        with db_engine.connect() as conn, Session(bind=conn, expire_on_commit=False) as s:
            pids[name] = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            conn.commit()
            try:
                decisions[name](s)
                outcomes[name] = "done"
            except Exception as err:  # noqa: BLE001 - the assertion below names what came out
                outcomes[name] = err

    with db_engine.connect() as blocker, db_engine.connect() as probe:
        blocker.execute(sa.text("SELECT id FROM case_record WHERE id = :id FOR UPDATE"),
                        {"id": case.id})
        threads = [threading.Thread(target=decide, args=(name,)) for name in decisions]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(pids) < 2 or probe.execute(sa.text(
                "SELECT count(*) FROM unnest(CAST(:pids AS int[])) AS p "
                "WHERE cardinality(pg_blocking_pids(p)) > 0"),
                {"pids": list(pids.values())}).scalar() < 2:
            probe.rollback()
            assert time.monotonic() < deadline, f"the two deciders never both waited: {outcomes}"
        blocker.rollback()  # let them go
        for thread in threads:
            thread.join(60)
    assert sorted(type(o).__name__ if o != "done" else o for o in outcomes.values()) == [
        "Conflict", "done"], outcomes
    [winner] = [name for name, o in outcomes.items() if o == "done"]
    loser = outcomes["reject" if winner == "approve" else "approve"]
    assert "already" in str(loser)
    with Session(db_engine) as s:
        decided = s.get(ApprovalRequest, request.id)
        assert decided.status == {"approve": "approved", "reject": "rejected"}[winner]
        assert s.get(Case, case.id).status == ("cancelled" if winner == "approve" else "open")


def test_a_check_a_timer_opened_has_no_opener(session, people, customer):
    """Only the person whose own action opened a check is kept from deciding it: when a timer
    opens "Acknowledge the overdue complaint" a day later, whoever logged the complaint may."""
    from cases import duties
    from cases.case_service import complete_step, open_case
    from cases.timers import advance_due_timers
    from tests.cases.conftest import deploy_shipped

    deploy_shipped(session, "complaint")
    case = open_case(session, actor=people.sam, now=T0, customer_id=customer.id,
                     process_id="complaint", channel="phone")
    [item] = _open_items(session, case.id)
    case = complete_step(session, actor=people.sam, now=T0, case_id=case.id, work_item_id=item.id,
                         data={"complaint_about": "about_staff", "complaint_channel": "ch_phone",
                               "complaint_summary": "Nobody called back"},
                         expected_version=case.row_version)
    assert advance_due_timers(session, now=T0 + timedelta(hours=25)) == 1
    [overdue] = [i for i in _open_items(session, case.id)
                 if i.element_id == "Task_AcknowledgeOverdue"]
    session.refresh(case)
    assert overdue.team == "Supervisors" and duties.opened_by(session, case, overdue) is None
    complete_step(session, actor=people.sam, now=T0 + timedelta(hours=26), case_id=case.id,
                  work_item_id=overdue.id, data={"case_owner": "Sam", "late_because": "late_backlog"},
                  expected_version=case.row_version)
    assert session.get(WorkItem, overdue.id).state == "done"
