"""Files from other tools run (issue 18, item 4): Camunda multi-instance, black-box pools, print in
scripts, scope introspection refused, optional enums without values, plain words for parser crashes.
Every scenario runs plain and after a save/restore round trip."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.definitions import compile_processes
from engine.validate import validate_bpmn
from tests.conftest import T0

from .helpers import Runner

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs" '
        'targetNamespace="http://bpmn.io/schema/bpmn">\n')


def _file(body: str, extra: str = "") -> bytes:
    return (HEAD + body + extra + "</bpmn:definitions>\n").encode()


def _process(inner: str, pid: str = "P") -> str:
    return (f'<bpmn:process id="{pid}" isExecutable="true">'
            '<bpmn:startEvent id="S" /><bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="T" />'
            f'{inner}<bpmn:sequenceFlow id="F2" sourceRef="T" targetRef="E" />'
            '<bpmn:endEvent id="E" /></bpmn:process>')


MULTI = _process(
    '<bpmn:userTask id="T" name="Call each contact"><bpmn:multiInstanceLoopCharacteristics '
    'camunda:collection="${contacts}" camunda:elementVariable="contact" /></bpmn:userTask>')


@pytest.mark.parametrize("roundtrip", [False, True], ids=["plain", "roundtrip"])
def test_camunda_multi_instance_runs_once_per_item_with_the_element_variable(roundtrip):
    data = _file(MULTI)
    assert validate_bpmn(data).valid
    runner = Runner(compile_processes(data)["P"], roundtrip)
    instance = runner.start({"contacts": ["ann", "bob", "cy"]}, now=T0)
    seen = []
    for left in (3, 2, 1):
        ready = instance.ready_tasks()
        assert len(ready) == left
        seen.append(ready[0].data["contact"])
        instance.complete(ready[0].id, {}, now=T0)
        instance = runner.again(instance)
    assert sorted(seen) == ["ann", "bob", "cy"]
    assert instance.is_completed


SEQUENTIAL_MULTI = _process(
    '<bpmn:scriptTask id="T" name="Score each"><bpmn:multiInstanceLoopCharacteristics '
    'isSequential="true" camunda:collection="items" camunda:elementVariable="item" />'
    '<bpmn:script>item["score"] = item["x"] * 2</bpmn:script></bpmn:scriptTask>')


@pytest.mark.parametrize("roundtrip", [False, True], ids=["plain", "roundtrip"])
def test_sequential_camunda_multi_instance_runs_every_item_and_keeps_what_each_did(roundtrip):
    """The element variable is each instance's own (it used to leak back after the first item,
    and the second stopped with 'input item already exists'); as SpiffWorkflow's Camunda support
    does, each instance's item is written back into the collection."""
    runner = Runner(compile_processes(_file(SEQUENTIAL_MULTI))["P"], roundtrip)
    instance = runner.start({"items": {"a": {"x": 1}, "b": {"x": 2}}}, now=T0)
    assert instance.is_completed
    assert instance.data["items"] == {"a": {"x": 1, "score": 2}, "b": {"x": 2, "score": 4}}
    assert "item" not in instance.data


def test_items_given_as_a_loop_cardinality_beside_a_camunda_collection_are_refused_plainly():
    """SpiffWorkflow's Camunda support reads a list in the cardinality as the items and the
    collection as where results go; Camunda runs over the collection. Caseflow cannot tell which
    was meant, so it says so at upload instead of failing at run time."""
    data = _file(_process(
        '<bpmn:userTask id="T" name="Each"><bpmn:multiInstanceLoopCharacteristics '
        'camunda:collection="output_data" camunda:elementVariable="output_item">'
        '<bpmn:loopCardinality>input_data</bpmn:loopCardinality>'
        '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'))
    report = validate_bpmn(data)
    [error] = [p for p in report.errors if p.element_id == "T"]
    assert "loop cardinality 'input_data'" in error.message
    assert "collection 'output_data'" in error.message
    numeric = data.replace(b">input_data<", b">3<")
    assert not [p for p in validate_bpmn(numeric).errors if p.element_id == "T"]


