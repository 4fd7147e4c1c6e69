"""Validation of uploaded BPMN: every structural problem kind, located by element id and line."""
from __future__ import annotations

import json

import pytest

from engine.validate import validate_bpmn

from .bpmn_snippets import (LINEAR, check, doc, finishes_within, gateway, line_of, linear, only,
                            process, renamed)


# --- a valid model ----------------------------------------------------------------------------

def test_a_plain_model_is_valid_and_lists_its_processes():
    report = check(doc())
    assert report.valid and report.problems == [] and report.processes == ["P"]
    assert report.as_dict() == {"valid": True, "processes": ["P"], "problems": []}


def test_report_as_dict_has_designer_fields():
    report = check(doc(process(LINEAR.replace('sourceRef="Task_1" targetRef="EndEvent_1"',
                                              'sourceRef="Task_1" targetRef="Task_9"'))))
    assert report.as_dict()["valid"] is False
    item = report.as_dict()["problems"][0]
    assert set(item) == {"element_id", "element_name", "line", "message", "severity"}


def test_an_unreadable_file_gives_a_report_not_an_exception():
    report = validate_bpmn(b"PK\x03\x04rest", "model.bpmn")
    assert not report.valid and report.processes == []
    assert "ZIP archive" in report.problems[0].message


def test_camunda_extension_attributes_are_not_problems():
    body = LINEAR.replace('<bpmn:userTask id="Task_1" name="Review"/>',
                          '<bpmn:userTask id="Task_1" name="Review" camunda:assignee="demo" '
                          'camunda:formKey="embedded:app:review.html"/>')
    xml = doc(process(body).replace('name="Claims"',
                                    'name="Claims" camunda:historyTimeToLive="P1D"'))
    # The embedded form cannot be shown: a warning naming the step (issue 18), nothing else.
    (warning,) = check(xml).problems
    assert (warning.severity, warning.element_id) == ("warning", "Task_1")
    assert "embedded HTML form" in warning.message


# --- ids and flows ----------------------------------------------------------------------------

def test_duplicate_ids_are_an_error_at_the_second_element():
    body = LINEAR.replace('targetRef="EndEvent_1"/>', 'targetRef="Task_1"/>\n'
                          '    <bpmn:userTask id="Task_1" name="Copy"/>\n'
                          '    <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_1" '
                          'targetRef="EndEvent_1"/>', 1)
    xml = doc(process(body))
    report = check(xml)
    problem = only(report, "Task_1")
    assert "Id 'Task_1' is used by 2 elements" in problem.message
    assert problem.line == line_of(xml, 'id="Task_1"', 2)
    assert not report.valid


def test_multi_instance_data_items_sharing_an_id_are_only_a_warning():
    mi = ('    <bpmn:userTask id="Mid" name="Each">\n'
          '      <bpmn:multiInstanceLoopCharacteristics>\n'
          '        <bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>\n'
          '        <bpmn:inputDataItem id="item" name="item"/>\n'
          '        <bpmn:outputDataItem id="item" name="item"/>\n'
          '      </bpmn:multiInstanceLoopCharacteristics>\n    </bpmn:userTask>\n')
    report = check(doc(process(linear(mi))))
    assert report.valid
    assert only(report, "item", "warning")


def test_a_flow_to_a_missing_id_names_the_flow_and_the_id():
    xml = doc(process(LINEAR.replace('id="Flow_2" sourceRef="Task_1" targetRef="EndEvent_1"',
                                     'id="Flow_3" sourceRef="Task_1" targetRef="Task_9"')))
    report = check(xml)
    problem = only(report, "Flow_3")
    assert "Sequence flow Flow_3 points to 'Task_9', which does not exist" in problem.message
    assert problem.line == line_of(xml, 'id="Flow_3"')
    assert "two items" not in json.dumps(report.as_dict())  # SpiffWorkflow's misleading words


