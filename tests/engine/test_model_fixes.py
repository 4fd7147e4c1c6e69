"""What Caseflow changes or refuses in a model before SpiffWorkflow runs it: sequence flows without
an id, compensation, and model faults at an element becoming ScriptFailed."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import runtime
from engine.definitions import compile_processes
from engine.errors import InvalidBpmn, ScriptFailed
from engine.parser import BPMN_NS, name_anonymous_flows
from engine.validate import validate_bpmn
from engine.xmlsafe import parse_bpmn_xml
from tests.conftest import CORPUS, T0

from .bpmn_snippets import doc, process
from .helpers import DATA, Runner, complete, compile_file, ready_ids


def _flow_ids(data: bytes) -> list[str]:
    root = parse_bpmn_xml(data)
    name_anonymous_flows(root)
    return [f.get("id") for f in root.iter(f"{{{BPMN_NS}}}sequenceFlow")]


@pytest.fixture(params=[False, True], ids=["plain", "roundtrip"])
def roundtrip(request):
    return request.param


# ---- sequence flows without ids ---------------------------------------------------------------

def test_flows_without_ids_get_stable_ids_that_clash_with_nothing():
    data = (DATA / "flows_without_ids.bpmn").read_bytes()
    ids = _flow_ids(data)
    assert ids == ["Flow_theStart_fork", "Flow_fork_receivePayment", "Flow_fork_ship_2",
                   "Flow_receivePayment_join", "Flow_ship_join", "Flow_join_archiveOrder",
                   "Flow_archiveOrder_theEnd"]
    assert _flow_ids(data) == ids, "the same bytes always give the same ids"


def test_twin_flows_without_ids_are_numbered():
    body = ('    <bpmn:startEvent id="S"/>\n'
            '    <bpmn:sequenceFlow sourceRef="S" targetRef="G"/>\n'
            '    <bpmn:exclusiveGateway id="G" default="Flow_G_E"/>\n'
            '    <bpmn:sequenceFlow id="Flow_G_E" sourceRef="G" targetRef="E"/>\n'
            '    <bpmn:sequenceFlow sourceRef="G" targetRef="E">'
            '<bpmn:conditionExpression>False</bpmn:conditionExpression></bpmn:sequenceFlow>\n'
            '    <bpmn:endEvent id="E"/>\n')
    assert _flow_ids(doc(process(body)).encode()) == ["Flow_S_G", "Flow_G_E", "Flow_G_E_2"]


def test_process_with_flows_without_ids_runs_to_the_end(roundtrip):
    path = DATA / "flows_without_ids.bpmn"
    assert validate_bpmn(path.read_bytes(), path.name).valid
    run = Runner(compile_file(path), roundtrip)
    inst = run.start(now=T0)
    assert ready_ids(inst) == ["receivePayment", "ship"]
    for element in ("receivePayment", "ship", "archiveOrder"):
        complete(inst, element, now=T0)
        inst = run.again(inst)
    assert inst.is_completed


# ---- compensation ---------------------------------------------------------------------------

def test_compensation_is_refused_with_element_and_line():
    data = (DATA / "compensation.bpmn").read_bytes()
    report = validate_bpmn(data, "compensation.bpmn")
    assert not report.valid
    found = {(p.element_id, p.line): p.message for p in report.errors}
    assert found == {
        ("UndoCharge", 9): "Compensation (boundary event 'Undo charge' (UndoCharge), line 9) is "
                           "not supported by Caseflow: model the undo step as an explicit task "
                           "or error path.",
        ("Refund", 12): "Compensation handler (user task 'Refund the card' (Refund), line 12) is "
                        "not supported by Caseflow: model the undo step as an explicit task or "
                        "error path.",
        ("Cancel", 14): "Compensation (intermediate throw event 'Cancel the order' (Cancel), "
                        "line 14) is not supported by Caseflow: model the undo step as an "
                        "explicit task or error path.",
    }
    assert not any("Unsupported Catch Event" in p.message for p in report.problems)
    with pytest.raises(InvalidBpmn, match="Compensation"):
        compile_processes(data, "compensation.bpmn")


def test_compensation_in_a_real_modeler_file_is_named():
    path = CORPUS / "valid" / "bpmnio_kitchen-sink.bpmn"
    report = validate_bpmn(path.read_bytes(), path.name)
    found = [p for p in report.errors if "Compensation" in p.message]
    assert [(p.element_id, p.line, p.message) for p in found] == [(
        "BoundaryEvent_1ge1buo", 42, "Compensation (boundary event BoundaryEvent_1ge1buo, line 42) "
        "is not supported by Caseflow: model the undo step as an explicit task or error path.")]


# ---- model faults at an element ---------------------------------------------------------------

@pytest.mark.parametrize("wait_for", [None, "P3X", 5], ids=["undefined", "not-iso", "not-text"])
def test_failing_timer_expression_is_a_script_failure_at_the_timer(wait_for):
    inst = runtime.start(compile_file(DATA / "failing_events.bpmn"), now=T0)
    data = {} if wait_for is None else {"wait_for": wait_for}
    with pytest.raises(ScriptFailed) as err:
        complete(inst, "Enter", data, now=T0)
    assert err.value.element_id == "Pause"


def test_good_timer_expression_from_data_waits(roundtrip):
    run = Runner(compile_file(DATA / "failing_events.bpmn"), roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Enter", {"wait_for": "PT2H", "order_ref": "x"}, now=T0)
    assert run.again(inst).next_timer_due() == T0 + timedelta(hours=2)
