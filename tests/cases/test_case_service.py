"""Opening cases and completing steps on the shipped install_service process (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from cases.case_models import Case, WorkItem
from cases.case_service import complete_step, open_case
from cases.customers import create_customer, customer_view
from cases.errors import Conflict, Forbidden, InvalidInput, NotFound
from cases.events import CaseEvent
from cases.work_items import claim
from engine.store import WorkflowInstance
from tests.conftest import T0

from .conftest import deploy_shipped, work_external

ORDER = {"customer_id": "C-1001", "product": "fibre_broadband",
         "installation_address": "12 Harbour Road, Dunmore", "contact_phone": "+353 1 555 0101",
         "requested_date": "2026-03-10"}
HAPPY_PATH = [
    ("Task_CaptureOrder", ORDER),
    ("Task_CheckEligibility", {"address_serviceable": True, "credit_result": "passed"}),
    ("Task_AgreeAppointment", {"appointment_date": "2026-03-06", "appointment_slot": "morning",
                               "access_notes": "Side gate, dog friendly"}),
    ("Task_ProvisionNetwork", {"network_port": "DUN-OLT3-P12", "line_profile": "p500"}),
    ("Task_InstallOnSite", {"technician_id": "T-77", "equipment_serial": "HGW-5531-009"}),
    ("Task_ActivationTest", {"activation_ok": True, "failure_cause": "no_fault",
                             "measured_speed_mbps": 512}),
    ("Task_ConfirmWorking", {"service_working": True, "satisfaction": 5}),
]
EXTERNAL = {"Task_ProvisionNetwork"}  # a worker's step (topic network.provision), not a person's


def resolve_install(session, case, *, actor_for, start, step=timedelta(minutes=10)):
    """Walk an install_service case along HAPPY_PATH to resolved: `actor_for(item)` completes each
    person's step, a worker the external one. Returns the case and the time of its last step."""
    now = start
    for element_id, data in HAPPY_PATH:
        now += step
        if element_id in EXTERNAL:
            work_external(session, actor=actor_for(None), now=now, case_id=case.id,
                          element_id=element_id, variables=data)
            case = session.get(Case, case.id, populate_existing=True)
            continue
        [item] = session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                                     WorkItem.state == "open",
                                                     WorkItem.element_id == element_id)).all()
        case = complete_step(session, actor=actor_for(item), now=now, case_id=case.id,
                             work_item_id=item.id, data=data, expected_version=case.row_version)
    return case, now


def _open(session, people, customer, **kwargs):
    values = {"process_id": "install_service", "channel": "phone", "priority": 1,
              "contacted_at": T0 - timedelta(hours=2), "data": {}}
    return open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     **{**values, **kwargs})


def _open_items(session, case_id):
    return list(session.exec(select(WorkItem).where(WorkItem.case_id == case_id,
                                                    WorkItem.state == "open")).all())


def _snapshot(session, case_id):
    """Everything a step may change, as plain values."""
    session.expire_all()
    case = session.get(Case, case_id)
    instance = session.get(WorkflowInstance, case.instance_id)
    items = session.exec(select(WorkItem.id, WorkItem.state, WorkItem.assignee_id)
                         .where(WorkItem.case_id == case_id).order_by(WorkItem.id)).all()
    events = session.exec(select(CaseEvent.seq, CaseEvent.hash).where(CaseEvent.case_id == case_id)
                          .order_by(CaseEvent.seq)).all()
    return (case.row_version, case.status, case.event_seq, instance.row_version, instance.state,
            [tuple(i) for i in items], [tuple(e) for e in events])


def test_open_case_shows_its_first_work_item_with_team_and_due(session, install, people, customer):
    case = _open(session, people, customer)
    assert case.status == "open" and case.row_version == 1 and case.opened_at == T0
    assert case.promised_at == T0 - timedelta(hours=2) + timedelta(days=10)  # process P10D
    [item] = _open_items(session, case.id)
    assert (item.element_id, item.name, item.kind) == ("Task_CaptureOrder", "Capture order", "userTask")
    assert item.team == "Customer Care" and item.assignee_id is None
    assert item.due_at == T0 + timedelta(minutes=30)  # task PT30M from when it became ready
    types = [e.type for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                          .order_by(CaseEvent.seq)).all()]
    assert types == ["case_opened", "task_opened"]


def test_open_case_refuses_unknown_process_channel_and_customer(session, install, people, customer):
    with pytest.raises(NotFound, match="no_such_process"):
        _open(session, people, customer, process_id="no_such_process")
    with pytest.raises(InvalidInput) as err:
        _open(session, people, customer, channel="fax")
    assert "channel" in err.value.errors
    with pytest.raises(NotFound):
        open_case(session, actor=people.ann, now=T0, customer_id=999, process_id="install_service",
                  channel="web")
    assert session.exec(select(sa.func.count()).select_from(Case)).one() == 0


