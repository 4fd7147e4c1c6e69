"""SpiffWorkflow's own files that throw signals, run through Caseflow's case layer with two cases
of the process each: a signal is a broadcast across instances, so what one case throws reaches
the other case waiting for it (by the job executor alone, cases/relay/broadcast.py), while the
thrower's own catches take it inside its instance as SpiffWorkflow does. No corpus file throws a
signal from one process to another; these two throw across instances of one process.
A file passes when both cases are resolved, no incident was opened, no signal job is left and
each thrown signal reached the other case once or found nobody."""
from __future__ import annotations

import json

import pytest
from sqlmodel import select

from cases.case_models import Case, WorkItem
from cases.case_service import complete_step, open_case
from cases.definitions import deploy_file
from cases.events import CaseEvent
from cases.incidents.models import Incident
from cases.jobs.executor import Executor
from cases.jobs.models import Job
from engine import store
from tests.conftest import T0
from tests.engine.test_spiffworkflow_corpus import CORPUS, RUNS

# file -> (signals thrown, deliveries to the other case): what BPMN's broadcast makes of two cases
EXPECTED = {
    # A's throw: its own catch takes it, B's waiting catch hears it; B's throw later finds nobody
    "spiff__signal_event_payload.bpmn": (2, 1),
    # A's throw starts its own event subprocess and B's (interrupting: B's main flow stops, so
    # B never throws)
    "bpmn__event-subprocess.bpmn": (1, 1),
}


def _run(session, people, customer, clock, name) -> list[Case]:
    start, answers, _ = RUNS[name]
    [version] = deploy_file(session, (CORPUS / name).read_bytes(), filename=name,
                            actor="designer", now=T0, activate=True).versions
    for _ in range(2):
        open_case(session, actor=people.sam, now=clock.now, customer_id=customer.id,
                  process_id=version.process_id, channel="phone", data=dict(start))
    executor = Executor(session.get_bind(), clock=clock)
    for _ in range(50):
        executor.run_until_idle()
        item = session.exec(select(WorkItem).where(WorkItem.state == "open")
                            .order_by(WorkItem.id)).first()
        if item is None:
            break
        case = session.get(Case, item.case_id, populate_existing=True)
        answer = answers.get(item.element_id, answers.get("*", {}))
        complete_step(session, actor=people.sam, now=clock.now, case_id=case.id,
                      work_item_id=item.id, data=dict(answer), expected_version=case.row_version)
    return session.exec(select(Case).order_by(Case.id)
                        .execution_options(populate_existing=True)).all()


def _count(session, type_, text=""):
    return len([e for e in session.exec(select(CaseEvent).where(CaseEvent.type == type_)).all()
                if text in e.details])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_signals_thrown_across_instances_run_through_caseflow(session, people, customer, clock,
                                                              name):
    cases = _run(session, people, customer, clock, name)
    assert [(c.id, c.status) for c in cases if c.status != "resolved"] == []
    assert len(cases) == 2
    assert session.exec(select(Incident.error)).all() == []
    assert session.exec(select(Job.key).where(Job.kind.like("signal%"))).all() == []
    thrown, delivered = EXPECTED[name]
    assert _count(session, "signal_thrown") == thrown
    assert _count(session, "signal_sent", '"from_case_id"') == delivered
    for case in cases:  # nobody heard a signal from itself through Caseflow
        for event in session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                          CaseEvent.type == "signal_sent")):
            assert json.loads(event.details)["from_case_id"] != case.id


def test_the_payload_of_a_signal_reaches_the_other_case_as_spiffworkflow_gives_it(
        session, people, customer, clock):
    first, second = _run(session, people, customer, clock, "spiff__signal_event_payload.bpmn")
    [received] = session.exec(select(CaseEvent).where(CaseEvent.type == "signal_received")).all()
    assert (received.case_id, received.element_id) == (second.id, "catch")
    assert json.loads(received.details)["payload"] == {"r1": 1, "r2": 2}
    for case in (first, second):  # the first heard its own throw inside its instance
        _, live = store.load_instance(session, case.instance_id)
        assert live.data["result"] == {"r1": 1, "r2": 2}