def test_a_flow_from_a_missing_id_and_a_flow_without_target():
    extra = ('    <bpmn:sequenceFlow id="Flow_x" sourceRef="Ghost" targetRef="EndEvent_1"/>\n'
             '    <bpmn:sequenceFlow id="Flow_y" sourceRef="Task_1"/>\n')
    xml = doc(process(LINEAR + extra))
    report = check(xml)
    assert "starts at 'Ghost', which does not exist" in only(report, "Flow_x").message
    assert "has no target" in only(report, "Flow_y").message
    assert only(report, "Flow_y").line == line_of(xml, 'id="Flow_y"')


# --- processes, start and end -----------------------------------------------------------------

def without(body: str, element_id: str) -> str:
    """Drop the lines that mention an id: the element and the flows touching it."""
    return "".join(line for line in body.splitlines(True) if f'"{element_id}"' not in line)


def test_a_process_without_start_event():
    xml = doc(process(without(LINEAR, "StartEvent_1")))
    problem = only(check(xml), "P")
    assert "has no start event" in problem.message and problem.line == line_of(xml, 'id="P"')
    assert problem.element_name == "Claims"


def test_a_process_without_end_event():
    xml = doc(process(without(LINEAR, "EndEvent_1")))
    problem = only(check(xml), "P")
    assert "has no end event" in problem.message and problem.line == line_of(xml, 'id="P"')


def test_a_non_executable_process_is_a_warning_next_to_an_executable_one():
    xml = doc(process(), process(renamed(LINEAR, "B_"), pid="Pool_B", executable="false"))
    report = check(xml)
    assert report.valid and report.processes == ["P"]
    warning = only(report, "Pool_B", "warning")
    assert "will not run" in warning.message and warning.line == line_of(xml, 'id="Pool_B"')


def test_a_file_with_only_non_executable_processes_is_refused():
    report = check(doc(process(executable="false")))
    assert not report.valid and report.processes == []
    assert any("no executable process" in p.message and p.severity == "error"
               for p in report.problems)


def test_a_missing_is_executable_counts_as_executable_like_spiffworkflow():
    assert check(doc(process(executable=None))).processes == ["P"]


# --- call activities --------------------------------------------------------------------------

def call(target: str | None, cid: str = "Mid", extra: str = "") -> str:
    attr = f' calledElement="{target}"' if target else ""
    return f'    <bpmn:callActivity id="{cid}" name="Check"{attr}>{extra}</bpmn:callActivity>\n'


def test_a_call_to_a_process_that_is_not_in_the_file():
    xml = doc(process(linear(call("Scoring"))))
    problem = only(check(xml), "Mid")
    assert "calls process 'Scoring', which is not in this file" in problem.message
    assert problem.line == line_of(xml, 'id="Mid"')


def test_a_call_to_an_already_deployed_process_is_accepted():
    report = check(doc(process(linear(call("Scoring")))), available_processes={"Scoring"})
    assert report.valid, report.problems


def test_a_nested_call_to_an_already_deployed_process_is_accepted():
    inner = linear(call("Scoring", cid="Mid_S").replace('id="Mid_S"', 'id="Mid"'), prefix="S_")
    xml = doc(process(linear(call("Sub"))), process(inner.replace('"Mid"', '"Mid_S"'), pid="Sub"))
    assert check(xml, available_processes={"Scoring"}).valid
    assert "calls process 'Scoring'" in only(check(xml), "Mid_S").message


def test_a_call_within_the_file_is_valid():
    xml = doc(process(linear(call("Sub"))), process(renamed(LINEAR, "S_"), pid="Sub"))
    report = check(xml)
    assert report.valid and report.processes == ["P", "Sub"]


def test_a_call_to_a_non_executable_process_and_without_target():
    xml = doc(process(linear(call("Sub"))),
              process(renamed(LINEAR, "S_"), pid="Sub", executable="false"))
    assert "marked not executable" in only(check(xml), "Mid").message
    assert "does not say which process it calls" in only(check(doc(process(linear(call(None))))),
                                                        "Mid").message
    zeebe = call(None, extra='<bpmn:extensionElements><zeebe:calledElement processId="Check"/>'
                 "</bpmn:extensionElements>")
    assert "zeebe:calledElement" in only(check(doc(process(linear(zeebe)))), "Mid").message