def test_happy_path_runs_to_resolved(session, install, people, customer):
    case = _open(session, people, customer)
    now = T0
    for element_id, data in HAPPY_PATH:
        now += timedelta(minutes=10)
        if element_id in EXTERNAL:  # the activation system's worker provisions the line
            work_external(session, actor=people.fran, now=now, case_id=case.id,
                          element_id=element_id, variables=data)
            case = session.get(Case, case.id, populate_existing=True)
            continue
        [item] = [i for i in _open_items(session, case.id) if i.element_id == element_id]
        actor = people.ann if item.team == "Customer Care" else people.fran  # each team its steps
        case = complete_step(session, actor=actor, now=now, case_id=case.id,
                             work_item_id=item.id, data=data, expected_version=case.row_version)
    assert case.status == "resolved" and case.closed_at == now
    assert case.row_version == 1 + len(HAPPY_PATH)
    assert _open_items(session, case.id) == []
    teams = [i.team for i in session.exec(select(WorkItem).where(WorkItem.case_id == case.id)
                                          .order_by(WorkItem.id)).all()]
    assert teams == ["Customer Care"] * 3 + ["Field Operations"] * 2 + ["Customer Care"]
    events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                          .order_by(CaseEvent.seq)).all()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert sum(e.type == "task_completed" for e in events) == len(HAPPY_PATH) - len(EXTERNAL)
    assert sum(e.type == "external_task_completed" for e in events) == len(EXTERNAL)
    assert [e.type for e in events][-2:] == ["end_reached", "case_resolved"]
    assert session.get(WorkflowInstance, case.instance_id).status == "completed"


def test_form_error_changes_nothing_and_returns_field_messages_with_the_data(
        session, install, people, customer):
    case = _open(session, people, customer)
    [item] = _open_items(session, case.id)
    before = _snapshot(session, case.id)
    bad = {**ORDER, "product": "carrier_pigeon", "contact_phone": ""}
    with pytest.raises(InvalidInput) as err:
        complete_step(session, actor=people.ann, now=T0 + timedelta(minutes=5), case_id=case.id,
                      work_item_id=item.id, data=bad, expected_version=1)
    assert set(err.value.errors) == {"product", "contact_phone"}
    assert all(err.value.errors.values())
    assert err.value.submitted == bad
    assert _snapshot(session, case.id) == before


def test_stale_version_is_a_conflict_with_the_data_and_changes_nothing(
        session, install, people, customer):
    case = _open(session, people, customer)
    [item] = _open_items(session, case.id)
    complete_step(session, actor=people.ann, now=T0, case_id=case.id, work_item_id=item.id,
                  data=ORDER, expected_version=1)
    [next_item] = _open_items(session, case.id)
    before = _snapshot(session, case.id)
    data = {"address_serviceable": True, "credit_result": "passed"}
    with pytest.raises(Conflict) as err:
        complete_step(session, actor=people.bob, now=T0, case_id=case.id,
                      work_item_id=next_item.id, data=data, expected_version=1)
    assert err.value.submitted == data
    assert _snapshot(session, case.id) == before


def test_completing_a_step_that_is_already_done_is_a_conflict(session, install, people, customer):
    case = _open(session, people, customer)
    [item] = _open_items(session, case.id)
    complete_step(session, actor=people.ann, now=T0, case_id=case.id, work_item_id=item.id,
                  data=ORDER, expected_version=1)
    with pytest.raises(Conflict, match="already done"):
        complete_step(session, actor=people.ann, now=T0, case_id=case.id, work_item_id=item.id,
                      data=ORDER, expected_version=2)


def test_customer_view_lists_their_cases_in_time_order(session, install, people, customer):
    other = create_customer(session, actor="ann", now=T0, name="Bea", account_number="C-2002")
    later = _open(session, people, customer, contacted_at=T0 - timedelta(hours=1), channel="web")
    earlier = _open(session, people, customer, contacted_at=T0 - timedelta(days=1), channel="store")
    _open(session, people, other)
    assert [c.id for c in customer_view(session, customer.id)] == [earlier.id, later.id]
    with pytest.raises(NotFound):
        customer_view(session, 12345)


def test_account_numbers_are_unique(session, customer):
    with pytest.raises(Conflict, match="C-1001"):
        create_customer(session, actor="ann", now=T0, name="Someone", account_number="C-1001")


