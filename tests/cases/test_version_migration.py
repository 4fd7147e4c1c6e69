"""Moving running cases between versions: dry run, migration, refusals, deviation warnings."""
from __future__ import annotations

import json
import re

import pytest
from sqlmodel import select

from cases import deviation_service as dev
from cases import version_migration as vm
from cases.audit import verify
from cases.case_models import Case, WorkItem
from cases.definitions import deploy_file
from cases.errors import Forbidden, InvalidInput
from cases.events import CaseEvent
from cases.work_items import claim
from engine.store import WorkflowInstance, active_version
from tests.cases.test_deviations import _case
from tests.conftest import BPMN_DIR, T0

V1 = (BPMN_DIR / "install_service.bpmn").read_text()


def _renamed() -> bytes:
    """v2: the eligibility check renamed, its SLA doubled."""
    xml = V1.replace('name="Check eligibility and credit"', 'name="Check eligibility, credit and fraud"')
    return xml.replace('<camunda:property name="caseflow.sla" value="PT1H" />',
                       '<camunda:property name="caseflow.sla" value="PT2H" />', 1).encode()


def _check_is_manual() -> bytes:
    """v3: the eligibility check becomes a manual task (same id, other kind)."""
    xml = re.sub(r'<bpmn:userTask id="Task_CheckEligibility"(.*?)</bpmn:userTask>',
                 r'<bpmn:manualTask id="Task_CheckEligibility"\1</bpmn:manualTask>', V1, count=1,
                 flags=re.DOTALL)
    xml = re.sub(r'(<bpmn:manualTask id="Task_CheckEligibility".*?)<camunda:formData>.*?</camunda:formData>',
                 r"\1", xml, count=1, flags=re.DOTALL)
    return xml.encode()


NOTE = "Customer told us on the phone"


def _open_items(session, case_id):
    return list(session.exec(select(WorkItem).where(WorkItem.case_id == case_id,
                                                    WorkItem.state == "open")).all())




def _deploy(session, data: bytes) -> int:
    [version] = deploy_file(session, data, filename="install_service.bpmn", actor="dana",
                            now=T0).versions
    return version.id


@pytest.fixture
def designer(session):
    from cases.users import create_user

    user = create_user(session, username="dana", password="correct horse", role="designer", now=T0)
    session.commit()
    return user


def _events(session, case_id, type_):
    return session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                CaseEvent.type == type_)).all()


def test_dry_run_then_migrate_moves_cases_and_keeps_their_work_items(
        session, install, people, customer, designer):
    v1 = active_version(session, "install_service").id
    at_capture = _case(session, people, customer)
    at_check = _case(session, people, customer, steps=1)
    item = _open_items(session, at_check.id)[0]
    claim(session, actor=people.ann, now=T0, work_item_id=item.id)
    v2 = _deploy(session, _renamed())

    plan = vm.dry_run(session, from_id=v1, to_id=v2, now=T0)
    assert [(c.case_id, c.can_move) for c in plan.cases] == [(at_capture.id, True), (at_check.id, True)]
    assert plan.cases[1].steps == ["Task_CheckEligibility"]
    assert session.get(Case, at_check.id).definition_id == v1  # a dry run changes nothing

    results = vm.migrate(session, actor=designer, now=T0, from_id=v1, to_id=v2)
    assert [(r.case_id, r.moved) for r in results] == [(at_capture.id, True), (at_check.id, True)]
    for case_id in (at_capture.id, at_check.id):
        case = session.get(Case, case_id, populate_existing=True)
        assert case.definition_id == v2
        assert session.get(WorkflowInstance, case.instance_id, populate_existing=True).definition_id == v2
        [event] = _events(session, case_id, "process_migrated")
        details = json.loads(event.details)
        assert (event.actor, details["from_version"], details["to_version"]) == ("dana", 1, 2)
        assert verify(session, case_id) == []
    [kept] = _open_items(session, at_check.id)
    assert (kept.id, kept.assignee_id) == (item.id, people.ann.id)
    # the open step moved with the case; the step done before stays with the version it was done in
    items = {i.element_id: i for i in session.exec(select(WorkItem).where(
        WorkItem.case_id == at_check.id).execution_options(populate_existing=True))}
    assert (items["Task_CaptureOrder"].state, items["Task_CaptureOrder"].definition_id) == ("done", v1)
    assert kept.definition_id == v2
    # The moved case runs on in the new version.
    from cases.case_service import complete_step
    case = session.get(Case, at_check.id)
    complete_step(session, actor=people.ann, now=T0, case_id=case.id, work_item_id=kept.id,
                  data={"address_serviceable": True, "credit_result": "passed"},
                  expected_version=case.row_version)
    assert [i.element_id for i in _open_items(session, case.id)] == ["Task_AgreeAppointment"]


def test_a_case_that_cannot_move_is_reported_and_left_untouched(
        session, install, people, customer, designer):
    v1 = active_version(session, "install_service").id
    movable = _case(session, people, customer)
    stuck = _case(session, people, customer, steps=1)
    v3 = _deploy(session, _check_is_manual())
    before = session.get(WorkflowInstance, stuck.instance_id).state

    plan = vm.dry_run(session, from_id=v1, to_id=v3, now=T0)
    verdicts = {c.case_id: c for c in plan.cases}
    assert verdicts[movable.id].can_move
    assert not verdicts[stuck.id].can_move
    assert "manual task in the new version" in verdicts[stuck.id].reasons[0]

    results = {r.case_id: r for r in vm.migrate(session, actor=designer, now=T0, from_id=v1, to_id=v3)}
    assert results[movable.id].moved
    assert not results[stuck.id].moved and "Check eligibility" in results[stuck.id].reason
    stuck = session.get(Case, stuck.id, populate_existing=True)
    assert stuck.definition_id == v1 and stuck.row_version == 2
    assert session.get(WorkflowInstance, stuck.instance_id, populate_existing=True).state == before
    assert _events(session, stuck.id, "process_migrated") == []


