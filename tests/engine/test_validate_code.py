"""Validation of the Python inside models (conditions, scripts, timers) under the sandbox."""
from __future__ import annotations

import pytest

from engine.validate import validate_bpmn

from .bpmn_snippets import (check, doc, gateway, line_of, linear, only, process, script_task,
                            timer_event)


# --- gateways and conditions ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["exclusiveGateway", "inclusiveGateway"])
def test_a_gateway_branch_without_condition_or_default(kind):
    xml = doc(process(gateway(kind)))
    problem = only(check(xml), "Flow_b")
    assert "without a condition and is not the gateway's default flow" in problem.message
    assert problem.element_name == "no" and problem.line == line_of(xml, 'id="Flow_b"')


def test_a_default_branch_needs_no_condition():
    assert check(doc(process(gateway(default=' default="Flow_b"')))).valid
    assert check(doc(process(gateway(cond_b="amount &lt;= 10")))).valid


def test_a_gateway_with_one_unconditioned_flow_is_fine():
    body = linear('    <bpmn:exclusiveGateway id="Mid"/>\n')
    assert check(doc(process(body))).valid


def test_a_condition_that_does_not_compile_quotes_the_reason():
    xml = doc(process(gateway(cond_b="amount &lt;= (10")))
    problem = only(check(xml), "Flow_b")
    assert "The condition 'amount <= (10'" in problem.message
    assert "never closed" in problem.message and problem.line == line_of(xml, 'id="Flow_b"')


def test_conditions_from_other_engines_are_explained():
    report = check(doc(process(gateway(cond_a="${amount &gt; 10}", cond_b="= amount &lt; 10"))))
    assert "Camunda (JUEL)" in only(report, "Flow_a").message
    assert "FEEL" in only(report, "Flow_b").message


def test_a_condition_may_not_reach_dunder_attributes():
    problem = only(check(doc(process(gateway(cond_b="x.__class__")))), "Flow_b")
    assert '"__class__" is an invalid attribute name' in problem.message


# --- scripts ----------------------------------------------------------------------------------

def test_a_good_script_is_valid():
    script = "total = sum([1, 2])\nlate = total &gt; 2"
    assert check(doc(process(linear(script_task(script))))).valid


@pytest.mark.parametrize("script, reason", [
    ("import os\nos.system('id')", "line 1: imports are not allowed"),
    ("x = 1\nfrom subprocess import run", "line 2: imports are not allowed"),
    ("rc = __import__('os').system('id')", '"__import__" is an invalid variable name'),
    ("x = (", "never closed"),
    ("exec('x = 1')", "Exec calls are not allowed"),
])
def test_a_refused_script_names_task_and_reason(script, reason):
    xml = doc(process(linear(script_task(script))))
    report = check(xml)
    problem = only(report, "Mid")
    assert reason in problem.message and "Script task 'Compute' (Mid)" in problem.message
    assert problem.line == line_of(xml, 'id="Mid"') and not report.valid


def test_a_script_in_another_language_or_without_text():
    groovy = check(doc(process(linear(script_task("println 'hi'", ' scriptFormat="groovy"')))))
    assert "groovy script; Caseflow runs Python scripts only" in only(groovy, "Mid").message
    empty = check(doc(process(linear(script_task("")))))
    assert "has no script" in only(empty, "Mid").message


def test_spiff_pre_scripts_are_checked_too():
    task = ('    <bpmn:userTask id="Mid" name="Ask">\n      <bpmn:extensionElements>\n'
            "        <spiffworkflow:preScript>import os</spiffworkflow:preScript>\n"
            "      </bpmn:extensionElements>\n    </bpmn:userTask>\n")
    problem = only(check(doc(process(linear(task)))), "Mid")
    assert "pre-script" in problem.message and "imports are not allowed" in problem.message


# --- timers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, text", [
    ("timeDuration", "PT30S"), ("timeDuration", '"PT1H"'), ("timeCycle", "R6/P1D"),
    ("timeCycle", "R/PT1H"), ("timeDate", "2026-12-01T10:00:00Z"),
    ("timeDuration", "'PT%dM' % minutes"), ("timeDate", "due_date"),
])
def test_iso_literals_and_sandboxed_expressions_are_accepted(kind, text):
    assert check(doc(process(linear(timer_event(kind, text))))).problems == []


