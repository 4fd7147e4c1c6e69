"""Signals a process throws, handed to the case layer (engine/signals.take_thrown): intermediate
throw and signal end events, the instance's own catches taking them first, and signal start
events passed with the signal's payload; plain and after save/restore round trips."""
from __future__ import annotations

import pytest

from engine import runtime
from engine.definitions import compile_processes, process_from_spec_json
from engine.signals import ThrownSignal, caught_signals, start_signals, take_thrown
from tests.conftest import T0

from .helpers import DATA, Runner, complete, ready_ids


@pytest.fixture(scope="module")
def processes():
    return compile_processes((DATA / "signal_relay.bpmn").read_bytes(), "signal_relay.bpmn")


@pytest.fixture(params=[False, True], ids=["plain", "roundtrip"])
def roundtrip(request):
    return request.param


def _runner(process, roundtrip):
    if roundtrip:
        process = process_from_spec_json(process.process_id, process.spec_json())
    return Runner(process, roundtrip)


def test_a_thrown_signal_is_handed_over_once_after_its_own_catch_took_it(processes, roundtrip):
    run = _runner(processes["outage_fix"], roundtrip)
    inst = run.start(now=T0)
    assert take_thrown(inst) == []
    complete(inst, "Fix", {"area": "D4", "fail": "no"}, now=T0)
    assert take_thrown(inst) == [ThrownSignal("outage_cleared", {"area": "D4"}, "Cleared",
                                              caught_here=True)]
    assert take_thrown(inst) == []
    assert ready_ids(inst) == ["Close", "TellTeam"]  # its own event subprocess caught it
    inst = run.again(inst)
    assert take_thrown(inst) == [], "a thrown signal is never part of the saved state"
    assert inst.workflow.bpmn_events == []


def test_a_signal_end_event_throws_its_signal(processes, roundtrip):
    """SpiffWorkflow 3.2 parses a signal end event as a plain end; Caseflow's parser reads it."""
    run = _runner(processes["outage_fix"], roundtrip)
    inst = run.start(now=T0)
    complete(inst, "Fix", {"area": "D4", "fail": "no"}, now=T0)
    take_thrown(inst)
    inst = run.again(inst)
    complete(inst, "TellTeam", now=T0)
    complete(inst, "Close", now=T0)
    assert take_thrown(inst) == [ThrownSignal("outage_closed", None, "FixEnd", caught_here=False)]
    assert inst.is_completed


def test_signal_starts_and_catches_are_named_per_process(processes):
    assert start_signals(processes["outage_survey"]) == {"outage_cleared": "SurveyStart"}
    assert start_signals(processes["outage_fix"]) == {}  # an event subprocess's start: no
    assert caught_signals(processes["outage_fix"]) == {"outage_cleared"}  # not outage_closed
    assert caught_signals(processes["outage_restore"]) == {"outage_cleared"}


def test_a_signal_start_event_takes_the_payload_into_its_variable(processes, roundtrip):
    process = processes["outage_survey"]
    if roundtrip:
        process = process_from_spec_json(process.process_id, process.spec_json())
    inst = runtime.start(process, {"area": "D4"}, now=T0, start_event="SurveyStart",
                         start_payload={"area": "D4"})
    inst = Runner(process, roundtrip).again(inst)
    assert ready_ids(inst) == ["Survey"]
    assert inst.data == {"area": "D4", "cleared": {"area": "D4"}}
