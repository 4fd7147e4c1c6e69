"""Every cell of the policy table (cases/policy.py), run through the real services on a real case
of the shipped billing_inquiry process (SQLite and PostgreSQL): allowed is done, needs approval
leaves a pending request and nothing else changed, refused raises Forbidden and changes nothing.

One migrated database per module (each cell opens its own case), so the 136 cells stay quick.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from cases import approvals
from cases import deviation_service as dev
from cases.approvals import ApprovalRequest
from cases.case_models import Case, WorkItem
from cases.case_service import complete_step, open_case
from cases.customers import create_customer
from cases.db import make_engine
from cases.deviations import Deviation
from cases.errors import Forbidden
from cases.policy import TABLE
from cases.users import User, create_user
from cases.work_items import claim
from engine.store import WorkflowInstance
from tests.cases.conftest import deploy_shipped
from tests.conftest import DATABASES, T0, migrated_database

NOTE = "The customer asked for this on the phone"
ACTORS = {"agent": "ann", "supervisor": "sam", "admin": "ada", "designer": "dee"}
LOG = {"invoice_number": "INV-2026-02-88123", "inquiry_type": "dispute", "disputed_amount": 240,
       "customer_question": "Why was I charged for TV when I cancelled it?"}
REVIEW = {"invoice_wrong": True, "error_cause": "wrong_tariff", "root_cause_in_billing": True}
DETERMINE = {"adjustment_type": "rebill", "credit_amount": 240}


@dataclass
class World:
    session: Session
    users: dict[str, User]
    customer_id: int


@pytest.fixture(scope="module",
                params=DATABASES)
def world(request, tmp_path_factory):
    """A migrated database with billing_inquiry deployed, the four roles and the case's workers.

    ann is an agent in every team of the process (Supervisors too), so only the table can stop
    her; bob requests, bill (Billing) determines the credit, sue (supervisor) approves it.
    """
    with migrated_database(request.param, tmp_path_factory.mktemp("matrix")) as url:
        yield from _world(url)


def _world(url: str):
    engine = make_engine(url)
    session = Session(engine, expire_on_commit=False)
    deploy_shipped(session, "billing_inquiry")
    teams = {"ann": ["Customer Care", "Billing", "Supervisors"], "bob": ["Customer Care"],
             "bill": ["Billing"], "sam": ["Supervisors"], "sue": ["Supervisors"], "ada": [],
             "dee": []}
    roles = {"sam": "supervisor", "sue": "supervisor", "ada": "admin", "dee": "designer"}
    users = {name: create_user(session, username=name, password="correct horse",
                               role=roles.get(name, "agent"), now=T0, teams=team_list)
             for name, team_list in teams.items()}
    customer = create_customer(session, actor="ann", now=T0, name="Ada Byrne",
                               account_number="C-1001", email="ada@example.com",
                               phone="+353 1 555 0101")
    session.commit()
    yield World(session, users, customer.id)
    session.close()
    engine.dispose()


# ---- a billing case brought to the state a cell needs -------------------------------------------

STATES = ["log", "review", "determine", "approve", "apply"]
WORKERS = {"log": ("bob", LOG), "review": ("bill", REVIEW), "determine": ("bill", DETERMINE),
           "approve": ("sue", {"credit_approved": True, "approval_note": "Checked"})}


def billing_case(w: World, state: str, *, on_hold: bool = False) -> Case:
    """Open a case and complete its steps up to `state` ('approve': waiting at the approval)."""
    s = w.session
    case = open_case(s, actor=w.users["bob"], now=T0, customer_id=w.customer_id,
                     process_id="billing_inquiry", channel="phone")
    for done in STATES[:STATES.index(state)]:
        name, data = WORKERS[done]
        case = complete_step(s, actor=w.users[name], now=T0, case_id=case.id,
                             work_item_id=open_item(w, case).id, data=data,
                             expected_version=case.row_version)
    if on_hold:
        case = _deviate(w, case, "hold", w.users["sam"])
    return case


def open_item(w: World, case: Case) -> WorkItem:
    [item] = w.session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                                   WorkItem.state == "open")).all()
    return item


def _deviate(w: World, case: Case, kind: str, actor: User, **kwargs) -> Case:
    w.session.refresh(case)
    return getattr(dev, kind)(w.session, actor=actor, now=T0, case_id=case.id,
                              expected_version=case.row_version, reason_code="customer_other",
                              note=NOTE, **kwargs)


def _request(w: World, case: Case, kind: str, **kwargs) -> ApprovalRequest:
    """bob (an agent) asks for a deviation the table holds for approval; return the request."""
    _deviate(w, case, kind, w.users["bob"], **kwargs)
    [request] = [r for r in approvals.for_case(w.session, case.id) if r.status == "pending"]
    return request


# ---- one scenario per (action, step property): state, what the actor does, what done means ----


def deviation(state: str, kind: str, on_hold: bool = False, **fixed) -> tuple:
    """A deviation by the actor; `fixed` may hold callables of (world, case, actor)."""

    def act(w: World, case: Case, actor: User):
        args = {k: (v(w, case, actor) if callable(v) else v) for k, v in fixed.items()}
        return lambda: _deviate(w, case, kind, actor, **args)

    def done(w: World, case: Case, actor: User) -> bool:
        return w.session.exec(select(Deviation.id).where(
            Deviation.case_id == case.id, Deviation.kind == kind,
            Deviation.actor == actor.username)).first() is not None

    return state, on_hold, act, done


def item_id(w, case, actor):
    return open_item(w, case).id


def own_id(w, case, actor):
    return actor.id


def branch(gateway_id: str, name: str):
    """The target of a named branch of a decision (read from the deployed model)."""

    def target(w, case, actor):
        from cases.sla import definition_metadata

        [process] = definition_metadata(w.session, case.definition_id).processes
        [flow] = [f for f in process.flows if f.source == gateway_id and f.name == name]
        return flow.target

    return target


def later(w, case, actor):
    return open_item(w, case).due_at + timedelta(days=1)


def work(state: str, what: str, data: dict | None = None) -> tuple:
    """Claim or complete the open step."""

    def act(w: World, case: Case, actor: User):
        item = open_item(w, case)
        if what == "claim":
            return lambda: claim(w.session, actor=actor, now=T0, work_item_id=item.id)
        return lambda: complete_step(w.session, actor=actor, now=T0, case_id=case.id,
                                     work_item_id=item.id, data=data,
                                     expected_version=case.row_version)

    def done(w: World, case: Case, actor: User) -> bool:
        item = w.session.exec(select(WorkItem).where(WorkItem.case_id == case.id)
                              .order_by(WorkItem.id.desc())).all()
        mine = [i for i in item if i.assignee_id == actor.id]
        return bool(mine) and (what == "claim" or mine[0].state == "done")

    return state, False, act, done


def decision(state: str, what: str, kind: str, **params) -> tuple:
    """Approve or reject bob's pending request for `kind`."""

    def act(w: World, case: Case, actor: User):
        args = {k: (v(w, case, actor) if callable(v) else v) for k, v in params.items()}
        request = _request(w, case, kind, **args)
        service = approvals.approve if what == "approve" else approvals.reject
        return lambda: service(w.session, actor=actor, now=T0, request_id=request.id,
                               note="Looked at it with the customer's file")

    def done(w: World, case: Case, actor: User) -> bool:
        [request] = approvals.for_case(w.session, case.id)
        w.session.refresh(request)
        decided = {"approve": "approved", "reject": "rejected"}[what]
        return (request.status, request.decided_by) == (decided, actor.username)

    return state, False, act, done