def test_cron_timers_are_refused_with_an_iso_hint():
    xml = doc(process(linear(timer_event("timeCycle", "0 0/5 * * * ?"))))
    problem = only(check(xml), "Mid")
    assert "cron timers are not supported; use an ISO-8601 cycle such as R/PT1H" in problem.message
    assert problem.line == line_of(xml, 'id="Mid"')


@pytest.mark.parametrize("text, words", [
    ("in five minutes", "neither an ISO-8601 time"), ("${dueDate}", "JUEL"),
    ("__import__('os')", "neither an ISO-8601 time"), ("", "has no time set"),
])
def test_bad_timers_are_refused(text, words):
    problem = only(check(doc(process(linear(timer_event("timeDuration", text))))), "Mid")
    assert words in problem.message and "Intermediate catch event 'Wait' (Mid)" in problem.message


def _thrown_without_payload(payload: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="x">
  <bpmn:correlationProperty id="num" name="Number">
    <bpmn:correlationPropertyRetrievalExpression messageRef="M">
      <bpmn:messagePath>task_num</bpmn:messagePath>
    </bpmn:correlationPropertyRetrievalExpression>
  </bpmn:correlationProperty>
  <bpmn:message id="M" name="ask" />
  <bpmn:process id="P" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="Send" />
    <bpmn:intermediateThrowEvent id="Send" name="Ask">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition id="MD" messageRef="M">{payload}</bpmn:messageEventDefinition>
    </bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="Send" targetRef="E" />
    <bpmn:endEvent id="E"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
  <bpmn:process id="Q" isExecutable="true">
    <bpmn:startEvent id="QS"><bpmn:outgoing>q1</bpmn:outgoing>
      <bpmn:messageEventDefinition id="QD" messageRef="M" /></bpmn:startEvent>
    <bpmn:sequenceFlow id="q1" sourceRef="QS" targetRef="QE" />
    <bpmn:endEvent id="QE"><bpmn:incoming>q1</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>""".encode()


def test_a_message_thrown_without_content_that_receivers_correlate_on_is_refused():
    """SpiffWorkflow's plain BPMN throw sends a copy of the task data; Caseflow sends only the
    payload, so a receiver reading `task_num` from it would fail at run time."""
    report = validate_bpmn(_thrown_without_payload())
    [error] = [p for p in report.errors if p.element_id == "Send"]
    assert "'ask'" in error.message and "task_num" in error.message
    assert "messagePayload" in error.message
    with_payload = _thrown_without_payload(
        "<bpmn:extensionElements><spiffworkflow:messagePayload>{'task_num': 1}"
        "</spiffworkflow:messagePayload></bpmn:extensionElements>")
    assert not [p for p in validate_bpmn(with_payload).errors if p.element_id == "Send"]
    no_receiver_here = _thrown_without_payload().replace(b'messageRef="M" /></bpmn:startEvent>',
                                                         b"</bpmn:startEvent>")
    assert not [p for p in validate_bpmn(no_receiver_here).errors if p.element_id == "Send"]


@pytest.mark.parametrize("script, refused", [
    ("c1 = custom_function('hello')", "custom_function"),
    ("total = helper(1)\nx = 2", "helper"),
    ("def double(v):\n    return v * 2\ny = double(3)", None),
    ("total = sum([1, 2]) + len('ab')\nprint(total)\nwhen = datetime(2026, 1, 1)", None),
    ("f = max\nz = f(1, 2)", None),
    ("y = amount.bit_length()", None),  # a method of case data, not a bare call
])
def test_a_call_of_a_function_model_code_does_not_have_is_refused(script, refused):
    xml = doc(process(linear(script_task(script))))
    errors = [p for p in check(xml).errors if "a function model code does not have" in p.message]
    if refused is None:
        assert not errors
    else:
        [error] = errors
        assert error.element_id == "Mid" and f"{refused}()" in error.message
        assert "line " in error.message
