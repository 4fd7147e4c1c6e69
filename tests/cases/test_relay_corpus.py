"""SpiffWorkflow's own files whose processes exchange messages, run through Caseflow's case layer
end to end: each process a case, opened by hand unless its start event waits for a message,
every step done through the case services, and every message one case throws delivered by the
job executor alone (cases/relay) - the part tests/engine/test_spiffworkflow_corpus.py has its
harness play. A file passes when every case it opened is resolved, no message is left waiting
and no incident was opened."""
from __future__ import annotations

import itertools

import pytest
from sqlmodel import select

from cases.case_models import Case, WorkItem
from cases.case_service import complete_step, open_case
from cases.definitions import deploy_file
from cases.events import CaseEvent
from cases.incidents.models import Incident
from cases.jobs.executor import Executor
from cases.jobs.models import Job
from cases.relay.service import KIND
from engine import store
from engine.messages import start_messages
from tests.conftest import T0
from tests.engine.test_spiffworkflow_corpus import CORPUS, DEPLOYED_FIRST, EXCHANGES

_numbers = itertools.count(1)
# The harness answers both instances of spiff__correlation's multi-instance subprocess with the
# same task number; through cases each needs its own, or one response would be taken by both
# waiting receive tasks and the other would find no receiver (which the harness leaves unsaid).
ANSWERS = {**{name: answers for name, (_, answers) in EXCHANGES.items()},
           "spiff__correlation.bpmn": {"*": lambda: {
               "task_num": next(_numbers), "task_name": "subprocess", "extra_data": "unused",
               "response": "OK"}}}


def _deploy(session, name):
    return deploy_file(session, (CORPUS / name).read_bytes(), filename=name, actor="designer",
                       now=T0, activate=True)


def _answer(answers, item):
    answer = answers.get(item.element_id, answers.get("*", {}))
    return answer() if callable(answer) else dict(answer)


def _run(session, people, customer, clock, name) -> list[Case]:
    for called in DEPLOYED_FIRST.get(name, []):
        _deploy(session, called)
    start, answers = EXCHANGES[name][0], ANSWERS[name]
    opened = []
    for version in _deploy(session, name).versions:
        if not start_messages(store.compiled_by_id(session, version.id)):
            opened.append(open_case(session, actor=people.sam, now=clock.now,
                                    customer_id=customer.id, process_id=version.process_id,
                                    channel="phone", data=dict(start)))
    executor = Executor(session.get_bind(), clock=clock)
    for _ in range(100):
        executor.run_until_idle()
        item = session.exec(select(WorkItem).where(WorkItem.state == "open")
                            .order_by(WorkItem.id)).first()
        if item is None:
            if all(c.status != "open" for c in _cases(session)):
                return _cases(session)
            clock.advance(days=1)  # a timer may be what the cases wait for
            continue
        case = session.get(Case, item.case_id, populate_existing=True)
        complete_step(session, actor=people.sam, now=clock.now, case_id=case.id,
                      work_item_id=item.id, data=_answer(answers, item),
                      expected_version=case.row_version)
    return _cases(session)


def _cases(session) -> list[Case]:
    return session.exec(select(Case).order_by(Case.id)
                        .execution_options(populate_existing=True)).all()


@pytest.mark.parametrize("name", sorted(EXCHANGES))
def test_processes_that_exchange_messages_run_through_caseflow(session, people, customer,
                                                               clock, name):
    cases = _run(session, people, customer, clock, name)
    assert len(cases) >= 2
    assert [(c.process_id, c.status) for c in cases if c.status != "resolved"] == []
    assert session.exec(select(Incident.error)).all() == []
    assert session.exec(select(Job.key).where(Job.kind == KIND)).all() == []
    thrown = session.exec(select(CaseEvent).where(CaseEvent.type == "message_thrown")).all()
    assert thrown and all('"destination":"case"' in e.details for e in thrown)
    # each thrown message reached one case exactly once: handed to a waiting case, or opening one
    handed = session.exec(select(CaseEvent).where(CaseEvent.type == "message_sent")).all()
    opened = session.exec(select(CaseEvent).where(CaseEvent.type == "case_opened")).all()
    assert len(thrown) == (len([e for e in handed if '"from_case_id"' in e.details])
                           + len([e for e in opened if '"sender_case_id"' in e.details]))