# a skip gives the fields later decisions read (cases/preview/needs.py)
REVIEW_READ = {"invoice_wrong": True, "root_cause_in_billing": True}
APPROVED = {"credit_approved": True}
CUSTOMER_CARE = {"title": "Send a written confirmation", "team": "Customer Care"}
SCENARIOS: dict[tuple[str, str], tuple] = {
    ("claim", "ordinary"): work("review", "claim"),
    ("claim", "approval_step"): work("approve", "claim"),
    ("complete", "ordinary"): work("review", "complete", REVIEW),
    ("complete", "approval_step"): work("approve", "complete", {"credit_approved": True}),
    ("complete", "credit_above_limit"): work("determine", "complete", {
        "adjustment_type": "credit_note", "credit_amount": 5000}),
    ("skip", "ordinary"): deviation("review", "skip", work_item_id=item_id, data=REVIEW_READ),
    ("skip", "approval_step"): deviation("approve", "skip", work_item_id=item_id, data=APPROVED),
    ("go_back", "ordinary"): deviation("determine", "go_back", element_id="Task_ReviewInvoice"),
    ("go_back", "approval_step"): deviation("apply", "go_back",
                                            element_id="Task_DetermineAdjustment"),
    ("jump_to", "ordinary"): deviation("log", "jump_to", element_id="Task_ReviewInvoice"),
    ("jump_to", "approval_step"): deviation("approve", "jump_to",
                                            element_id="Task_ApplyAdjustment"),
    ("override_decision", "ordinary"): deviation("review", "override_decision",
                                                 gateway_id="Gateway_InvoiceWrong",
                                                 target_id=branch("Gateway_InvoiceWrong", "wrong")),
    ("override_decision", "approval_step"): deviation("approve", "override_decision",
                                                      gateway_id="Gateway_Approved",
                                                      target_id=branch("Gateway_Approved", "yes")),
    ("add_task", "ordinary"): deviation("review", "add_task", **CUSTOMER_CARE),
    ("add_task", "approval_step"): deviation("approve", "add_task", **CUSTOMER_CARE),
    ("reassign", "ordinary"): deviation("review", "reassign", work_item_id=item_id,
                                        assignee_id=own_id),
    ("reassign", "approval_step"): deviation("approve", "reassign", work_item_id=item_id,
                                             assignee_id=own_id),
    ("extend_deadline", "ordinary"): deviation("review", "extend_deadline", work_item_id=item_id,
                                               due_at=later),
    ("extend_deadline", "approval_step"): deviation("approve", "extend_deadline",
                                                    work_item_id=item_id, due_at=later),
    ("hold", "ordinary"): deviation("review", "hold"),
    ("hold", "approval_step"): deviation("approve", "hold"),
    ("resume", "ordinary"): deviation("review", "resume", on_hold=True),
    ("resume", "approval_step"): deviation("approve", "resume", on_hold=True),
    ("cancel", "ordinary"): deviation("review", "cancel"),
    ("cancel", "approval_step"): deviation("approve", "cancel"),
    ("edit_data", "ordinary"): deviation("determine", "edit_data", element_id="Task_ReviewInvoice",
                                         changes={"error_cause": "missing_discount"}),
    ("edit_data", "approval_step"): deviation("apply", "edit_data", element_id="Task_ApproveCredit",
                                              changes={"approval_note": "Approved on the phone"}),
    ("edit_data", "credit_above_limit"): deviation("approve", "edit_data",
                                                   element_id="Task_DetermineAdjustment",
                                                   changes={"credit_amount": 900}),
    ("approve", "ordinary"): decision("review", "approve", "cancel"),
    ("approve", "approval_step"): decision("approve", "approve", "skip", work_item_id=item_id,
                                                data=APPROVED),
    ("approve", "credit_above_limit"): decision("approve", "approve", "edit_data",
                                                element_id="Task_DetermineAdjustment",
                                                changes={"credit_amount": 900}),
    ("reject", "ordinary"): decision("review", "reject", "cancel"),
    ("reject", "approval_step"): decision("approve", "reject", "skip", work_item_id=item_id,
                                               data=APPROVED),
    ("reject", "credit_above_limit"): decision("approve", "reject", "edit_data",
                                               element_id="Task_DetermineAdjustment",
                                               changes={"credit_amount": 900}),
}


