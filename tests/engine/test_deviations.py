"""Deviation primitives on real files: across a timer boundary, a parallel branch and a call activity,
each scenario plain and after save/restore round trips."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import deviations as dv
from engine.errors import StepNotFound, TaskNotReady
from tests.conftest import T0

from .helpers import DATA, Runner, compile_file, complete, ready_ids, task_for


@pytest.fixture(params=[False, True], ids=["plain", "roundtrip"])
def roundtrip(request):
    return request.param


@pytest.fixture(scope="module")
def dev_process():
    return compile_file(DATA / "deviations.bpmn")


@pytest.fixture(scope="module")
def parallel_process():
    return compile_file(DATA / "parallel.bpmn")


@pytest.fixture(scope="module")
def call_process():
    return compile_file(DATA / "call_activity.bpmn", "main_process")


def test_skip_uses_defaults_and_moves_on(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    dv.skip(inst, task_for(inst, "Capture").id, {"amount": 0}, now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == ["Check"]
    assert task_for(inst, "Check").data["amount"] == 0
    assert [e.type for e in inst.drain_events()] in ([], ["step_skipped"])


def test_skip_a_task_with_a_waiting_timer_boundary_disarms_it(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Capture", {"amount": 1}, now=T0)
    inst = run.again(inst)
    assert inst.next_timer_due() is not None
    dv.skip(inst, task_for(inst, "Check").id, now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == ["Reject"]
    assert inst.next_timer_due() is None
    inst.advance(now=T0 + timedelta(days=1))
    assert ready_ids(inst) == ["Reject"]


def test_go_back_across_a_fired_timer_reopens_the_step_with_old_data(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Capture", {"amount": 7}, now=T0)
    inst = run.again(inst)
    inst.advance(now=T0 + timedelta(hours=5))  # the reminder boundary timer fires
    inst = run.again(inst)
    assert ready_ids(inst) == ["Check", "Escalate"]
    later = T0 + timedelta(hours=6)
    step = dv.go_back(inst, "Capture", now=later)
    assert step.data["amount"] == 7
    inst = run.again(inst)
    assert ready_ids(inst) == ["Capture"]
    complete(inst, "Capture", {"amount": 8}, now=later)
    inst = run.again(inst)
    assert ready_ids(inst) == ["Check"]
    assert inst.next_timer_due() == later + timedelta(hours=4), "the timer re-arms from now"
    inst.advance(now=later + timedelta(hours=5))
    assert ready_ids(run.again(inst)) == ["Check", "Escalate"]


def test_go_back_after_completion_reopens_the_case(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    for element, data in (("Capture", {"amount": 1}), ("Check", {}), ("Reject", {})):
        complete(inst, element, data, now=T0)
    from engine.messages import send_message

    send_message(inst, "payment_received", None, now=T0)
    complete(inst, "Confirm", now=T0)
    inst = run.again(inst)
    assert inst.is_completed
    dv.go_back(inst, "Confirm", now=T0)
    inst = run.again(inst)
    assert not inst.is_completed and ready_ids(inst) == ["Confirm"]


def test_go_back_to_a_step_never_done_is_refused(dev_process):
    inst = Runner(dev_process, False).start(now=T0)
    with pytest.raises(StepNotFound, match="Confirm"):
        dv.go_back(inst, "Confirm", now=T0)


def test_go_back_on_one_parallel_branch_leaves_the_other(parallel_process, roundtrip):
    run = Runner(parallel_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Order", now=T0)
    inst = run.again(inst)
    complete(inst, "Provision", now=T0)
    complete(inst, "Schedule", now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == ["Install"]
    dv.go_back(inst, "Schedule", now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == ["Schedule"]
    complete(inst, "Schedule", now=T0)
    complete(inst, "Install", now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == ["Confirm"], "the join still counts the untouched Provision branch"
    complete(inst, "Confirm", now=T0)
    assert inst.is_completed


def test_skip_on_a_parallel_branch_lets_the_join_fire(parallel_process, roundtrip):
    run = Runner(parallel_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Order", now=T0)
    inst = run.again(inst)
    dv.skip(inst, task_for(inst, "Provision").id, now=T0)
    complete(inst, "Schedule", now=T0)
    inst = run.again(inst)
    dv.skip(inst, task_for(inst, "Install").id, now=T0)
    assert ready_ids(run.again(inst)) == ["Confirm"]


def test_jump_forward_completes_the_steps_on_the_way(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    skipped = dv.jump_to(inst, "Approve", lambda element: {"amount": 0} if element == "Capture" else {},
                         now=T0)
    inst = run.again(inst)
    assert skipped == ["Capture", "Check"]
    assert ready_ids(inst) == ["Approve"], "the jump routes the decision towards its target"


def test_jump_forward_inside_a_call_activity(call_process, roundtrip):
    run = Runner(call_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Intake", now=T0)
    inst = run.again(inst)
    assert dv.jump_to(inst, "Repair", now=T0) == ["Dispatch"]
    inst = run.again(inst)
    assert ready_ids(inst) == ["Repair"]


def test_jump_to_a_step_behind_is_refused(dev_process):
    inst = Runner(dev_process, False).start(now=T0)
    complete(inst, "Capture", {"amount": 1}, now=T0)
    with pytest.raises(StepNotFound, match="cannot be reached"):
        dv.jump_to(inst, "Capture", now=T0)


def test_go_back_inside_a_call_activity(call_process, roundtrip):
    run = Runner(call_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Intake", now=T0)
    complete(inst, "Dispatch", now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == ["Repair"]
    dv.go_back(inst, "Dispatch", now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == ["Dispatch"]
    complete(inst, "Dispatch", now=T0)
    complete(inst, "Repair", now=T0)
    inst = run.again(inst)
    complete(inst, "Close", now=T0)
    assert inst.is_completed


def test_go_back_from_inside_a_call_activity_to_the_parent(call_process, roundtrip):
    run = Runner(call_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Intake", now=T0)
    complete(inst, "Dispatch", now=T0)
    inst = run.again(inst)
    dv.go_back(inst, "Intake", now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == ["Intake"]
    complete(inst, "Intake", now=T0)
    assert ready_ids(run.again(inst)) == ["Dispatch"]


def test_override_before_the_decision_runs_does_not_touch_business_data(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Capture", {"amount": 5}, now=T0)
    inst = run.again(inst)
    assert dv.override_decision(inst, "Decide", "Approve", now=T0) is False
    inst = run.again(inst)
    complete(inst, "Check", now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == ["Approve"]
    assert task_for(inst, "Approve").data["amount"] == 5


def test_override_after_the_decision_takes_the_other_branch(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Capture", {"amount": 5}, now=T0)
    complete(inst, "Check", now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == ["Reject"]
    assert dv.override_decision(inst, "Decide", "Approve", now=T0) is True
    inst = run.again(inst)
    assert ready_ids(inst) == ["Approve"]


def test_override_is_one_shot(dev_process):
    inst = Runner(dev_process, False).start(now=T0)
    complete(inst, "Capture", {"amount": 5}, now=T0)
    complete(inst, "Check", now=T0)
    dv.override_decision(inst, "Decide", "Approve", now=T0)
    dv.go_back(inst, "Check", now=T0)
    complete(inst, "Check", now=T0)
    assert ready_ids(inst) == ["Reject"], "after rework the rule decides again"


def test_override_refuses_a_target_that_is_not_a_branch(dev_process):
    inst = Runner(dev_process, False).start(now=T0)
    with pytest.raises(StepNotFound, match="choices: Approve, Reject"):
        dv.override_decision(inst, "Decide", "Confirm", now=T0)
    with pytest.raises(StepNotFound, match="not an exclusive decision"):
        dv.override_decision(inst, "Check", "Decide", now=T0)


def test_blocking_adhoc_task_holds_completion(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    extra = dv.add_adhoc_task(inst, "Call the bank", lane="Billing", blocking=True, now=T0)
    optional = dv.add_adhoc_task(inst, "Send a goodwill note", lane=None, blocking=False, now=T0)
    inst = run.again(inst)
    adhoc = {t.id: t for t in inst.ready_tasks() if t.kind == "adhoc"}
    assert set(adhoc) == {extra, optional} and adhoc[extra].lane == "Billing"
    dv.jump_to(inst, "Confirm", now=T0)
    from engine.messages import send_message

    send_message(inst, "payment_received", None, now=T0)
    complete(inst, "Confirm", now=T0)
    inst = run.again(inst)
    assert not inst.is_completed, "an open blocking ad-hoc task keeps the instance open"
    inst.complete(extra, {"outcome": "done"}, now=T0)
    inst = run.again(inst)
    assert inst.is_completed
    assert [t.id for t in inst.ready_tasks()] == [optional]


def test_adhoc_task_inside_a_call_activity_case(call_process, roundtrip):
    run = Runner(call_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Intake", now=T0)
    extra = dv.add_adhoc_task(inst, "Order a spare part", lane="Field Operations", now=T0)
    inst = run.again(inst)
    assert "Dispatch" in ready_ids(inst)
    assert [t.name for t in inst.ready_tasks() if t.kind == "adhoc"] == ["Order a spare part"]
    dv.skip(inst, extra, now=T0)
    assert extra not in [t.id for t in run.again(inst).ready_tasks()]


def test_skip_of_a_task_that_is_not_ready_is_refused(dev_process):
    inst = Runner(dev_process, False).start(now=T0)
    with pytest.raises(TaskNotReady):
        dv.skip(inst, "not-a-task", now=T0)


def test_route_override_never_shows_in_business_data(dev_process):
    inst = Runner(dev_process, False).start(now=T0)
    complete(inst, "Capture", {"amount": 5}, now=T0)
    dv.override_decision(inst, "Decide", "Approve", now=T0)
    assert inst.workflow.data, "the override is pending in workflow data"
    assert not [k for k in inst.data if k.startswith("_caseflow")]
    assert inst.data["amount"] == 5


def test_edit_data_corrects_a_completed_step_and_later_decisions_see_it(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Capture", {"amount": 7}, now=T0)
    inst = run.again(inst)
    changed = dv.edit_data(inst, "Capture", {"amount": "500"}, now=T0)
    assert changed == {"amount": (7, 500)}
    inst = run.again(inst)
    assert task_for(inst, "Check").data["amount"] == 500
    assert [s.data["amount"] for s in inst.completed_steps() if s.element_id == "Capture"] == [500]
    complete(inst, "Check", now=T0)
    assert ready_ids(run.again(inst)) == ["Approve"], "the decision used the corrected amount"


def test_edit_data_refuses_unknown_fields_bad_values_and_no_change(dev_process):
    inst = Runner(dev_process, False).start(now=T0)
    with pytest.raises(StepNotFound, match="has not been completed"):
        dv.edit_data(inst, "Capture", {"amount": 1}, now=T0)
    complete(inst, "Capture", {"amount": 7}, now=T0)
    from engine.errors import FormInvalid

    with pytest.raises(FormInvalid) as bad:
        dv.edit_data(inst, "Capture", {"amount": "lots", "colour": "red"}, now=T0)
    assert set(bad.value.errors) == {"amount", "colour"}
    with pytest.raises(FormInvalid, match="already stored"):
        dv.edit_data(inst, "Capture", {"amount": 7}, now=T0)
    assert task_for(inst, "Check").data["amount"] == 7, "a refused correction changes nothing"


def test_go_back_keeps_the_captured_values_beside_the_reopened_step(dev_process, roundtrip):
    run = Runner(dev_process, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Capture", {"amount": 7}, now=T0)
    inst = run.again(inst)
    dv.go_back(inst, "Capture", now=T0)
    inst = run.again(inst)
    assert task_for(inst, "Capture").previous == {"amount": 7}
    assert task_for(inst, "Capture").data.get("amount") is None, "the reset gave it its parent's"
    complete(inst, "Capture", {"amount": 8}, now=T0)
    inst = run.again(inst)
    assert inst.envelope.get("previous") == {}, "forgotten once the step is done again"


def test_a_decision_reading_a_steps_field_is_found_in_its_python(dev_process):
    from engine.preview import decisions_reading, names_read

    assert names_read("amount > 100 and not vip") == {"amount", "vip"}
    assert names_read("total = amount * 2\nif total: x = 1") == {"amount", "total"}
    [read] = decisions_reading(dev_process, "Capture")
    assert read.fields == ("amount",)
    assert decisions_reading(dev_process, "Check") == []  # no form, nothing to read
