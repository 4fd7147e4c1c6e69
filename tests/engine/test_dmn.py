"""DMN decision tables and Camunda forms: checks, compilation and runs, plain and after a
save/restore round trip (real SpiffWorkflow on the files a Camunda Modeler set would hold)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine import runtime
from engine.definitions import compile_processes
from engine.deviations import override_decision
from engine.dmn import decision_ids, dmn_problems, read_decisions
from engine.errors import FormInvalid, InvalidBpmn
from engine.formjs import FormLibrary, read_form_file
from engine.validate import validate_bpmn

from .helpers import DATA, Runner, complete, ready_ids, task_for

SET = DATA / "camunda_set"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def library() -> FormLibrary:
    return FormLibrary.of(read_form_file((SET / n).read_bytes(), n)
                          for n in ("application.form", "confirm_offer.form"))


def decisions() -> dict[str, bytes]:
    dmn = (SET / "credit_limit.dmn").read_bytes()
    return {d: dmn for d in decision_ids(dmn)}


def compiled():
    data = (SET / "credit_check.bpmn").read_bytes()
    return compile_processes(data, "credit_check.bpmn", decisions=decisions(),
                             forms=library())["Process_CreditCheck"]


@pytest.fixture(params=[False, True], ids=["plain", "roundtrip"])
def runner(request) -> Runner:
    return Runner(compiled(), request.param)


def test_the_shipped_set_checks_clean():
    assert dmn_problems((SET / "credit_limit.dmn").read_bytes(), "credit_limit.dmn") == []
    report = validate_bpmn((SET / "credit_check.bpmn").read_bytes(), "credit_check.bpmn",
                           decisions=decisions(), forms=library())
    assert report.valid, report.problems
    assert [p for p in report.problems if "form" in p.message.lower()] == []


def test_a_decision_or_form_missing_from_the_upload_is_named():
    report = validate_bpmn((SET / "credit_check.bpmn").read_bytes(), "credit_check.bpmn")
    errors = {p.element_id: p.message for p in report.errors}
    assert "Decision_CreditLimit" in errors["Task_DecideLimit"]
    warnings = {p.element_id: p.message for p in report.problems if p.severity == "warning"}
    assert "Form_Application" in warnings["Task_EnterApplication"]
    assert "confirm_offer.form" in warnings["Task_ConfirmOffer"]
    with pytest.raises(InvalidBpmn):
        compile_processes((SET / "credit_check.bpmn").read_bytes(), "credit_check.bpmn")


def test_a_camunda_form_becomes_a_checked_form_like_form_data(runner):
    instance = runner.start(now=NOW)
    form = task_for(instance, "Task_EnterApplication").form
    assert [f.id for f in form.fields] == ["applicant_name", "credit_score", "existing_customer",
                                           "channel"]
    assert [f.type for f in form.fields] == ["string", "long", "boolean", "enum"]
    with pytest.raises(FormInvalid) as refused:
        instance.complete(task_for(instance, "Task_EnterApplication").id,
                          {"applicant_name": "A", "credit_score": "1200", "channel": "fax"}, now=NOW)
    assert set(refused.value.errors) == {"applicant_name", "credit_score", "channel"}


@pytest.mark.parametrize("score, existing, expected, rule", [
    (300, True, {"approved": False, "credit_limit": 0}, "Rule_Low"),
    (700, True, {"approved": True, "credit_limit": 2000}, "Rule_Loyal"),
    (700, False, {"approved": True, "credit_limit": 500}, "Rule_New"),
])
def test_the_decision_routes_the_case_and_logs_inputs_and_outcome(runner, score, existing,
                                                                  expected, rule):
    instance = runner.start(now=NOW)
    complete(instance, "Task_EnterApplication", {"applicant_name": "Ada Lovelace",
                                                 "credit_score": str(score),
                                                 "existing_customer": existing,
                                                 "channel": "web"}, now=NOW)
    (event,) = [e for e in instance.drain_events() if e.type == "decision_evaluated"]
    assert event.element_id == "Task_DecideLimit" and event.name == "Decide the credit limit"
    assert event.detail["inputs"] == {"Credit score": score, "Existing customer": existing}
    assert event.detail["outcome"] == expected and event.detail["rules"] == [rule]
    assert event.detail["decision_id"] == "Decision_CreditLimit"
    assert event.detail["decision_name"] == "Credit limit"
    instance = runner.again(instance)
    assert instance.data["limit_decision"] == expected
    assert ready_ids(instance) == (["Task_ConfirmOffer"] if expected["approved"]
                                   else ["Task_ExplainRefusal"])


def test_the_second_form_reads_dates_and_radios(runner):
    instance = runner.start(now=NOW)
    complete(instance, "Task_EnterApplication", {"applicant_name": "Ada", "credit_score": "800",
                                                 "channel": "shop"}, now=NOW)
    instance = runner.again(instance)
    complete(instance, "Task_ConfirmOffer", {"offer_accepted": "yes",
                                             "first_payment": "2027-01-15"}, now=NOW)
    instance = runner.again(instance)
    assert instance.is_completed and instance.data["first_payment"] == "2027-01-15"


def test_an_agent_override_applies_the_chosen_rule_once(runner):
    instance = runner.start(now=NOW)
    complete(instance, "Task_EnterApplication", {"applicant_name": "Ada", "credit_score": "350",
                                                 "channel": "phone"}, now=NOW)
    instance = runner.again(instance)
    assert ready_ids(instance) == ["Task_ExplainRefusal"]
    assert override_decision(instance, "Task_DecideLimit", "Rule_New", now=NOW) is True
    instance = runner.again(instance)
    assert ready_ids(instance) == ["Task_ConfirmOffer"]
    assert instance.data["limit_decision"] == {"approved": True, "credit_limit": 500}
    assert "_caseflow_decision_overrides" not in instance.workflow.data


def test_an_override_names_an_existing_rule():
    instance = runtime.start(compiled(), now=NOW)
    with pytest.raises(Exception, match="Rule_Low"):
        override_decision(instance, "Task_DecideLimit", "Rule_Nope", now=NOW)


def test_decisions_are_read_for_display():
    (decision,) = read_decisions((SET / "credit_limit.dmn").read_bytes(), "credit_limit.dmn")
    assert decision.hit_policy == "FIRST" and decision.outputs == ("approved", "credit_limit")
    assert decision.rule_label(decision.rules[1]) == ("Rule 2: approved = True, credit_limit = 2000"
                                                      " (Existing customers get more)")


BAD_DMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">
  <decision id="Decision_Literal" name="Literal"><literalExpression><text>1</text></literalExpression></decision>
  <decision id="Decision_Bad" name="Bad">
    <decisionTable id="t" hitPolicy="PRIORITY">
      <input id="i1" label="Amount"><inputExpression id="e1"><text>amount +</text></inputExpression></input>
      <output id="o1" label="Nice name" name="" />
      <rule id="r1">
        <inputEntry id="ie1"><text>[1..5]</text></inputEntry>
        <outputEntry id="oe1"><text>__import__('os')</text></outputEntry>
      </rule>
      <rule id="r2">
        <inputEntry id="ie2"><text>1</text></inputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>"""