def test_a_process_calling_itself_is_refused_without_hanging():
    xml = doc(process(linear(call("P"))))
    report = finishes_within(20, lambda: check(xml))
    problem = only(report, "Mid")
    assert "leads back to the calling process (P → P)" in problem.message


def test_an_indirect_call_cycle_is_refused():
    xml = doc(process(linear(call("B"))),
              process(linear(call("P", cid="Mid_B").replace('id="Mid_B"', 'id="Mid"'),
                             prefix="B_").replace('"Mid"', '"Mid_B"'), pid="B"))
    report = finishes_within(20, lambda: check(xml))
    assert "(P → B → P)" in only(report, "Mid").message
    assert "(B → P → B)" in only(report, "Mid_B").message


# --- size of a model --------------------------------------------------------------------------

def chain(n: int) -> str:
    lines = ['    <bpmn:startEvent id="StartEvent_1"/>',
             '    <bpmn:sequenceFlow id="F_0" sourceRef="StartEvent_1" targetRef="T_0"/>']
    for i in range(n):
        target = f"T_{i + 1}" if i + 1 < n else "EndEvent_1"
        lines.append(f'    <bpmn:task id="T_{i}"/>')
        lines.append(f'    <bpmn:sequenceFlow id="F_{i + 1}" sourceRef="T_{i}" '
                     f'targetRef="{target}"/>')
    lines.append('    <bpmn:endEvent id="EndEvent_1"/>')
    return "\n".join(lines) + "\n"


def test_a_chain_longer_than_400_steps_is_reported_not_crashed():
    xml = doc(process(chain(450)))
    report = check(xml)
    problem = only(report, "P")
    assert "chain of 452 connected steps" in problem.message and "at most 400" in problem.message
    assert "Recursion" not in json.dumps(report.as_dict())


def test_a_chain_of_300_steps_is_fine():
    assert check(doc(process(chain(300)))).valid


# --- subprocesses, data, unsupported elements -------------------------------------------------

def test_an_embedded_subprocess_without_start_event():
    sub = ('    <bpmn:subProcess id="Mid" name="Repair">\n'
           '      <bpmn:task id="Inner"/>\n      <bpmn:endEvent id="Inner_End"/>\n'
           '      <bpmn:sequenceFlow id="Inner_F" sourceRef="Inner" targetRef="Inner_End"/>\n'
           "    </bpmn:subProcess>\n")
    xml = doc(process(linear(sub)))
    problem = only(check(xml), "Mid")
    assert "Subprocess 'Repair' (Mid) has no start event" in problem.message
    assert problem.line == line_of(xml, 'id="Mid"')


def test_data_stores_are_refused():
    store = '  <bpmn:dataStore id="Store" name="CRM"/>\n'
    ref = linear('    <bpmn:task id="Mid"/>\n    <bpmn:dataStoreReference id="Store_Ref" '
                 'dataStoreRef="Store"/>\n')
    xml = doc(store, process(ref))
    report = check(xml)
    assert "has no data stores" in only(report, "Store").message
    assert only(report, "Store").line == line_of(xml, 'id="Store"')
    assert "has no data stores" in only(report, "Store_Ref").message


def test_a_service_task_without_a_topic_is_a_warning_about_human_steps():
    xml = doc(process(linear('    <bpmn:serviceTask id="Mid" name="Charge card"/>\n')))
    report = check(xml)
    warning = only(report, "Mid", "warning")
    assert "runs as a human step: Caseflow does not call services from the model" in warning.message
    assert report.valid and warning.line == line_of(xml, 'id="Mid"')


def test_a_service_task_with_a_topic_is_an_external_task_without_a_warning():
    report = check(doc(process(linear('    <bpmn:serviceTask id="Mid" name="Charge card" '
                                      'camunda:type="external" camunda:topic="charge"/>\n'))))
    assert report.valid and [p for p in report.problems if p.element_id == "Mid"] == []


