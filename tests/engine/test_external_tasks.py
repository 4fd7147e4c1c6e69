"""External tasks on a real file: service tasks with a topic wait for workers, are completed with
variables or throw BPMN errors caught by an error boundary, plain and after save/restore round trips
against a spec restored from storage."""
from __future__ import annotations

import pytest

from engine.definitions import process_from_spec_json
from engine.errors import ErrorNotCaught, TaskNotReady
from engine.external import complete_external, throw_bpmn_error
from tests.conftest import T0

from .bpmn_snippets import check
from .helpers import DATA, Runner, compile_file, complete, ready_ids

FILE = DATA / "external_tasks.bpmn"


@pytest.fixture(scope="module")
def process():
    return compile_file(FILE)


@pytest.fixture(params=[False, True], ids=["plain", "roundtrip"])
def run(request, process):
    if request.param:
        process = process_from_spec_json(process.process_id, process.spec_json())
    return Runner(process, request.param)


def _external(inst, element_id):
    matches = [t for t in inst.external_tasks() if t.element_id == element_id]
    assert matches, f"{element_id} is not waiting for a worker: {inst.external_tasks()}"
    return matches[0]


def test_a_service_task_with_a_camunda_topic_waits_for_a_worker_not_a_person(run):
    inst = run.start({"order": 7}, now=T0)
    task = _external(inst, "Provision")
    assert (task.topic, task.name, task.data["order"]) == ("network.provision",
                                                          "Provision the network", 7)
    assert task.ready_since == T0
    assert ready_ids(inst) == []
    with pytest.raises(TaskNotReady):
        inst.complete(task.id, {}, now=T0)


def test_completing_with_variables_moves_on_to_the_caseflow_topic_then_the_human_step(run):
    inst = run.start(now=T0)
    complete_external(inst, _external(inst, "Provision").id, {"circuit": "C-1"}, now=T0)
    inst = run.again(inst)
    notify = _external(inst, "Notify")
    assert notify.topic == "mail.send" and notify.data["circuit"] == "C-1"
    complete_external(inst, notify.id, {}, now=T0)
    inst = run.again(inst)
    assert inst.external_tasks() == [] and ready_ids(inst) == ["Check"]
    with pytest.raises(TaskNotReady):
        complete_external(inst, inst.ready_tasks()[0].id, {}, now=T0)
    complete(inst, "Check", now=T0)
    assert inst.is_completed


def test_a_bpmn_error_is_caught_by_the_boundary_event_on_the_task(run):
    inst = run.start(now=T0)
    caught = throw_bpmn_error(inst, _external(inst, "Provision").id, "PROVISION_FAILED",
                              "port busy", {"reason": "port 4 busy"}, now=T0)
    inst = run.again(inst)
    assert caught == "ProvisionFailed"
    assert ready_ids(inst) == ["ProvisionByHand"] and inst.external_tasks() == []
    assert inst.ready_tasks()[0].data["reason"] == "port 4 busy"


def test_an_error_code_nobody_catches_leaves_the_task_waiting(run):
    inst = run.start(now=T0)
    task = _external(inst, "Provision")
    with pytest.raises(ErrorNotCaught) as err:
        throw_bpmn_error(inst, task.id, "NO_SUCH_CODE", now=T0)
    assert err.value.element_id == "Provision" and "NO_SUCH_CODE" in str(err.value)
    assert _external(run.again(inst), "Provision").id == task.id


def test_validation_warns_only_about_the_service_task_without_a_topic():
    report = check(FILE.read_text())
    assert report.valid
    assert [p.element_id for p in report.problems if p.severity == "warning"] == ["Check"]