def test_bad_decision_tables_are_refused_with_element_and_line():
    problems = dmn_problems(BAD_DMN, "bad.dmn")
    by_element = {}
    for p in problems:
        by_element.setdefault(p.element_id, []).append(p)
        assert p.line is not None, p
    assert "literal expression" in by_element["Decision_Literal"][0].message
    assert "PRIORITY" in by_element["Decision_Bad"][0].message
    assert "not valid Caseflow Python" in by_element["i1"][0].message
    assert "variable name" in by_element["o1"][0].message
    assert "FEEL range" in by_element["ie1"][0].message
    assert "oe1" in by_element and "r2" in by_element


@pytest.mark.parametrize("data, words", [
    (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
     b"<definitions xmlns='https://www.omg.org/spec/DMN/20191111/MODEL/'>&e;</definitions>",
     "DOCTYPE"),
    (b"<definitions xmlns='http://www.omg.org/spec/BPMN/20100524/MODEL'/>", "not a DMN file"),
    (b"PK\x03\x04zip", "ZIP"),
    (b"<definitions xmlns='https://www.omg.org/spec/DMN/20191111/MODEL/'>", "ends too early"),
])
def test_hostile_or_wrong_files_are_refused_in_plain_words(data, words):
    (problem,) = dmn_problems(data, "x.dmn")
    assert words in problem.message


def test_embedded_and_app_forms_are_warnings_naming_the_step():
    xml = (SET / "credit_check.bpmn").read_text().replace(
        'camunda:formKey="camunda-forms:deployment:confirm_offer.form"',
        'camunda:formKey="embedded:app:forms/offer.html"')
    report = validate_bpmn(xml.encode(), "x.bpmn", decisions=decisions(), forms=library())
    (warning,) = [p for p in report.problems if p.element_id == "Task_ConfirmOffer"]
    assert warning.severity == "warning" and "embedded HTML form" in warning.message


ZEEBE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="x">
  <bpmn:process id="Process_Z" isExecutable="true">
    <bpmn:extensionElements>
      <zeebe:userTaskForm id="UserTaskForm_1">{"id": "F", "components": [{"type": "textfield", "key": "who", "label": "Who", "validate": {"required": true}}]}</zeebe:userTaskForm>
    </bpmn:extensionElements>
    <bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="T" />
    <bpmn:userTask id="T" name="Ask">
      <bpmn:extensionElements><zeebe:formDefinition formKey="camunda-forms:bpmn:UserTaskForm_1" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="T" targetRef="R" />
    <bpmn:businessRuleTask id="R" name="Decide">
      <bpmn:extensionElements><zeebe:calledDecision decisionId="Decision_CreditLimit" resultVariable="limit" /></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f3" sourceRef="R" targetRef="E" />
    <bpmn:endEvent id="E"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize("roundtrip", [False, True])
def test_camunda_8_embedded_forms_and_called_decisions_run(roundtrip):
    process = compile_processes(ZEEBE, "z.bpmn", decisions=decisions())["Process_Z"]
    run = Runner(process, roundtrip)
    instance = run.start({"credit_score": 900, "existing_customer": False}, now=NOW)
    assert [f.id for f in task_for(instance, "T").form.fields] == ["who"]
    complete(instance, "T", {"who": "Grace"}, now=NOW)
    instance = run.again(instance)
    assert instance.is_completed
    assert instance.data["limit"] == {"approved": True, "credit_limit": 500}


def test_the_table_and_forms_survive_the_stored_spec_round_trip():
    """A version's spec is stored once as JSON: the table, its mapping and the forms come back."""
    from engine.definitions import process_from_spec_json

    original = compiled()
    restored = process_from_spec_json(original.process_id, original.spec_json())
    assert restored.forms == original.forms
    instance = runtime.start(restored, now=NOW)
    complete(instance, "Task_EnterApplication", {"applicant_name": "Ada", "credit_score": "450",
                                                 "existing_customer": True, "channel": "web"},
             now=NOW)
    instance = runtime.load(restored, instance.dump())
    assert instance.data["limit_decision"] == {"approved": True, "credit_limit": 2000}
    assert ready_ids(instance) == ["Task_ConfirmOffer"]