def snapshot(w: World, case_id: int) -> dict:
    """Everything an action may change, as plain values (events and requests apart)."""
    s = w.session
    s.expire_all()
    case = s.get(Case, case_id)
    instance = s.get(WorkflowInstance, case.instance_id)
    items = s.exec(select(WorkItem.id, WorkItem.state, WorkItem.assignee_id, WorkItem.team,
                          WorkItem.due_at).where(WorkItem.case_id == case_id)
                   .order_by(WorkItem.id)).all()
    return {"case": (case.status, case.promised_at, case.held_at), "version": case.row_version,
            "events": case.event_seq, "workflow": (instance.row_version, instance.state),
            "items": [tuple(i) for i in items],
            "deviations": len(s.exec(select(Deviation.id)
                                     .where(Deviation.case_id == case_id)).all()),
            "requests": [(r.id, r.status) for r in approvals.for_case(s, case_id)]}


def test_every_cell_of_the_table_has_a_scenario():
    assert set(SCENARIOS) == {(action, prop) for (_, action, prop) in TABLE}


@pytest.mark.parametrize("role,action,prop", sorted(TABLE),
                         ids=["-".join(cell) for cell in sorted(TABLE)])
def test_the_services_do_what_the_table_says(world, role, action, prop):
    world.session.rollback()
    state, on_hold, act, done = SCENARIOS[(action, prop)]
    case = billing_case(world, state, on_hold=on_hold)
    actor = world.users[ACTORS[role]]
    call = act(world, case, actor)
    before = snapshot(world, case.id)
    expected = TABLE[(role, action, prop)]
    if expected == "refused":
        with pytest.raises(Forbidden):
            call()
        assert snapshot(world, case.id) == before
        return
    call()
    after = snapshot(world, case.id)
    new = [r for r in approvals.for_case(world.session, case.id)
           if (r.id, r.status) not in before["requests"]]
    if expected == "needs_approval":
        assert [(r.kind, r.status, r.requested_by) for r in new] == [
            (action, "pending", actor.username)]
        for part in ("case", "workflow", "items", "deviations"):
            assert after[part] == before[part], part
    else:
        assert done(world, case, actor), f"{role} {action} on {prop} was not done"
        assert not [r for r in new if r.status == "pending"]
