"""SpiffWorkflow's own DMN test files through Caseflow: the ones its suite runs are accepted and
run to the same results (plain and after a save/restore round trip); the invalid and unsupported
ones are refused with a plain reason naming the element (files: data/spiff_dmn/README.md)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine import runtime
from engine.definitions import compile_processes
from engine.dmn import decision_ids, dmn_problems
from engine.errors import InvalidBpmn, ScriptFailed

from .helpers import DATA, Runner

CORPUS = DATA / "spiff_dmn"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def library(*names: str) -> dict[str, bytes]:
    found = {}
    for name in names:
        data = (CORPUS / name).read_bytes()
        found.update({d: data for d in decision_ids(data, name)})
    return found


def probe(decision_id: str) -> bytes:
    """A one-step process that evaluates one decision (as SpiffWorkflow's DecisionRunner does)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="x">
  <bpmn:process id="Probe" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="R" />
    <bpmn:businessRuleTask id="R" name="Decide">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>{decision_id}</spiffworkflow:calledDecisionId></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f2" sourceRef="R" targetRef="E" />
    <bpmn:endEvent id="E"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>""".encode()


@pytest.fixture(params=[False, True], ids=["plain", "roundtrip"])
def roundtrip(request) -> bool:
    return request.param


def test_spiff_business_rule_task_runs_to_completion(roundtrip):
    data = (CORPUS / "business_rule_task.bpmn").read_bytes()
    process = compile_processes(data, "business_rule_task.bpmn",
                                decisions=library("business_rules.dmn"))["Process_bd2e724"]
    run = Runner(process, roundtrip)
    instance = run.again(run.start(now=NOW))
    assert instance.is_completed


def test_camunda_decision_after_a_user_task_gives_the_same_result(roundtrip):
    data = (CORPUS / "ExclusiveGatewayIfElseAndDecision.bpmn").read_bytes()
    process = compile_processes(data, "x.bpmn",
                                decisions=library("test_integer_decision.dmn"))["Process_1"]
    instance = Runner(process, roundtrip).start({"x": 3}, now=NOW)  # as its test sets x at start
    assert instance.is_completed and instance.data == {"x": 3, "y": "A"}


@pytest.mark.parametrize("name, data, row", [
    ("string_decision.dmn", {"Gender": "m"}, 1), ("string_decision.dmn", {"Gender": "f"}, 2),
    ("string_decision.dmn", {"Gender": "y"}, 3), ("string_decision.dmn", {"Gender": "x"}, 4),
    ("bool_decision.dmn", {"input": True}, 1), ("bool_decision.dmn", {"input": False}, 2),
    ("integer_decision_range_inclusive.dmn", {"Age": 100}, 1),
    ("integer_decision_range_inclusive.dmn", {"Age": 110}, 1),
    ("integer_decision_range_inclusive.dmn", {"Age": 99}, 2),
])
def test_python_engine_tables_pick_the_rows_spiffworkflow_picks(name, data, row, roundtrip):
    decisions = library(name)
    [decision_id] = decisions
    process = compile_processes(probe(decision_id), "probe.bpmn", decisions=decisions)["Probe"]
    instance = runtime.start(process, data, now=NOW)
    [event] = [e for e in instance.drain_events() if e.type == "decision_evaluated"]
    assert event.detail["rows"] == [row]
    if roundtrip:
        assert runtime.load(process, instance.dump()).data == instance.data


def test_collect_hit_policy_gives_a_list_per_output():
    decisions = library("collect_hit.dmn")
    [decision_id] = decisions
    process = compile_processes(probe(decision_id), "probe.bpmn", decisions=decisions)["Probe"]
    instance = Runner(process, True).start({"type": "stooge"}, now=NOW)
    assert instance.data["name"] == ["Larry", "Mo", "Curly", "Shemp"]


def test_every_valid_file_is_accepted():
    for name in ("business_rules.dmn", "test_integer_decision.dmn", "string_decision.dmn",
                 "bool_decision.dmn", "integer_decision_range_inclusive.dmn", "collect_hit.dmn"):
        found = dmn_problems((CORPUS / name).read_bytes(), name)
        assert [p for p in found if p.severity == "error"] == [], name


def test_the_invalid_decision_is_refused_at_upload_naming_the_entry():
    [problem] = dmn_problems((CORPUS / "invalid_decision.dmn").read_bytes(), "invalid_decision.dmn")
    assert problem.element_id and problem.line and "rule 1: the test '= 1'" in problem.message
    # SpiffWorkflow's own suite expects it to fail when it runs; Caseflow says so before.
    data = (CORPUS / "InvalidDecision.bpmn").read_bytes()
    process = compile_processes(data, "x.bpmn", decisions=library("invalid_decision.dmn"))
    with pytest.raises(ScriptFailed) as failed:
        runtime.start(process["Process_1"], {"x": 3}, now=NOW)
    assert failed.value.element_id == "InvalidDecisionTaskId"


def test_unsupported_dmn_is_refused_per_decision_in_plain_words():
    problems = dmn_problems((CORPUS / "dish-example.dmn").read_bytes(), "dish-example.dmn")
    messages = " ".join(p.message for p in problems)
    assert "requires the result of another decision first" in messages
    assert "FEEL range" in messages
    assert all(p.element_id and p.line for p in problems)


def test_a_bpmn_without_its_decision_is_refused_naming_the_task():
    data = (CORPUS / "business_rule_task.bpmn").read_bytes()
    with pytest.raises(InvalidBpmn) as refused:
        compile_processes(data, "business_rule_task.bpmn")
    [problem] = refused.value.problems
    assert "'decision_1'" in problem.message and problem.line