def test_two_agents_on_one_case_the_second_gets_a_conflict(db_engine, install, people, customer):
    with Session(db_engine, expire_on_commit=False) as mine, \
            Session(db_engine, expire_on_commit=False) as theirs:
        case = _open(mine, people, customer)
        [item] = _open_items(mine, case.id)
        seen = theirs.get(Case, case.id)  # the other agent has the case page open at version 1
        _open_items(theirs, case.id)
        complete_step(mine, actor=people.ann, now=T0, case_id=case.id, work_item_id=item.id,
                      data=ORDER, expected_version=1)
        with pytest.raises(Conflict) as err:
            complete_step(theirs, actor=people.bob, now=T0, case_id=case.id, work_item_id=item.id,
                          data=ORDER, expected_version=seen.row_version)
        assert err.value.submitted == ORDER
        with pytest.raises(Conflict, match="already done"):  # reloaded the version, not the step
            complete_step(theirs, actor=people.bob, now=T0, case_id=case.id, work_item_id=item.id,
                          data=ORDER, expected_version=2)
    with Session(db_engine) as check:
        assert check.get(Case, case.id).row_version == 2
        assert check.get(WorkItem, item.id).assignee_id == people.ann.id


def test_a_step_claimed_by_someone_else_cannot_be_completed_by_me(session, install, people, customer):
    case = _open(session, people, customer)
    [item] = _open_items(session, case.id)
    claim(session, actor=people.bob, now=T0, work_item_id=item.id)
    with pytest.raises(Forbidden):
        complete_step(session, actor=people.ann, now=T0, case_id=case.id, work_item_id=item.id,
                      data=ORDER, expected_version=1)
    done = complete_step(session, actor=people.bob, now=T0, case_id=case.id, work_item_id=item.id,
                         data=ORDER, expected_version=1)
    assert done.row_version == 2


def test_lane_to_team_mapping_from_the_environment_applies_on_every_path(
        session, install, people, customer, monkeypatch):
    from cases.settings import configured_lane_teams

    monkeypatch.setenv("CASEFLOW_LANE_TEAMS", '{"Customer Care": "Front Desk Dublin"}')
    configured_lane_teams.cache_clear()
    try:
        case = _open(session, people, customer)  # no mapping passed: the environment's applies
        [item] = _open_items(session, case.id)
        assert item.team == "Front Desk Dublin"
    finally:
        monkeypatch.delenv("CASEFLOW_LANE_TEAMS")
        configured_lane_teams.cache_clear()
    assert configured_lane_teams() == {}


def test_an_agent_completes_only_steps_of_their_teams(session, install, people, customer):
    case = _open(session, people, customer)
    [item] = _open_items(session, case.id)
    before = _snapshot(session, case.id)
    with pytest.raises(Forbidden, match="work for Customer Care"):
        complete_step(session, actor=people.fran, now=T0, case_id=case.id, work_item_id=item.id,
                      data=ORDER, expected_version=case.row_version)
    assert _snapshot(session, case.id) == before
    case = complete_step(session, actor=people.sam, now=T0, case_id=case.id, work_item_id=item.id,
                         data=ORDER, expected_version=case.row_version)
    assert case.row_version == before[0] + 1, "a supervisor may step in for any team"


def test_a_branch_names_the_step_behind_a_merging_gateway(session, people, customer):
    from cases.case_view import case_view

    deploy_shipped(session, "billing_inquiry")
    case = open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="billing_inquiry", channel="phone")
    view = case_view(session, case.id, now=T0)
    [above_limit] = [g for g in view.gateways if g.id == "Gateway_AboveLimit"]
    labels = {c.value: c.label for c in above_limit.branches}
    assert labels["Gateway_Apply"] == "no: Apply the adjustment in billing", labels


def test_a_parallel_split_opens_its_steps_in_one_insert_each_with_its_own_row(session, people,
                                                                              customer):
    from cases.definitions import deploy_file
    from tests.conftest import DATA

    deploy_file(session, (DATA / "parallel.bpmn").read_bytes(), filename="parallel.bpmn",
                actor="designer", now=T0, activate=True)
    case = open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="parallel_process", channel="phone")
    [order] = _open_items(session, case.id)
    case = complete_step(session, actor=people.ann, now=T0, case_id=case.id,
                         work_item_id=order.id, data={}, expected_version=case.row_version)
    opened = _open_items(session, case.id)
    assert sorted(i.element_id for i in opened) == ["Provision", "Schedule"]
    session.expunge_all()  # what the insert stored, read back from the database
    stored = {i.id: i for i in _open_items(session, case.id)}
    assert {i.id: (i.task_id, i.element_id, i.name, i.team) for i in opened} == \
        {i.id: (i.task_id, i.element_id, i.name, i.team) for i in stored.values()}
    announced = [json.loads(e.details)["work_item_id"] for e in session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "task_opened"))]
    assert set(announced) >= set(stored), "each opened step's event names its own row"
    # The steps opened by that insert are ordinary rows of the session: completing one works.
    schedule = next(i for i in stored.values() if i.element_id == "Schedule")
    case = complete_step(session, actor=people.ann, now=T0, case_id=case.id,
                         work_item_id=schedule.id, data={}, expected_version=case.row_version)
    assert sorted(i.element_id for i in _open_items(session, case.id)) == ["Install", "Provision"]
