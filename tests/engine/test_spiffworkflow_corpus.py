"""SpiffWorkflow's own test files through Caseflow (issue 18, item 4): each either runs to its end
or is refused, at upload, with a plain reason that is one of Caseflow's deliberate limits.

The files are in tests/engine/data/spiffworkflow/ (see its SOURCE.md: SpiffWorkflow's repository,
LGPL-3.0, COPYING.LESSER beside them); each is one SpiffWorkflow's own suite runs to completion.
The run gives each file what SpiffWorkflow's test gives it (start data, the answers typed into its
forms, the decision tables and the messages it sends from outside) and lets time pass where its
test waits for a timer. Files whose processes talk to each other run each process as its own
instance (as Caseflow runs each as its own case), and each message one sends reaches the other
through Caseflow's message inbox with the correlation values it carries: at this layer, with no
cases, the test plays the part of the relay (the case layer delivers a message one case throws by
itself: tests/cases/test_relay_corpus.py runs these files through cases with nobody forwarding).
A called file that needs its caller's data counts with its caller.
Every run is repeated after a save/restore round trip at every step.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from engine import messages
from engine.definitions import compile_processes
from engine.dmn import decision_ids
from engine.validate import validate_bpmn
from tests.conftest import T0

from .helpers import Exchange, Runner

CORPUS = Path(__file__).resolve().parent / "data" / "spiffworkflow"
NO = {"*": {"choice": "No"}}
# file -> the decision tables its SpiffWorkflow test loads with it (two share a decision id)
DMN = {
    "camunda__DMNMultiInstance.bpmn": "camunda__test_integer_decision_multi.dmn",
    "camunda__ExclusiveGatewayIfElseAndDecision.bpmn": "camunda__test_integer_decision.dmn",
    "spiff__business_rule_task.bpmn": "spiff__business_rules.dmn",
}


def _decisions(name: str) -> dict[str, bytes]:
    """Decision id -> DMN bytes, as Caseflow holds the tables uploaded with a file."""
    if name not in DMN:
        return {}
    data = (CORPUS / DMN[name]).read_bytes()
    return {decision: data for decision in decision_ids(data, DMN[name])}


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
    "bpmn__Parallel.camunda.bpmn20.xml": ({}, {}, False),
    "bpmn__call_activity_end_event.bpmn": ({}, {}, False),
    "bpmn__Messages.bpmn20.xml": ({}, {}, False),
    "bpmn__start_event_split.bpmn": ({}, {}, False),
    "bpmn__timer-date-start.bpmn": ({}, {}, False),
    "camunda__DMNMultiInstance.bpmn": ({}, {}, False),
    "camunda__ExclusiveGatewayIfElseAndDecision.bpmn": ({"x": 3}, {}, False),
    "spiff__business_rule_task.bpmn": ({}, {}, False),
    "spiff__default_correlation_key.bpmn": ({}, {}, False),
    "spiff__error_event_payload.bpmn": ({}, {"*": {"error": True, "payload": "ERROR!"}}, False),
    "spiff__escalation_event_payload.bpmn": ({}, {"*": {"escalation": True, "payload": "ERROR!"}},
                                             False),
    "spiff__prescript_postscript_parent.bpmn": ({"old": "hello"}, {}, False),
    "spiff__receive_correlations.bpmn": ({}, {"*": {"value_1": "a", "value_2": "b"}}, False),
    "spiff__script_on_mi.bpmn": (ITEMS, {"*": _double}, False),
    "spiff__signal_event_payload.bpmn": ({}, {"*": {"v1": 1, "v2": 2, "v3": 3}}, False),
    "spiff__spiff_multiinstance.bpmn": (ITEMS, {"*": _double}, False),
    "spiff__waiting_event.bpmn": ({}, {}, False),
    # its partner is a black-box pool: the answer comes from outside, as in SpiffWorkflow's test
    "bpmn__collaboration.bpmn": ({"lover_name": "Peggy"}, {}, False),
}
# file -> the messages its SpiffWorkflow test sends it from outside (name, payload, correlation),
# each sent once the process waits for it, as an integrator sends one to a case
OUTSIDE: dict[str, list[tuple[str, object, dict | None]]] = {
    "bpmn__Messages.bpmn20.xml": [("Test Message", {}, None)],
    "bpmn__collaboration.bpmn": [("Love Letter Response", {"from_name": "Peggy",
                                                           "other_nonsense": 1001},
                                  {"lover_name": "Peggy"})],
    "bpmn__start_event_split.bpmn": [("message_1", {}, None)],
    "spiff__default_correlation_key.bpmn": [("B", {"uid": 1}, {"uid": 1})],
    "spiff__receive_correlations.bpmn": [("message", {"msg_value_1": "a", "msg_value_2": "b"},
                                          {"prop_1": "a", "prop_2": "b"})],
    "spiff__waiting_event.bpmn": [("B", {"uid": 1, "data": "asdf"}, {"uid": 1})],
}
# Files whose model reads the wall clock (datetime.now() in a script): their run starts at it.
WALL_CLOCK = {"bpmn__timer-date-start.bpmn"}
# file -> (start data, answers) for files whose processes exchange messages: each process runs
# as its own instance and the messages they send pass through the receivers' inboxes (Exchange)
EXCHANGES: dict[str, tuple[dict, dict]] = {
    "bpmn__multiple-throw.bpmn": ({}, {}),
    "bpmn__multiple-throw-start.bpmn": ({}, {}),
    "camunda__MessageBoundary.bpmn": ({}, {"Activity_Interrupt": {"interrupt_task": "Yes"}}),
    "camunda__noninterrupting-MessageBoundary.bpmn": ({}, {
        "Activity_WorkLate": {"flag_task": "Yes"}, "Activity_DoWork": {"work_done": "Yes"},
        "Activity_WorkLateReason": {"work_late_reason": "covid-19"},
        "Activity_WorkCompleted": {"work_completed": "Lots of Stuff"}}),
    "camunda__message_test.bpmn": ({}, {
        "Activity_EnterPlan": {"plan_details": "Best"}, "Activity_ApproveOrDeny": {"approved": "Yes"},
        "Activity_EnablePlan": {"Done": "OK!"}}),
    "camunda__call_activity_with_message_parent.bpmn": ({}, {
        "Activity_EnterPlan": {"plan_details": "Best"}, "Activity_ApproveOrDeny": {"approved": "Yes"},
        "Activity_EnablePlan": {"Done": "OK!"}}),
    "spiff__correlation.bpmn": ({}, {"*": {"task_num": 1, "task_name": "subprocess 1",
                                           "extra_data": "unused data", "response": "OK"}}),
}
# file -> the files deployed before it, whose processes its call activities call
DEPLOYED_FIRST = {
    "bpmn__Nested-Subprocesses.bpmn20.xml": ["bpmn__Nested-Sub-level1.bpmn20.xml",
                                             "bpmn__Nested-Sub-level2.bpmn20.xml"],
    "bpmn__Nested-Sub-level1.bpmn20.xml": ["bpmn__Nested-Sub-level2.bpmn20.xml"],
    "bpmn__resetworkflowB-toplevel.bpmn": ["bpmn__resetworkflowB-sublevel.bpmn"],
    "bpmn__io_spec_parent.bpmn": ["bpmn__io_spec.bpmn"],
    "bpmn__call_activity_end_event.bpmn": ["bpmn__call_activity_call_activity.bpmn"],
    "spiff__prescript_postscript_parent.bpmn": ["spiff__prescript_postscript_call_activity.bpmn"],
    "camunda__call_activity_with_message_parent.bpmn": ["camunda__call_activity_with_message.bpmn"],
    "bpmn__custom_function_test.bpmn": ["bpmn__custom_function_test_call_activity.bpmn"],
    "bpmn__CallActivity-Escalation-Test.bpmn20.xml": [
        "bpmn__CallActivity-Escalation-Test-Sub.bpmn20.xml"],
    "bpmn__Test-Workflows.bpmn20.xml": ["bpmn__Messages.bpmn20.xml",
                                        "bpmn__Message-Interrupts.bpmn20.xml",
                                        "bpmn__Message-Non-Interrupt.bpmn20.xml"],
}
# A called half that needs its caller's data: it counts with its caller (deployed before it,
# validated on its own, and run inside the caller's run)
CALLED_HALVES = {
    "bpmn__call_activity_call_activity.bpmn": "bpmn__call_activity_end_event.bpmn",
    "spiff__prescript_postscript_call_activity.bpmn": "spiff__prescript_postscript_parent.bpmn",
    "camunda__call_activity_with_message.bpmn": "camunda__call_activity_with_message_parent.bpmn",
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
    "bpmn__CallActivity-Escalation-Test-Sub.bpmn20.xml": "vars() is not available to model code",
    # its called process is in the file above, which is refused, so it cannot be deployed
    "bpmn__CallActivity-Escalation-Test.bpmn20.xml": "deploy the file that contains it first",
    "bpmn__Test-Workflows.bpmn20.xml": "without a condition and is not the gateway's default",
    "bpmn__custom_function_test.bpmn": "it calls custom_function(), a function model code does "
                                       "not have",
    "bpmn__custom_function_test_call_activity.bpmn": "it calls custom_function(), a function "
                                                     "model code does not have",
    "camunda__parallel_multiinstance_cardinality.bpmn": "beside the Camunda collection",
    "bpmn__correlation.bpmn": "without content, but its receivers read",
    "bpmn__correlation_two_conversations.bpmn": "without content, but its receivers read",
    "bpmn__timer-cycle-start.bpmn": "it calls custom_function(), a function model code does not "
                                    "have",
}
# What must never reach a designer: Python's own error text.
RAW = re.compile(r"\b[A-Z]\w*(Error|Exception)\b|'node'|NoneType|object has no attribute|"
                 r"Traceback")


def test_the_corpus_is_every_file_here():
    files = {p.name for p in CORPUS.iterdir() if p.suffix in (".bpmn", ".xml")}
    assert {p.name for p in CORPUS.glob("*.dmn")} == set(DMN.values()), "every table is used"
    kinds = [set(RUNS), set(EXCHANGES), set(CALLED_HALVES), set(REFUSED)]
    assert sum(len(k) for k in kinds) == len(set().union(*kinds)), "a file is counted twice"
    assert files == set().union(*kinds)


def _called(name: str) -> dict[str, bytes]:
    """Process id -> file bytes of what is deployed before `name`, as Caseflow passes them."""
    called = {}
    for other in DEPLOYED_FIRST.get(name, []):
        if other in REFUSED:
            continue  # refused at upload, so never deployed
        data = (CORPUS / other).read_bytes()
        for pid in compile_processes(data, other, called=_called(other)):
            called[pid] = data
    return called


def _answer(answers: dict, task):
    answer = answers.get(task.element_id, answers.get("*", {}))
    return answer(task.data) if callable(answer) else answer


def _run(process, start: dict, answers: dict, slow: bool, roundtrip: bool,
         outside: list, now: datetime = T0) -> bool:
    runner = Runner(process, roundtrip)
    instance = runner.start(start, now=now)
    outside = list(outside)
    for _ in range(200):
        if instance.is_completed:
            return True
        waited = [m for m in outside if m[0] in instance.waiting_messages()]
        if waited and not instance.ready_tasks():
            name, payload, correlation = waited[0]
            outside.remove(waited[0])
            messages.send_message(instance, name, payload, now=now, correlation=correlation)
            instance = runner.again(instance)
            continue
        if slow or not instance.ready_tasks():
            now += timedelta(days=1)
            instance.advance(now=now)
            instance = runner.again(instance)
        ready = instance.ready_tasks()
        if ready:
            task = ready[0]
            instance.complete(task.id, _answer(answers, task), now=now)
            instance = runner.again(instance)
    return instance.is_completed


def _message_started(data: bytes) -> dict[str, set[str]]:
    """Process id -> the message names its (top-level) start event catches."""
    root = etree.fromstring(data)
    ns = {"b": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    names = {m.get("id"): m.get("name") or m.get("id") for m in root.findall("b:message", ns)}
    found = {}
    for process in root.findall("b:process", ns):
        refs = {names.get(d.get("messageRef"), d.get("messageRef"))
                for d in process.findall("b:startEvent/b:messageEventDefinition", ns)}
        if refs:
            found[process.get("id")] = refs
    return found


def _exchange(data: bytes, processes: dict, start: dict, answers: dict, roundtrip: bool) -> bool:
    exchange, now = Exchange(processes, _message_started(data), roundtrip), T0
    exchange.start(start, now=now)
    for _ in range(300):
        if exchange.is_completed:
            return True
        moved = exchange.pass_messages(now=now)
        for _pid, _runner, instance in exchange.instances:
            ready = instance.ready_tasks()
            if ready:
                instance.complete(ready[0].id, _answer(answers, ready[0]), now=now)
                moved = True
                break
        if not moved:
            now += timedelta(days=1)
            for _pid, _runner, instance in exchange.instances:
                instance.advance(now=now)
        exchange.again()
    return exchange.is_completed


@pytest.mark.parametrize("roundtrip", [False, True], ids=["plain", "roundtrip"])
@pytest.mark.parametrize("name", sorted(RUNS))
def test_runs_to_its_end_through_caseflow(name, roundtrip):
    start, answers, slow = RUNS[name]
    now = max(T0, datetime.now(timezone.utc)) if name in WALL_CLOCK else T0
    for pid, process in _compiled(name).items():
        assert _run(process, dict(start), answers, slow, roundtrip, OUTSIDE.get(name, []),
                    now), f"{pid} did not finish"


def _compiled(name: str) -> dict:
    """Validate a file as Caseflow does at upload (no Python error text) and compile it."""
    data, called = (CORPUS / name).read_bytes(), _called(name)
    report = validate_bpmn(data, name, available_processes=set(called),
                          decisions=_decisions(name))
    assert report.valid, [p.message for p in report.errors]
    assert not [p.message for p in report.problems if RAW.search(p.message)]
    return compile_processes(data, name, called=called, decisions=_decisions(name))


@pytest.mark.parametrize("roundtrip", [False, True], ids=["plain", "roundtrip"])
@pytest.mark.parametrize("name", sorted(EXCHANGES))
def test_processes_that_exchange_messages_all_run_to_their_end(name, roundtrip):
    start, answers = EXCHANGES[name]
    processes = _compiled(name)
    assert _exchange((CORPUS / name).read_bytes(), processes, start, answers, roundtrip)


@pytest.mark.parametrize("name", sorted(CALLED_HALVES))
def test_a_called_half_is_accepted_and_runs_inside_its_caller(name):
    caller = CALLED_HALVES[name]
    assert _compiled(name)
    assert name in DEPLOYED_FIRST[caller] and caller in set(RUNS) | set(EXCHANGES)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_is_refused_with_a_plain_reason_that_is_a_deliberate_limit(name):
    report = validate_bpmn((CORPUS / name).read_bytes(), name,
                           available_processes=set(_called(name)))
    assert not report.valid
    messages = [p.message for p in report.errors]
    assert any(REFUSED[name] in m for m in messages), messages
    assert not [m for m in messages if RAW.search(m)], messages
    assert all(p.element_id for p in report.errors), "every refusal names its element"


def test_the_measurement():
    """The figure the README quotes: how many of the files run, how many are refused."""
    counts = (len(RUNS), len(EXCHANGES), len(CALLED_HALVES), len(REFUSED))
    assert counts == (69, 7, 3, 17) and sum(counts) == 96
