"""SpiffWorkflow's own test files through Caseflow (issue 18, item 4): each either runs to its end
or is refused, at upload, with a plain reason that is one of Caseflow's deliberate limits.

The files are in tests/engine/data/spiffworkflow/ (see its SOURCE.md: SpiffWorkflow's repository,
LGPL-3.0, COPYING.LESSER beside them); each is one SpiffWorkflow's own suite runs to completion.
The run gives each file what SpiffWorkflow's test gives it (start data, the answers typed into its
forms) and lets time pass where its test waits for a timer. Every run is repeated after a
save/restore round trip at every step.
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from engine.definitions import compile_processes
from engine.validate import validate_bpmn
from tests.conftest import T0

from .helpers import Runner

CORPUS = Path(__file__).resolve().parent / "data" / "spiffworkflow"
NO = {"*": {"choice": "No"}}


def _double(data: dict) -> dict:
    """What SpiffWorkflow's multi-instance tests answer: the item doubled."""
    return {"output_item": data["input_item"] * 2}


ITEMS = {"input_data": [1, 2, 3]}
# file -> (start data, answers (data or a function of the step's data) by element id or "*",
#          let time pass before each step)
RUNS: dict[str, tuple[dict, dict, bool]] = {
    "bpmn__Approvals.bpmn": ({}, {}, False),
    "bpmn__ScriptTest.bpmn": ({}, {}, False),
    "bpmn__Message-Interrupts.bpmn20.xml": ({}, {}, False),
    "bpmn__Message-Non-Interrupt.bpmn20.xml": ({}, {}, False),
    "bpmn__Parallel-Many-Threads-At-Same-Point.bpmn20.xml": ({}, {}, False),
    "bpmn__Parallel-Multiple-Splits-And-Joins.bpmn20.xml": ({}, {}, False),
    "bpmn__Parallel-Then-Exclusive.bpmn20.xml": ({}, NO, False),
    "bpmn__Parallel-One-Path-Ends.bpmn20.xml": ({}, NO, False),
    "bpmn__Parallel-Through-Same-Task.bpmn20.xml": ({}, NO, False),
    "bpmn__Parallel-Then-Exclusive-No-Inclusive.bpmn20.xml": ({}, NO, False),
    "bpmn__Parallel-Join-Long-Inclusive.bpmn20.xml": ({}, NO, False),
    "bpmn__Timer-Intermediate.bpmn20.xml": ({"due_time": "2026-01-06T09:00:00+00:00"}, {}, False),
    "bpmn__boundary.bpmn": ({}, {"*": {"answer": "Yes"}}, False),
    "bpmn__boundary_timer_on_task.bpmn": ({}, {}, False),
    "bpmn__timer-non-interrupt-boundary.bpmn": ({}, {"*": {"work_done": "Yes"}}, True),
    "bpmn__event-subprocess.bpmn": ({}, {}, False),
    "bpmn__gateway_loop_input.bpmn": ({}, {}, False),
    "bpmn__reset_with_boundary_event.bpmn": ({}, {}, False),
    "bpmn__script-start.bpmn": ({}, {}, False),
    "bpmn__task_data_size.bpmn": ({}, {}, False),
    "bpmn__uncaught_escalation.bpmn": ({}, {}, False),
    "bpmn__io_spec.bpmn": ({"in_1": 1, "in_2": "x", "unused": True}, {}, False),
    "bpmn__transaction.bpmn": ({}, {"*": {"quantity": 2, "value": 2}}, False),
    "bpmn__random_fact.bpmn": ({}, {"*": {"type": "buzzword", "name": "Ada"}}, False),
    "bpmn__parallel_multiinstance_cardinality.bpmn": ({}, {"*": _double}, False),
    "bpmn__parallel_multiinstance_loop_input.bpmn": (ITEMS, {"*": _double}, False),
    "bpmn__sequential_multiinstance_cardinality.bpmn": ({}, {"*": _double}, False),
    "bpmn__sequential_multiinstance_loop_input.bpmn": (ITEMS, {"*": _double}, False),
    "bpmn__inclusive_gateway.bpmn": ({"v": 0, "u": 1, "w": 1}, {}, False),
    "bpmn__standard_loop.bpmn": ({"done": False}, {"*": {"done": True}}, False),
    "bpmn__data_object.bpmn": ({}, {"*": {"obj_1": "hello"}}, False),
    "bpmn__data_object_gateway.bpmn": ({}, {"*": {"val": 1}}, False),
    "bpmn__io_spec_on_task.bpmn": ({"in_1": 1, "in_2": "x"}, {"*": {"out_1": 2, "out_2": "y"}},
                                   False),
    "bpmn__conditional_event.bpmn": ({}, {"*": {"task_a_done": True, "task_c_done": True}},
                                     False),
    "bpmn__Message-Interrupts-SP.bpmn20.xml": ({}, {}, False),
    "bpmn__Message-Non-Interrupt-SP.bpmn20.xml": ({}, {}, False),
    "bpmn__Nested-Subprocesses.bpmn20.xml": ({}, {}, False),
    "bpmn__Nested-Sub-level1.bpmn20.xml": ({}, {}, False),
    "bpmn__Nested-Sub-level2.bpmn20.xml": ({}, {}, False),
    "bpmn__resetworkflowA-sublevel.bpmn": ({}, {}, False),
    "bpmn__resetworkflowB-sublevel.bpmn": ({}, {}, False),
    "bpmn__resetworkflowB-toplevel.bpmn": ({}, {}, False),
    "bpmn__io_spec_parent.bpmn": ({}, {}, False),
    "camunda__parallel_multiinstance_collection.bpmn": (ITEMS, {}, False),
    "camunda__subWorkflowComplex.bpmn": ({}, {}, False),
    "camunda__token_trial_nested_parallel.bpmn": ({}, {}, False),
    "camunda__token_trial_parallel_matrix.bpmn": ({}, {}, False),
    "camunda__token_trial_subprocess.bpmn": ({}, {}, False),
    "spiff__service_task.bpmn": ({}, {}, False),
    "spiff__service_task_variable.bpmn": ({}, {}, False),
    "spiff__user_task_variable.bpmn": ({}, {}, False),
}
# file -> the files deployed before it, whose processes its call activities call
DEPLOYED_FIRST = {
    "bpmn__Nested-Subprocesses.bpmn20.xml": ["bpmn__Nested-Sub-level1.bpmn20.xml",
                                             "bpmn__Nested-Sub-level2.bpmn20.xml"],
    "bpmn__Nested-Sub-level1.bpmn20.xml": ["bpmn__Nested-Sub-level2.bpmn20.xml"],
    "bpmn__resetworkflowB-toplevel.bpmn": ["bpmn__resetworkflowB-sublevel.bpmn"],
    "bpmn__io_spec_parent.bpmn": ["bpmn__io_spec.bpmn"],
}
# file -> words of the deliberate limit its refusal states (the README lists these limits)
REFUSED: dict[str, str] = {
    "bpmn__Action-Management.bpmn20.xml": "without a condition and is not the gateway's default",
    "bpmn__Parallel-Join-Long.bpmn20.xml": "without a condition and is not the gateway's default",
    "bpmn__Parallel-Looping-After-Join.bpmn20.xml": "without a condition and is not the gateway's "
                                                    "default",
    "bpmn__Parallel-Multiple-Splits.bpmn20.xml": "without a condition and is not the gateway's "
                                                 "default",
    "bpmn__data_store.bpmn": "has no data stores",
    "bpmn__data_store_read.bpmn": "has no data stores",
    "bpmn__data_store_write.bpmn": "has no data stores",
    "spiff__script_task_with_unit_tests.bpmn": "locals() is not available to model code",
}
# What must never reach a designer: Python's own error text.
RAW = re.compile(r"\b[A-Z]\w*(Error|Exception)\b|'node'|NoneType|object has no attribute|"
                 r"Traceback")


