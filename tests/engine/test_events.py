"""BPMN events on real files: event-based gateways, signals and every kind of event subprocess,
each scenario plain and after save/restore round trips against a spec restored from storage."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.definitions import compile_processes, process_from_spec_json
from engine.messages import send_message
from engine.signals import known_signals, send_signal
from engine.waits import Subscription
from tests.conftest import CORPUS, T0

from .helpers import DATA, Runner, complete, compile_file, ready_ids


@pytest.fixture(params=[False, True], ids=["plain", "roundtrip"])
def roundtrip(request):
    return request.param


def runner(process, roundtrip: bool) -> Runner:
    """A runner whose round trip also restores the spec the way a stored version is loaded."""
    if roundtrip:
        process = process_from_spec_json(process.process_id, process.spec_json())
    return Runner(process, roundtrip)


# ---- event-based gateway: "the customer replies, or three days pass, or a storm warning" --------

@pytest.fixture(scope="module")
def gateway():
    return compile_file(DATA / "event_gateway.bpmn")


def _at_gateway(gateway, roundtrip):
    run = runner(gateway, roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Ask", now=T0)
    return run, run.again(inst)


def test_gateway_branches_are_all_waited_for(gateway, roundtrip):
    _, inst = _at_gateway(gateway, roundtrip)
    assert inst.next_timer_due() == T0 + timedelta(days=3)
    assert inst.subscriptions() == [Subscription("message", "customer_replied", "Replied", {}),
                                    Subscription("signal", "storm_warning", "Storm", {})]
    assert inst.waiting_messages() == ["customer_replied"]


def test_gateway_message_wins_and_withdraws_the_others(gateway, roundtrip):
    run, inst = _at_gateway(gateway, roundtrip)
    assert send_message(inst, "customer_replied", {"reading": 4711}, now=T0) is True
    inst = run.again(inst)
    assert ready_ids(inst) == ["Record"]
    assert inst.next_timer_due() is None and inst.subscriptions() == []
    inst.advance(now=T0 + timedelta(days=4))
    assert send_signal(inst, "storm_warning", None, now=T0 + timedelta(days=4)) is False
    assert ready_ids(run.again(inst)) == ["Record"]


def test_gateway_timer_wins_at_its_due_time(gateway, roundtrip):
    run, inst = _at_gateway(gateway, roundtrip)
    inst.advance(now=T0 + timedelta(days=3) - timedelta(microseconds=1))
    assert ready_ids(inst) == []
    inst.advance(now=T0 + timedelta(days=3))
    inst = run.again(inst)
    assert ready_ids(inst) == ["Chase"]
    assert inst.subscriptions() == [] and inst.next_timer_due() is None
    assert send_message(inst, "customer_replied", {}, now=T0 + timedelta(days=3)) is False
    assert ready_ids(inst) == ["Chase"] and len(inst.envelope["inbox"]) == 1


def test_gateway_signal_wins(gateway, roundtrip):
    run, inst = _at_gateway(gateway, roundtrip)
    assert send_signal(inst, "storm_warning", {"level": 2}, now=T0) is True
    assert [(e.type, e.name, e.element_id) for e in inst.drain_events()] == [
        ("signal_received", "storm_warning", "Storm")]
    inst = run.again(inst)
    assert ready_ids(inst) == ["Postpone"] and inst.next_timer_due() is None
    complete(inst, "Postpone", now=T0)
    assert inst.is_completed


def test_message_sent_before_the_gateway_waits_in_the_inbox(gateway, roundtrip):
    run = runner(gateway, roundtrip)
    inst = run.start(now=T0)
    assert send_message(inst, "customer_replied", {"reading": 1}, now=T0) is False
    inst = run.again(inst)
    complete(inst, "Ask", now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == ["Record"] and inst.envelope["inbox"] == []
    assert inst.next_timer_due() is None


# ---- signals: one broadcast reaches an intermediate catch, a boundary event and a subprocess ----

@pytest.fixture(scope="module")
def field_visit():
    return compile_file(DATA / "signals.bpmn")


def test_known_signals(field_visit, gateway):
    assert known_signals(field_visit) == {"storm_warning"}
    assert known_signals(gateway) == {"storm_warning"}


def test_signal_reaches_every_catch_waiting_for_it(field_visit, roundtrip):
    run = runner(field_visit, roundtrip)
    inst = run.start(now=T0)
    assert [s.element_id for s in inst.subscriptions()] == ["StormCatch", "StormStop", "WarnStart"]
    assert send_signal(inst, "storm_warning", {"level": 3}, now=T0) is True
    event = inst.drain_events()[0]
    assert event.type == "signal_received" and event.detail == {
        "payload": {"level": 3}, "elements": ["StormCatch", "StormStop", "WarnStart"]}
    inst = run.again(inst)
    assert ready_ids(inst) == ["CallCustomer", "SecureSite", "Shelter"], "Survey was interrupted"
    assert [s.element_id for s in inst.subscriptions()] == ["WarnStart"], "it may run again"
    for element in ("SecureSite", "Shelter", "CallCustomer"):
        complete(inst, element, now=T0)
        inst = run.again(inst)
    assert inst.is_completed and inst.subscriptions() == []


def test_signal_nobody_waits_for_is_not_caught(field_visit, roundtrip):
    run = runner(field_visit, roundtrip)
    inst = run.start(now=T0)
    assert send_signal(inst, "no_such_signal", None, now=T0) is False
    assert inst.drain_events() == [] and ready_ids(run.again(inst)) == ["Survey"]


# ---- event subprocesses ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def esp():
    return compile_processes((DATA / "event_subprocesses.bpmn").read_bytes(),
                             "event_subprocesses.bpmn")


def _fire(inst, pid: str):
    """Trigger the event subprocess of process `pid` the way its start event asks for."""
    if pid in ("esp_message", "esp_message_non"):
        name = "cancel_requested" if pid == "esp_message" else "address_changed"
        assert send_message(inst, name, {"why": "customer called"}, now=T0) is True
    elif pid.startswith("esp_signal"):
        assert send_signal(inst, "network_outage", None, now=T0) is True
    elif pid.startswith("esp_timer"):
        assert inst.next_timer_due() == T0 + timedelta(hours=1)
        inst.advance(now=T0 + timedelta(hours=1))
    else:  # error and escalation are thrown inside, once Work is done
        complete(inst, f"{pid}_work", now=T0)


KINDS = [  # process, handler step, whether the main flow's step is withdrawn
    ("esp_message", "cancel", True), ("esp_message_non", "update_address", False),
    ("esp_timer", "too_late", True), ("esp_timer_non", "remind", False),
    ("esp_signal", "stop_work", True), ("esp_signal_non", "inform", False),
    ("esp_error", "repair", True), ("esp_escalation", "supervise", False),
]


@pytest.mark.parametrize("pid,handler,interrupts", KINDS, ids=[k[0] for k in KINDS])
def test_event_subprocess_starts_and_the_case_completes(esp, roundtrip, pid, handler, interrupts):
    run = runner(esp[pid], roundtrip)
    inst = run.start(now=T0)
    assert ready_ids(inst) == [f"{pid}_work"]
    _fire(inst, pid)
    inst = run.again(inst)
    ready = ready_ids(inst)
    assert f"{pid}_{handler}" in ready
    main_open = f"{pid}_work" in ready or f"{pid}_finish" in ready
    assert main_open is not interrupts, ready
    for task in inst.ready_tasks():
        inst.complete(task.id, {}, now=T0)
        inst = run.again(inst)
    for task in inst.ready_tasks():  # esp_escalation: Finish became ready after Work
        inst.complete(task.id, {}, now=T0)
    assert inst.is_completed
    assert inst.subscriptions() == [] and inst.next_timer_due() is None


@pytest.mark.parametrize("pid,kind,name", [
    ("esp_message", "message", "cancel_requested"), ("esp_signal_non", "signal", "network_outage")])
def test_event_subprocess_start_is_a_subscription(esp, roundtrip, pid, kind, name):
    inst = runner(esp[pid], roundtrip).start(now=T0)
    assert inst.subscriptions() == [Subscription(kind, name, f"{pid}_esp_start", {})]
    assert inst.next_timer_due() is None


@pytest.mark.parametrize("pid", ["esp_timer_non", "esp_message_non"])
def test_waiting_event_subprocess_does_not_keep_a_finished_case_open(esp, roundtrip, pid):
    run = runner(esp[pid], roundtrip)
    inst = run.start(now=T0)
    complete(inst, f"{pid}_work", now=T0)
    inst = run.again(inst)
    assert inst.is_completed
    assert inst.next_timer_due() is None and inst.subscriptions() == []


def test_non_interrupting_message_subprocess_runs_once_per_message(esp, roundtrip):
    run = runner(esp["esp_message_non"], roundtrip)
    inst = run.start(now=T0)
    for _ in range(2):
        assert send_message(inst, "address_changed", {}, now=T0) is True
        inst = run.again(inst)
    assert ready_ids(inst) == ["esp_message_non_update_address"] * 2 + ["esp_message_non_work"]


def test_interrupting_subprocess_withdraws_the_other_waits(esp, roundtrip):
    run = runner(esp["esp_message"], roundtrip)
    inst = run.start(now=T0)
    _fire(inst, "esp_message")
    inst = run.again(inst)
    assert inst.subscriptions() == [], "an interrupted scope starts no further event subprocess"
    assert ready_ids(inst) == ["esp_message_cancel"]
    assert send_message(inst, "cancel_requested", {}, now=T0) is False


@pytest.mark.parametrize("pid,data", [("esp_error", {"fault": "pump"}),
                                      ("esp_escalation", {"late_by": 3})])
def test_event_subprocess_sees_the_data_of_the_running_case(esp, roundtrip, pid, data):
    run = runner(esp[pid], roundtrip)
    inst = run.start({"customer": "Ada"}, now=T0)
    complete(inst, f"{pid}_work", data, now=T0)
    handler = next(t for t in run.again(inst).ready_tasks() if t.element_id != f"{pid}_finish")
    assert handler.data == {"customer": "Ada", **data}


def test_spiffworkflow_event_subprocess_model(roundtrip):
    """SpiffWorkflow's own event-subprocess.bpmn (from the shared corpus): a signal thrown inside
    starts an interrupting event subprocess that sees the data set just before."""
    path = CORPUS / "executable" / "spiffwf_event-subprocess.bpmn"
    process = compile_processes(path.read_bytes(), path.name)["main"]
    run = runner(process, roundtrip)
    inst = run.start(now=T0)
    assert inst.subscriptions() == [Subscription("signal", "start_sub", "Event_0rfrdxr", {})]
    complete(inst, "set_data", {"v1": True, "v2": False}, now=T0)
    inst = run.again(inst)
    assert ready_ids(inst) == ["task"] and inst.ready_tasks()[0].data == {"v1": True, "v2": False}
    complete(inst, "task", now=T0)
    assert inst.is_completed
