"""The runtime facade on real BPMN files, each scenario plain and after save/restore round trips."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from engine import runtime
from engine.errors import MessageNotExpected, ScriptFailed, TaskNotReady
from engine.messages import send_message
from tests.conftest import CORPUS, T0

from .helpers import DATA, Runner, complete, compile_file, ready_ids, task_for


@pytest.fixture(params=[False, True], ids=["plain", "roundtrip"])
def roundtrip(request):
    return request.param


@pytest.fixture(scope="module")
def dev_process():
    return compile_file(DATA / "deviations.bpmn")


def test_happy_path_runs_to_the_end(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start({"customer": "Ada"}, now=T0)
    assert ready_ids(inst) == ["Capture"]
    ready = task_for(inst, "Capture")
    assert ready.lane == "Customer Care" and ready.kind == "userTask" and ready.data["customer"] == "Ada"
    complete(inst, "Capture", {"amount": 50}, now=T0)
    inst = run.again(inst)
    complete(inst, "Check", now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == ["Reject"]  # amount 50 takes the default branch
    complete(inst, "Reject", now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == [] and inst.waiting_messages() == ["payment_received"]
    assert send_message(inst, "payment_received", {"paid": True}, now=T0) is True
    inst = run.again(inst)
    complete(inst, "Confirm", now=T0)
    assert inst.is_completed
    assert run.again(inst).is_completed


def test_condition_on_form_data_picks_the_branch(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Capture", {"amount": 500}, now=T0)
    inst = run.again(inst)
    complete(inst, "Check", now=T0)
    assert ready_ids(run.again(inst)) == ["Approve"]


def test_timer_fires_only_when_the_clock_passes_it(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Capture", {"amount": 1}, now=T0)
    inst = run.again(inst)
    assert inst.next_timer_due() == T0 + timedelta(hours=4)
    inst.advance(now=T0 + timedelta(hours=3, minutes=59))
    assert ready_ids(inst) == ["Check"]
    inst = run.again(inst)
    inst.advance(now=T0 + timedelta(hours=4, seconds=1))
    assert ready_ids(inst) == ["Check", "Escalate"]
    assert [e.type for e in inst.drain_events()] == ["timer_fired"]
    assert run.again(inst).next_timer_due() is None


def test_message_sent_early_waits_in_the_inbox(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    assert send_message(inst, "payment_received", {"amount": 10}, now=T0) is False
    inst = run.again(inst)
    for element, data in (("Capture", {"amount": 1}), ("Check", {}), ("Reject", {})):
        complete(inst, element, data, now=T0)
        inst = run.again(inst)
    assert ready_ids(inst) == ["Confirm"], "the queued payment message is delivered on arrival"
    assert inst.envelope["inbox"] == []


def test_unknown_message_is_refused(dev_process):
    inst = runtime.start(dev_process, now=T0)
    with pytest.raises(MessageNotExpected, match="no_such_message"):
        send_message(inst, "no_such_message", None, now=T0)


def test_repeat_contact_boundary_message_adds_a_step(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Capture", {"amount": 1}, now=T0)
    inst = run.again(inst)
    assert send_message(inst, "customer_contacted_again", {"channel": "phone"}, now=T0)
    assert ready_ids(run.again(inst)) == ["Check", "LogContact"]


def test_completing_a_task_that_is_not_ready_is_refused(dev_process):
    inst = runtime.start(dev_process, now=T0)
    with pytest.raises(TaskNotReady):
        inst.complete("00000000-0000-0000-0000-000000000000", {}, now=T0)


def test_cancel_stops_the_instance(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    inst.cancel(now=T0)
    inst = run.again(inst)
    assert inst.is_cancelled and not inst.is_completed and ready_ids(inst) == []


def test_state_carries_no_spec(dev_process):
    inst = runtime.start(dev_process, now=T0)
    state = json.loads(inst.dump())
    assert "spec" not in state["workflow"] and "subprocess_specs" not in state["workflow"]
    assert "task_specs" not in inst.dump(), "no spec anywhere in the instance state"
    assert "task_specs" in dev_process.spec_json(), "the spec is stored with the version instead"


def test_call_activity_tasks_are_ready_in_the_parent(roundtrip):
    process = compile_file(DATA / "call_activity.bpmn", "main_process")
    run = Runner(process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Intake", now=T0)
    inst = run.again(inst)
    dispatch = task_for(inst, "Dispatch")
    assert dispatch.process_id == "field_work"
    complete(inst, "Dispatch", now=T0)
    inst = run.again(inst)
    complete(inst, "Repair", now=T0)
    inst = run.again(inst)
    complete(inst, "Close", now=T0)
    assert inst.is_completed


def test_script_task_runs_in_the_sandbox(roundtrip):
    run = Runner(compile_file(DATA / "scripts.bpmn"), roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Enter", {"items": [60, 70], "spin": False}, now=T0)
    inst = run.again(inst)
    review = task_for(inst, "Review")
    assert review.data["total"] == 130 and review.data["label"] == "big"


def test_runaway_script_fails_its_task_after_the_time_limit():
    process = compile_file(DATA / "scripts.bpmn")
    inst = runtime.start(process, now=T0, time_limit=0.3)
    with pytest.raises(ScriptFailed) as err:
        complete(inst, "Enter", {"items": [], "spin": True}, now=T0)
    assert err.value.element_id == "Compute"
    assert "longer than 0.3 s" in str(err.value)


@pytest.mark.parametrize("path", sorted((CORPUS / "executable").glob("*.bpmn")), ids=lambda p: p.name)
def test_every_corpus_executable_file_runs(path):
    """Each executable file runs to its end or to a waiting task, completing steps with no data."""
    library = {}
    if path.name in ("arena_call_activity_test.bpmn", "camunda_mainProcess.bpmn"):
        callee = {"arena_call_activity_test.bpmn": ("process_to_call", "arena_callable_process.bpmn"),
                  "camunda_mainProcess.bpmn": ("subProcess", "camunda_subProcess.bpmn")}[path.name]
        library = {callee[0]: (path.parent / callee[1]).read_bytes()}
    from engine.definitions import compile_processes

    processes = compile_processes(path.read_bytes(), path.name, called=library)
    assert processes, f"{path.name} has no executable process"
    for process in processes.values():
        now = T0
        inst = runtime.start(process, {}, now=now)
        for _ in range(40):
            if inst.is_completed:
                break
            ready = inst.ready_tasks()
            if ready:
                inst = runtime.load(process, inst.dump())
                inst.complete(ready[0].id, {}, now=now)
            else:
                now += timedelta(days=2)
                inst.advance(now=now)
                if not inst.ready_tasks() and not inst.is_completed:
                    break
        assert inst.is_completed or inst.ready_tasks() or inst.waiting_messages() or inst.next_timer_due(), \
            f"{process.process_id} stopped with nothing to wait for"


def test_ready_task_carries_its_form_and_completion_validates_it(dev_process, roundtrip):
    from engine.errors import FormInvalid

    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    capture = task_for(inst, "Capture")
    assert [f.id for f in capture.form.fields] == ["amount"] and capture.form.fields[0].type == "long"
    with pytest.raises(FormInvalid) as err:
        inst.complete(capture.id, {"amount": "twelve"}, now=T0)
    assert set(err.value.errors) == {"amount"}
    assert ready_ids(inst) == ["Capture"], "a refused submission changes nothing"
    stored = inst.complete(capture.id, {"amount": "120"}, now=T0)
    assert stored["amount"] == 120
    assert task_for(run.again(inst), "Check").data["amount"] == 120


def test_skip_without_defaults_uses_the_form_defaults(dev_process):
    from engine import deviations as dv

    inst = runtime.start(dev_process, now=T0)
    dv.skip(inst, task_for(inst, "Capture").id, now=T0)
    assert task_for(inst, "Check").data["amount"] == 0


def test_timer_fires_at_exactly_its_due_time(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Capture", {"amount": 1}, now=T0)
    inst = run.again(inst)
    due = inst.next_timer_due()
    inst.advance(now=due - timedelta(microseconds=1))
    assert ready_ids(inst) == ["Check"]
    inst.advance(now=due)
    assert ready_ids(run.again(inst)) == ["Check", "Escalate"]


def test_ready_since_follows_the_engine_clock(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    assert task_for(inst, "Capture").ready_since == T0
    later = T0 + timedelta(hours=1)
    complete(inst, "Capture", {"amount": 1}, now=later)
    inst = run.again(inst)
    assert task_for(inst, "Check").ready_since == later
    fired = later + timedelta(hours=4)
    inst.advance(now=fired + timedelta(minutes=30))
    inst = run.again(inst)
    assert task_for(inst, "Check").ready_since == later, "a step keeps its first ready time"
    assert task_for(inst, "Escalate").ready_since == fired + timedelta(minutes=30)
