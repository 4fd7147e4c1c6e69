"""The shipped process library: every scenario runs to its end, plain and across save/restore, the
scenarios together take every flow, and each file follows the modeling conventions and validates
clean."""
from __future__ import annotations

import ast
from datetime import timedelta

import pytest

from engine.metadata import PHASES, parse_duration, read_metadata
from engine.validate import validate_bpmn
from tests.conftest import T0

from .harness import (BPMN_DIR, CONTACT, PROCESS_IDS, Run, bpmn_path, reached_ends,
                      sequence_flows, shipped_decisions, taken_flows, tree)
from .scenarios import (_ACKNOWLEDGED, _ASKED, _COMPLAINT, _FAULT, _JUSTIFIED, _LINKED, _OUTAGE,
                        _PUT_RIGHT, _SEVEN_DAYS, SCENARIOS)

HUMAN = ("userTask", "manualTask")
SYSTEMS = ("CRM", "billing system", "network inventory", "workforce scheduling")
CASES = [(pid, scenario) for pid in PROCESS_IDS for scenario in SCENARIOS.get(pid, [])]


@pytest.fixture(params=[False, True], ids=["plain", "roundtrip"])
def roundtrip(request):
    return request.param


def _info(process_id: str):
    return read_metadata(tree(process_id)).process(process_id)


@pytest.mark.parametrize("process_id,scenario", CASES, ids=[f"{p}-{s}" for p, s in CASES])
def test_scenario_runs_to_its_end(process_id, scenario, roundtrip):
    run = Run(process_id, roundtrip, T0)
    instance = run.play(scenario)
    assert run.ready_ids() == ()
    assert instance.is_completed
    assert set(scenario.ends) <= reached_ends(instance)


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_scenarios_cover_every_flow(process_id):
    taken = set()
    for scenario in SCENARIOS[process_id]:
        taken |= taken_flows(Run(process_id, False, T0).play(scenario))
    missing = sequence_flows(process_id) - taken
    assert not missing, f"no scenario goes along {sorted(missing)}"


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_file_validates_without_problems(process_id):
    path = bpmn_path(process_id)
    report = validate_bpmn(path.read_bytes(), path.name, decisions=shipped_decisions())
    assert report.problems == []


def test_shipped_decision_tables_check_clean():
    from engine.dmn import dmn_problems

    for path in sorted(BPMN_DIR.glob("*.dmn")):
        assert dmn_problems(path.read_bytes(), path.name) == [], path.name


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_process_states_its_promise_and_phase(process_id):
    info = _info(process_id)
    assert info.executable and info.name
    assert info.sla and parse_duration(info.sla)
    assert info.phase in PHASES


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_every_human_step_says_who_what_how_and_has_a_form_and_sla(process_id):
    info = _info(process_id)
    human = [n for n in info.nodes if n.type in HUMAN]
    assert human
    for node in human:
        assert node.lane, f"{node.id} is in no lane"
        assert node.documentation and any(s in node.documentation for s in SYSTEMS), \
            f"{node.id}: documentation must say what is done in which information system"
        assert node.type == "manualTask" or node.form is not None, f"{node.id} has no form"
        assert node.sla and parse_duration(node.sla), f"{node.id} has no caseflow.sla"


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_every_lane_is_a_team_that_does_work(process_id):
    info = _info(process_id)
    assert len(info.lanes) >= 2
    working = {n.lane for n in info.nodes if n.type in HUMAN}
    assert working == set(info.lanes)


def _decided(process_id: str) -> set[str]:
    """The outputs of the decision tables a process's business rule tasks evaluate."""
    from engine.dmn import read_decisions
    from engine.dmn_task import decision_ref

    used = {decision_ref(t) for t in tree(process_id).iter(
        "{http://www.omg.org/spec/BPMN/20100524/MODEL}businessRuleTask")}
    outputs = set()
    for decision_id, data in shipped_decisions().items():
        if decision_id in used:
            outputs |= {o for d in read_decisions(data) if d.id == decision_id for o in d.outputs}
    return outputs


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_decisions_are_conditions_on_form_data(process_id):
    info = _info(process_id)
    fields = {f.id for n in info.nodes if n.form for f in n.form.fields}
    fields |= _decided(process_id)  # what the process's decision tables decide
    gateways = {n.id for n in info.nodes if n.type == "exclusiveGateway"}
    for gateway in gateways:
        outgoing = [f for f in info.flows if f.source == gateway]
        if len(outgoing) < 2:
            continue
        assert sum(f.is_default for f in outgoing) <= 1
        for flow in outgoing:
            assert flow.condition or flow.is_default, f"{flow.id}: no condition and not the default"
            if flow.condition:
                names = {n.id for n in ast.walk(ast.parse(flow.condition, mode="eval"))
                         if isinstance(n, ast.Name)}
                unknown = names - fields
                assert names and not unknown, f"{flow.id} tests {unknown}: no form has it"


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_repeat_contacts_are_caught_without_interrupting_the_work(process_id):
    info = _info(process_id)
    root = tree(process_id)
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    message_ids = {m.get("id") for m in root.findall("bpmn:message", ns)
                   if m.get("name") == CONTACT}
    catches = [b for b in root.iter(f"{{{ns['bpmn']}}}boundaryEvent")
               if b.find("bpmn:messageEventDefinition", ns) is not None]
    assert catches, "no boundary event catches a repeat contact"
    for boundary in catches:
        assert boundary.get("cancelActivity") == "false"
        assert boundary.find("bpmn:messageEventDefinition", ns).get("messageRef") in message_ids
        # a step that waits: a person's, or an external task waiting for its worker
        assert info.node(boundary.get("attachedToRef")).type in (*HUMAN, "serviceTask")


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_element_ids_do_not_collide_with_engine_internals(process_id):
    ids = {el.get("id") for el in tree(process_id).iter() if isinstance(el.tag, str)}
    assert not ids & {"Start", "End"}


def test_timer_fires_when_the_clock_reaches_its_due_time():
    run = Run("restore_service", False, T0)
    run.step(_FAULT)
    due = run.instance.next_timer_due()
    run.instance.advance(now=due - timedelta(seconds=1))
    assert "Task_ExpediteRestoration" not in run.ready_ids()
    run.instance.advance(now=due)
    assert "Task_ExpediteRestoration" in run.ready_ids()


@pytest.mark.parametrize("process_id,steps,waits_for,due_in", [
    ("complaint", (_COMPLAINT, _ACKNOWLEDGED, _JUSTIFIED, _PUT_RIGHT, _SEVEN_DAYS, _ASKED),
     ("message", "customer_replied", "Event_CustomerReplied"), timedelta(days=3)),
    ("restore_service", (_FAULT, _OUTAGE, _LINKED),
     ("signal", "mass_outage_cleared", "Event_OutageCleared"), timedelta(hours=12)),
], ids=["complaint-awaiting_the_reply", "restore_service-awaiting_the_outage"])
def test_a_case_at_an_event_based_gateway_says_what_it_waits_for(process_id, steps, waits_for,
                                                                 due_in, roundtrip):
    """The case layer wakes the timer branch and routes the event by what the instance reports."""
    run = Run(process_id, roundtrip, T0)
    for step in steps:
        run.step(step)
    assert run.ready_ids() == ()
    assert run.instance.next_timer_due() == run.now + due_in
    assert waits_for in {(s.kind, s.name, s.element_id) for s in run.instance.subscriptions()}