def test_black_box_pools_are_not_missing_a_start_event():
    collaboration = ('<bpmn:collaboration id="C"><bpmn:participant id="Us" processRef="P" />'
                     '<bpmn:participant id="Customer" processRef="CustomerProcess" />'
                     '<bpmn:participant id="Bank" /></bpmn:collaboration>')
    data = _file(collaboration + _process('<bpmn:userTask id="T" />')
                 + '<bpmn:process id="CustomerProcess" />')
    report = validate_bpmn(data)
    assert report.valid, report.problems
    assert report.processes == ["P"]
    assert not [p for p in report.problems if "start event" in p.message]
    assert set(compile_processes(data)) == {"P"}


@pytest.mark.parametrize("code, name", [("x = len(locals())", "locals()"),
                                        ("y = vars()", "vars()"),
                                        ("z = 'a' in globals()", "globals()")])
def test_scope_introspection_is_refused_at_validation(code, name):
    data = _file(_process(f'<bpmn:scriptTask id="T" scriptFormat="python"><bpmn:script>{code}'
                          '</bpmn:script></bpmn:scriptTask>'))
    report = validate_bpmn(data)
    assert not report.valid
    assert any(p.element_id == "T" and f"{name} is not available" in p.message
               for p in report.errors), report.problems


@pytest.mark.parametrize("roundtrip", [False, True], ids=["plain", "roundtrip"])
def test_print_goes_to_the_script_log_not_an_error(roundtrip):
    body = ('<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S" />'
            '<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="U" /><bpmn:userTask id="U" />'
            '<bpmn:sequenceFlow id="F2" sourceRef="U" targetRef="T" />'
            '<bpmn:scriptTask id="T" name="Work it out" scriptFormat="python"><bpmn:script>'
            'total = 2 + 3\nprint("total is", total)</bpmn:script></bpmn:scriptTask>'
            '<bpmn:sequenceFlow id="F3" sourceRef="T" targetRef="E" /><bpmn:endEvent id="E" />'
            '</bpmn:process>')
    data = _file(body)
    assert validate_bpmn(data).valid
    runner = Runner(compile_processes(data)["P"], roundtrip)
    instance = runner.again(runner.start({}, now=T0))
    instance.complete(instance.ready_tasks()[0].id, {}, now=T0)
    assert instance.is_completed and instance.data["total"] == 5
    ran = [e for e in instance.drain_events() if e.type == "script_ran"]
    assert ran and ran[0].detail == {"printed": "total is 5\n"}
    assert "printed" not in instance.data


def test_an_optional_enum_without_values_is_a_warning_a_required_one_an_error():
    def form(required: bool) -> bytes:
        rule = ('<camunda:validation><camunda:constraint name="required" /></camunda:validation>'
                if required else "")
        return _file(_process('<bpmn:userTask id="T"><bpmn:extensionElements><camunda:formData>'
                              f'<camunda:formField id="choice" label="Choice" type="enum">{rule}'
                              '</camunda:formField></camunda:formData></bpmn:extensionElements>'
                              '</bpmn:userTask>'))
    optional = validate_bpmn(form(False))
    assert optional.valid
    assert [p.severity for p in optional.problems if "choice" in p.message] == ["warning"]
    assert not validate_bpmn(form(True)).valid


def test_ids_inside_extension_elements_are_not_bpmn_ids():
    task = ('<bpmn:userTask id="{tid}"><bpmn:extensionElements><camunda:formData>'
            '<camunda:formField id="amount" type="long" /></camunda:formData>'
            '<camunda:inputOutput><camunda:inputParameter name="x">1</camunda:inputParameter>'
            '</camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>')
    body = ('<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S" />'
            '<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="A" />' + task.format(tid="A")
            + '<bpmn:sequenceFlow id="F2" sourceRef="A" targetRef="B" />' + task.format(tid="B")
            + '<bpmn:sequenceFlow id="F3" sourceRef="B" targetRef="E" /><bpmn:endEvent id="E" />'
            '</bpmn:process>')
    report = validate_bpmn(_file(body))
    assert report.valid, report.problems
    assert not [p for p in report.problems if "amount" in p.message]


CORPUS = Path(__file__).parents[2].parent / "shared" / "corpus"
RAW = re.compile(r"\b[A-Z]\w*(Error|Exception)\b|'node'|NoneType|object has no attribute|"
                 r"Traceback")


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")
def test_no_message_on_real_files_is_python_error_text():
    seen = 0
    for path in sorted(CORPUS.glob("*/*.bpmn")):
        for problem in validate_bpmn(path.read_bytes(), path.name).problems:
            seen += 1
            assert not RAW.search(problem.message), (path.name, problem.message)
    assert seen > 50
