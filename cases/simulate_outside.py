"""What the world outside does in a simulated history: customers answer what a case asks them, and
mass outages clear. Through the case services only, like the rest of `caseflow simulate`.

- A complaint's check-back question (*Ask the customer whether it stayed solved*) gets a written
  reply (message `customer_replied`) from a share of customers well within the 3 days the process
  waits; the others get the follow-up call when the timer runs out.
- A restore case linked to a mass outage waits for the broadcast `mass_outage_cleared`. Most outages
  clear within the 12 hours before the process takes a second look; one broadcast releases every
  case waiting at that moment, as `caseflow signal` does, and the job executor delivers it.
- External tasks are fetched and locked by a simulated worker a few minutes after they appear and
  completed with the topic's result, or (`external_error_rate`) answered with the topic's BPMN
  error, which the model's error boundary sends to a person.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from engine import store

from .case_models import Case
from .external_tasks import service as external
from .messages import deliver_message
from .subscriptions.signals import broadcast

if TYPE_CHECKING:
    from .simulate import Simulation

ASKS_FOR_REPLY = ("complaint", "Task_AskCustomer")
REPLY = "customer_replied"
REPLY_WITHIN = (timedelta(hours=2), timedelta(hours=60))  # the process waits 3 days
LINKS_TO_OUTAGE = ("restore_service", "Task_LinkOutage")
OUTAGE_CLEARED = "mass_outage_cleared"
CLEARS_WITHIN = (timedelta(hours=1), timedelta(hours=10))  # the second look comes after 12 hours
NETWORK_TEAM = "Network Operations"


def _later(sim: "Simulation", at: datetime, window: tuple[timedelta, timedelta]) -> datetime:
    low, high = (w.total_seconds() for w in window)
    return at + timedelta(seconds=sim.rnd.uniform(low, high))


def after_step(sim: "Simulation", at: datetime, case: Case, element_id: str) -> None:
    """Schedule the outside world's answer to a step just completed, and wake the case then."""
    step = (case.process_id, element_id)
    if step == ASKS_FOR_REPLY and sim.rnd.random() < sim.p.reply_rate:
        when = _later(sim, at, REPLY_WITHIN)
        sim.push(when, "reply", case.id)
        sim.wake[case.id] = when
    elif step == LINKS_TO_OUTAGE:
        if sim.outage_clears_at is None or sim.outage_clears_at <= at:
            sim.outage_clears_at = None
            if sim.rnd.random() < sim.p.outage_clear_rate:
                sim.outage_clears_at = _later(sim, at, CLEARS_WITHIN)
                sim.push(sim.outage_clears_at, "outage_cleared", 0)
        if sim.outage_clears_at is not None:
            sim.wake[case.id] = sim.outage_clears_at


def reply(sim: "Simulation", at: datetime, case_id: int) -> None:
    """The customer answers the check-back question, if the case still waits for it."""
    case = sim.s.get(Case, case_id, populate_existing=True)
    if case is None or case.status not in ("open", "on_hold"):
        return
    _, live = store.load_instance(sim.s, case.instance_id)
    waiting = REPLY in live.waiting_messages()
    sim.s.rollback()
    if waiting:
        deliver_message(sim.s, actor=sim.users["Customer Care"][0], now=at, case_id=case_id,
                        name=REPLY, payload={"text": "Simulated reply: it stayed solved"},
                        expected_version=case.row_version)
        sim.result.replies += 1


def clear_outage(sim: "Simulation", at: datetime) -> None:
    """Network Operations announces the outage cleared; every waiting restore case goes on."""
    from .jobs.executor import Executor

    released = broadcast(sim.s, actor=sim.users[NETWORK_TEAM][0], now=at, name=OUTAGE_CLEARED)
    sim.s.rollback()
    if released:
        Executor(sim.s.get_bind(), clock=lambda: at, kinds=("signal",)).run_until_idle()
    sim.result.signals += 1


def waits_for_worker(sim: "Simulation", case_id: int) -> bool:
    """Return whether an external task of the case waits for a worker (not in an incident)."""
    return any(t.state == "open" for t in external.for_case(sim.s, case_id))


def work_external(sim: "Simulation", at: datetime, case_id: int) -> None:
    """A worker fetches the case's external tasks and completes them or throws their error."""
    topics = {t.topic: timedelta(minutes=5) for t in external.for_case(sim.s, case_id)
              if t.state == "open"}
    if not topics:
        sim.next(case_id, at)
        return
    worker = sim.users[NETWORK_TEAM][0]
    for locked in external.fetch_and_lock(sim.s, actor=worker, now=at, worker_id="sim-worker",
                                          topics=topics, max_tasks=10):
        task, code = locked.task, sim.p.external_errors.get(locked.task.topic)
        if code and sim.rnd.random() < sim.p.external_error_rate:
            external.throw_error(sim.s, actor=worker, now=at, external_task_id=task.id,
                                 worker_id="sim-worker", error_code=code,
                                 error_message="Simulated: the system could not do it")
        else:
            external.complete(sim.s, actor=worker, now=at, external_task_id=task.id,
                              worker_id="sim-worker",
                              variables=_result(sim, at, task.topic))
        sim.result.external += 1  # another case's task done here: its own wake-up finds it gone
    sim.next(case_id, at)


def _result(sim: "Simulation", at: datetime, topic: str) -> dict:
    """The variables a worker of the topic reports; "{tomorrow}" is the next day's date."""
    tomorrow = (at + timedelta(days=1)).date().isoformat()
    return {k: tomorrow if v == "{tomorrow}" else v
            for k, v in sim.p.external_results.get(topic, {}).items()}