def test_a_business_rule_task_is_an_error_about_dmn():
    report = check(doc(process(linear('    <bpmn:businessRuleTask id="Mid" name="Score"/>\n'))))
    assert "DMN" in only(report, "Mid").message and not report.valid


def adhoc(inner: str) -> str:
    return ('    <bpmn:adHocSubProcess id="Mid" name="Extras">\n'
            '      <bpmn:userTask id="Call_client"/>\n'
            f"{inner}    </bpmn:adHocSubProcess>\n")


def test_an_ad_hoc_subprocess_without_data_object():
    condition = "      <bpmn:completionCondition>done</bpmn:completionCondition>\n"
    xml = doc(process(linear(adhoc(condition))))
    problem = only(check(xml), "Mid")
    assert "holds no data object" in problem.message and problem.line == line_of(xml, 'id="Mid"')


def test_an_ad_hoc_subprocess_with_data_object_and_condition_is_valid():
    inner = ('      <bpmn:dataObject id="Notes"/>\n'
             "      <bpmn:completionCondition>done</bpmn:completionCondition>\n")
    assert check(doc(process(linear(adhoc(inner))))).valid


def test_an_unresolvable_data_object_in_a_subprocess_is_reported_without_hanging():
    sub = ('    <bpmn:subProcess id="Mid">\n      <bpmn:startEvent id="S2"/>\n'
           '      <bpmn:sequenceFlow id="G1" sourceRef="S2" targetRef="U"/>\n'
           '      <bpmn:task id="U" name="Write"><bpmn:dataOutputAssociation id="DA">'
           "<bpmn:targetRef>DOR</bpmn:targetRef></bpmn:dataOutputAssociation></bpmn:task>\n"
           '      <bpmn:sequenceFlow id="G2" sourceRef="U" targetRef="E2"/>\n'
           '      <bpmn:endEvent id="E2"/>\n'
           '      <bpmn:dataObjectReference id="DOR" dataObjectRef="Missing"/>\n'
           "    </bpmn:subProcess>\n")
    report = finishes_within(20, lambda: check(doc(process(linear(sub)))))
    assert "data object 'Missing' is not declared" in only(report, "U").message


# --- schema and SpiffWorkflow findings --------------------------------------------------------

def test_a_misspelled_bpmn_element_is_an_error():
    xml = doc(process(LINEAR.replace('<bpmn:userTask id="Task_1" name="Review"/>',
                                     '<bpmn:userTaks id="Task_1" name="Review"/>')))
    report = check(xml)
    problem = next(p for p in report.problems if "not a BPMN element" in p.message)
    assert "<userTaks>" in problem.message and problem.severity == "error"
    assert problem.line == line_of(xml, "userTaks")


def test_a_link_event_without_name_is_a_warning():
    link = ('    <bpmn:intermediateThrowEvent id="Mid" name="Jump">'
            "<bpmn:linkEventDefinition/></bpmn:intermediateThrowEvent>\n")
    report = check(doc(process(LINEAR + link)))
    assert "has no link name" in only(report, "Mid", "warning").message


def test_ids_that_spiffworkflow_uses_internally_are_refused():
    xml = doc(process(LINEAR.replace('"StartEvent_1"', '"Start"')))
    problem = only(check(xml), "Start")
    assert "reserved by the workflow engine" in problem.message
    assert problem.line == line_of(xml, 'id="Start"')


def test_spiffworkflow_findings_are_reworded_and_located():
    split = LINEAR.replace('<bpmn:endEvent id="EndEvent_1" name="Done"/>',
                           '<bpmn:endEvent id="EndEvent_1" name="Done"/>\n'
                           '    <bpmn:endEvent id="End_2"/>\n'
                           '    <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_1" '
                           'targetRef="End_2"/>')
    xml = doc(process(split))
    problem = only(check(xml), "Task_1")
    assert "has more than one outgoing flow. Add a gateway" in problem.message
    assert problem.element_name == "Review" and problem.line == line_of(xml, 'id="Task_1"')