def test_the_corpus_is_every_file_here():
    files = {p.name for p in CORPUS.iterdir() if p.suffix in (".bpmn", ".xml")}
    assert files == set(RUNS) | set(REFUSED)


def _called(name: str) -> dict[str, bytes]:
    """Process id -> file bytes of what is deployed before `name`, as Caseflow passes them."""
    called = {}
    for other in DEPLOYED_FIRST.get(name, []):
        data = (CORPUS / other).read_bytes()
        for pid in compile_processes(data, other, called=_called(other)):
            called[pid] = data
    return called


def _run(process, start: dict, answers: dict, slow: bool, roundtrip: bool) -> bool:
    runner = Runner(process, roundtrip)
    now = T0
    instance = runner.start(start, now=now)
    for _ in range(200):
        if instance.is_completed:
            return True
        if slow or not instance.ready_tasks():
            now += timedelta(days=1)
            instance.advance(now=now)
            instance = runner.again(instance)
        ready = instance.ready_tasks()
        if ready:
            task = ready[0]
            answer = answers.get(task.element_id, answers.get("*", {}))
            instance.complete(task.id, answer(task.data) if callable(answer) else answer, now=now)
            instance = runner.again(instance)
    return instance.is_completed


@pytest.mark.parametrize("roundtrip", [False, True], ids=["plain", "roundtrip"])
@pytest.mark.parametrize("name", sorted(RUNS))
def test_runs_to_its_end_through_caseflow(name, roundtrip):
    data, called = (CORPUS / name).read_bytes(), _called(name)
    report = validate_bpmn(data, name, available_processes=set(called))
    assert report.valid, [p.message for p in report.errors]
    assert not [p.message for p in report.problems if RAW.search(p.message)]
    start, answers, slow = RUNS[name]
    for pid, process in compile_processes(data, name, called=called).items():
        assert _run(process, dict(start), answers, slow, roundtrip), f"{pid} did not finish"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_is_refused_with_a_plain_reason_that_is_a_deliberate_limit(name):
    report = validate_bpmn((CORPUS / name).read_bytes(), name)
    assert not report.valid
    messages = [p.message for p in report.errors]
    assert any(REFUSED[name] in m for m in messages), messages
    assert not [m for m in messages if RAW.search(m)], messages
    assert all(p.element_id for p in report.errors), "every refusal names its element"


def test_the_measurement():
    """The figure the README quotes: how many of the files run, how many are refused."""
    assert (len(RUNS), len(REFUSED)) == (51, 8)