def test_only_chosen_cases_move(session, install, people, customer, designer):
    v1 = active_version(session, "install_service").id
    first, second = _case(session, people, customer), _case(session, people, customer)
    v2 = _deploy(session, _renamed())
    results = vm.migrate(session, actor=designer, now=T0, from_id=v1, to_id=v2,
                         case_ids=[second.id, 9999])
    assert [(r.case_id, r.moved) for r in results] == [(second.id, True), (9999, False)]
    assert session.get(Case, first.id, populate_existing=True).definition_id == v1


def test_refusals(session, install, people, customer, designer):
    v1 = active_version(session, "install_service").id
    v2 = _deploy(session, _renamed())
    with pytest.raises(Forbidden):
        vm.migrate(session, actor=people.sam, now=T0, from_id=v1, to_id=v2)
    with pytest.raises(InvalidInput) as same:
        vm.dry_run(session, from_id=v1, to_id=v1)
    assert "different version" in same.value.errors["to"]
    other = deploy_file(session, (BPMN_DIR / "complaint.bpmn").read_bytes(), filename="complaint.bpmn",
                        actor="dana", now=T0).versions[0]
    with pytest.raises(InvalidInput) as cross:
        vm.dry_run(session, from_id=v1, to_id=other.id)
    assert "not 'install_service'" in cross.value.errors["to"]


def test_dry_run_warns_about_a_step_with_many_deviations(session, install, people, customer):
    v1 = active_version(session, "install_service").id
    cases = [_case(session, people, customer) for _ in range(3)]
    for case in cases[:2]:
        [item] = _open_items(session, case.id)
        dev.skip(session, actor=people.ann, now=T0, case_id=case.id, expected_version=case.row_version,
                 reason_code="customer_already_confirmed", note=NOTE, work_item_id=item.id)
    v2 = _deploy(session, _renamed())
    [warning] = vm.dry_run(session, from_id=v1, to_id=v2, now=T0).warnings
    assert (warning.element_id, warning.deviations, warning.reached) == ("Task_CaptureOrder", 2, 3)
    assert warning.kinds == ["skip"] and "2 of 3 cases" in warning.describe()


def _renamed_capture() -> bytes:
    """v2: the first step renamed (the agent's words for it changed)."""
    return V1.replace('name="Capture order"', 'name="Capture the order (rev 2)"').encode()


def test_a_migrated_case_timeline_reads_exactly_as_before(session, install, people, customer, designer):
    from cases.case_view import case_timeline

    assert 'name="Capture order"' in V1
    v1 = active_version(session, "install_service").id
    case = _case(session, people, customer, steps=1)
    before = [(e.at, e.actor, e.text) for e in case_timeline(session, session.get(Case, case.id))]
    assert any("“Capture order”" in text for _, _, text in before)
    v2 = _deploy(session, _renamed_capture())
    [result] = vm.migrate(session, actor=designer, now=T0, from_id=v1, to_id=v2)
    assert result.moved
    after = [(e.at, e.actor, e.text)
             for e in case_timeline(session, session.get(Case, case.id, populate_existing=True))]
    assert after[1:] == before  # the past reads as it did; only the migration is new
    assert "moved the case from version 1 to version 2" in after[0][2]
    assert not any("rev 2" in text for _, _, text in after)


def test_dry_run_warnings_name_the_step_as_it_was_called_where_people_deviated(
        session, install, people, customer):
    v1 = active_version(session, "install_service").id
    cases = [_case(session, people, customer) for _ in range(2)]
    for case in cases:
        [item] = _open_items(session, case.id)
        dev.skip(session, actor=people.ann, now=T0, case_id=case.id, expected_version=case.row_version,
                 reason_code="customer_already_confirmed", note=NOTE, work_item_id=item.id)
    v2 = _deploy(session, _renamed_capture())
    [warning] = vm.dry_run(session, from_id=v1, to_id=v2, now=T0).warnings
    assert warning.describe().startswith(
        "Step 'Capture order' (Task_CaptureOrder), called 'Capture the order (rev 2)' in the new version:")


def test_the_event_export_keeps_the_old_names_and_version_of_a_migrated_case(
        session, install, people, customer, designer):
    from cases.exports import ExportFilter, iter_events

    v1 = active_version(session, "install_service").id
    case = _case(session, people, customer, steps=1)
    v2 = _deploy(session, _renamed_capture())
    vm.migrate(session, actor=designer, now=T0, from_id=v1, to_id=v2)
    rows = [(e.type, e.activity, e.version) for e in iter_events(session, ExportFilter())
            if e.case_id == case.id]
    assert ("task_completed", "Capture order", 1) in rows
    assert not any("rev 2" in activity for _, activity, _ in rows)
    assert rows[-1][0] == "process_migrated" and rows[-1][2] == 1