def test_a_parser_refusal_of_the_whole_file_is_worded_for_designers():
    report = check(doc(process(), '  <bpmn:message name="Order received"/>\n'))
    assert not report.valid
    assert "definition in this file has no id" in report.errors[0].message


def test_every_problem_is_reported_at_once_errors_first():
    body = (gateway(cond_b="amount &lt;= (10")
            + '    <bpmn:sequenceFlow id="Flow_9" sourceRef="Gw" targetRef="Nowhere"/>\n'
            + '    <bpmn:serviceTask id="Svc"/>\n')
    report = check(doc(process(body), '  <bpmn:dataStore id="Store"/>\n'))
    ids = {p.element_id for p in report.problems}
    assert {"Flow_b", "Flow_9", "Store", "Svc"} <= ids
    severities = [p.severity for p in report.problems]
    assert severities == sorted(severities, key=lambda s: s != "error")


@pytest.mark.parametrize("data", [b"", b"\x00\x01", b"<bpmn:definitions/>",
                                  "<x>é</x>".encode("cp1252"), doc(process("")).encode()])
def test_validation_never_raises(data):
    report = validate_bpmn(data)
    assert not report.valid and all(p.message for p in report.problems)


def test_form_field_ids_may_repeat_across_tasks():
    """camunda:formField ids are variable names; two tasks asking for the same field is normal."""
    from engine.validate import validate_bpmn

    field = ('<bpmn:extensionElements><camunda:formData><camunda:formField id="case_owner" '
             'label="Owner" type="string"/></camunda:formData></bpmn:extensionElements>')
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="http://x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="S1"/><bpmn:sequenceFlow id="f1" sourceRef="S1" targetRef="A"/>
    <bpmn:userTask id="A" name="A">{field}</bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="A" targetRef="B"/>
    <bpmn:userTask id="B" name="B">{field}</bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="B" targetRef="E1"/><bpmn:endEvent id="E1"/>
  </bpmn:process>
</bpmn:definitions>""".encode()
    report = validate_bpmn(xml, "repeat.bpmn")
    assert report.valid, report.problems
    assert not [p for p in report.problems if "case_owner" in p.message]


# --- a process that starts on what it throws --------------------------------------------------

def test_a_process_that_starts_on_the_signal_it_throws_is_warned_at_the_throw():
    from tests.conftest import DATA

    data = (DATA / "signal_echo.bpmn").read_text()
    report = check(data)
    assert report.valid, "a warning, not a refusal: BPMN allows it"
    [found] = [p for p in report.problems if "without end" in p.message]
    assert (found.severity, found.element_id, found.line) == ("warning", "Shout",
                                                              line_of(data, 'id="Shout"'))
    assert "signal 'echo'" in found.message and "Heard the echo" in found.message


def test_a_send_task_of_the_message_that_starts_its_own_process_is_warned():
    body = '''    <bpmn:startEvent id="OnPing"><bpmn:messageEventDefinition messageRef="Msg_ping" /></bpmn:startEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="OnPing" targetRef="Pong" />
    <bpmn:sendTask id="Pong" name="Pass it on" messageRef="Msg_ping" />
    <bpmn:sequenceFlow id="F2" sourceRef="Pong" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1" />
'''
    xml = doc('  <bpmn:message id="Msg_ping" name="ping" />\n', process(body))
    [found] = [p for p in check(xml).problems if "without end" in p.message]
    assert found.element_id == "Pong" and "message 'ping'" in found.message
    # throwing another name is no loop
    other = xml.replace('messageRef="Msg_ping" />\n    <bpmn:sequenceFlow id="F2"',
                        'messageRef="Msg_pong" />\n    <bpmn:sequenceFlow id="F2"').replace(
        '<bpmn:message id="Msg_ping" name="ping" />',
        '<bpmn:message id="Msg_ping" name="ping" /><bpmn:message id="Msg_pong" name="pong" />')
    assert not [p for p in check(other).problems if "without end" in p.message]
