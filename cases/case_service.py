"""Opening cases and completing their steps: load -> engine -> save state, projection, events -> commit once."""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator, Mapping

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from engine import store
from engine.errors import FormInvalid, ScriptFailed, TaskNotReady
from engine.messages import SentMessage, send_message, take_sent
from engine.runtime import Instance
from engine.signals import ThrownSignal, take_thrown
from engine.store import WorkflowInstance

from . import duties, events, policy
from .case_models import CHANNELS, Case, WorkItem, minutes_between
from .case_snapshot import PENDING_COUNT, CaseSnapshot, snapshot
from .customers import get_customer
from .external_tasks.projection import project as project_external
from .errors import CaseError, Conflict, Forbidden, InvalidInput, NotFound, ProcessFailed
from .jobs import service as jobs
from .search import index as search_index  # keeps each case's search text current
from .links.repeat import flag_repeat_contact
from .relay import service as relay
from .relay import signals as relay_signals
from .subscriptions import service as subscriptions
from .sla import promised_at
from .start_forms import checked_start_data
from .users import User
from .work_items import project, require_team


def get_case(session: Session, case_id: int) -> Case:
    """Return a case or raise NotFound."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"No case {case_id}")
    return case


def open_case(session: Session, *, actor: User, now: datetime, customer_id: int, process_id: str,
              channel: str, priority: int = 0, contacted_at: datetime | None = None,
              data: Mapping[str, Any] | None = None, time_limit: float = 2.0,
              lane_teams: Mapping[str, str] | None = None, start_event: str | None = None,
              definition: store.DefinitionVersion | None = None) -> Case:
    """Open a case on the active version of a process and project its first steps. Commit once.

    The data must satisfy the process's start form, if it has one (StartFormInvalid names every
    bad field; nothing is stored). A timer start (cases/jobs/timer_starts.py) passes its version
    and `start_event`."""
    try:
        case = add_case(session, actor=actor, now=now, customer_id=customer_id,
                        process_id=process_id, channel=channel, priority=priority,
                        contacted_at=contacted_at, data=data, time_limit=time_limit,
                        lane_teams=lane_teams, start_event=start_event, definition=definition)
        session.commit()
    except ScriptFailed as err:
        session.rollback()
        raise ProcessFailed(f"The process failed before its first step: {err}. Nothing was "
                            "opened; a designer must fix the model", err.element_id) from None
    except Exception:
        session.rollback()
        raise
    return case


# A case a message or signal opened may throw what opens the next: a model that starts on what
# it throws would open cases without end. Past this many cases in a row, each opened by the one
# before, the next is refused (an incident on the sender, cases/relay), never opened.
MAX_CHAIN = 20


class StartLoop(CaseError):
    """A message or signal would open a case further down a chain than MAX_CHAIN allows."""


def _chain(session: Session, sender_case_id: int) -> int:
    """How many cases in a row, each opened by the one before, the new case would end: the
    sender's own place (from its `case_opened` event) plus one. StartLoop past MAX_CHAIN."""
    details = session.execute(sa.select(events.CaseEvent.details).where(
        events.CaseEvent.case_id == sender_case_id, events.CaseEvent.type == "case_opened")
    ).scalar()
    before = json.loads(details or "{}").get("chain", 0)
    if before + 1 > MAX_CHAIN:
        raise StartLoop(f"Case {sender_case_id} comes after {before} cases in a row, each opened "
                        f"by a message or signal of the one before: the models seem to start on "
                        f"what they throw, so Caseflow opens no more cases from it. Change the "
                        f"model, then resolve this incident.")
    return before + 1


def add_case(session: Session, *, actor: User, now: datetime, customer_id: int, process_id: str,
             channel: str, priority: int = 0, contacted_at: datetime | None = None,
             data: Mapping[str, Any] | None = None, time_limit: float = 2.0,
             lane_teams: Mapping[str, str] | None = None, start_event: str | None = None,
             definition: store.DefinitionVersion | None = None,
             message: SentMessage | None = None, sender_case_id: int | None = None,
             signal: tuple[str, Any] | None = None) -> Case:
    """Open a case inside the caller's transaction (session.add and flush only).

    With `message` (thrown by case `sender_case_id`, cases/relay) the process's message start
    event takes that message at once (MessageNotExpected if the process has no use for it).
    With `signal` ((name, payload) thrown by case `sender_case_id`) the case starts through
    `start_event`, the signal start event catching it, which takes the payload."""
    if channel not in CHANNELS:
        raise InvalidInput({"channel": f"Choose one of {', '.join(CHANNELS)}"}, {"channel": channel})
    get_customer(session, customer_id)
    version = definition or store.active_version(session, process_id)
    if version is None:
        raise NotFound(f"No active definition for process '{process_id}'")
    contacted_at = contacted_at or now
    chain = _chain(session, sender_case_id) if sender_case_id is not None else 0
    # Only an agent (or the API) opening a case fills the start form: not a timer, not a message.
    form = store.compiled(version).start_form if start_event is None and message is None else None
    data = checked_start_data(form, data or {})  # StartFormInvalid before anything is stored
    # The waits' digest goes into the saved state, so the first step does not rewrite
    # subscriptions that did not change.
    row, live = store.create_instance(session, version, data, now=now, time_limit=time_limit,
                                      start_event=start_event,
                                      start_payload=signal[1] if signal else None,
                                      before_save=subscriptions.changed)
    if message is not None:  # a parallel multiple start may wait for more messages yet
        send_message(live, message.name, message.payload, now=now,
                     correlation=message.correlation or None)
    case = Case(customer_id=customer_id, definition_id=version.id, instance_id=row.id,
                process_id=process_id, channel=channel, priority=priority,
                contacted_at=contacted_at, opened_at=now, opened_by=actor.username,
                promised_at=promised_at(session, version.id, process_id, contacted_at))
    session.add(case)
    session.flush()
    opened_by = ({"message": message.name, "sender_case_id": sender_case_id, "chain": chain}
                 if message else {"signal": signal[0], "sender_case_id": sender_case_id,
                                  "chain": chain} if signal else {})
    events.record(session, case, "case_opened", actor=actor.username, at=now, details={
        "process_id": process_id, "version": version.version, "channel": channel,
        "priority": priority, "customer_id": customer_id,
        "contacted_at": contacted_at.isoformat(), **opened_by,
        **({"start_data": {f.id: data.get(f.id) for f in form.fields if not f.readonly}}
           if form is not None else {})})
    if start_event is None and message is None:  # a timer's or a message's case: no contact
        flag_repeat_contact(session, case, now=now)  # the customer coming back (cases/links)
    thrown = take_sent(live)
    if message is not None or thrown:  # the state as it is now, without what was taken
        subscriptions.changed(live)
        store.save_instance(session, row, live, now=now)
    _after_engine(session, case, live, actor=actor, now=now, lane_teams=lane_teams,
                  external=live.process.has_external_tasks, thrown=thrown,
                  signals=take_thrown(live))
    jobs.sync_timer(session, case.id, row.next_timer_due, now=now)
    subs = subscriptions.sync(session, case.id, live)
    relay.wake(session, relay.waiting_message_names(subs), now=now)
    return case


def complete_step(session: Session, *, actor: User, now: datetime, case_id: int, work_item_id: int,
                  data: Mapping[str, Any], expected_version: int, time_limit: float = 2.0,
                  lane_teams: Mapping[str, str] | None = None) -> Case:
    """Complete a step of a case with form data; all or nothing. Commit once.

    Raises InvalidInput (per-field errors) when the form refuses the data and Conflict when the
    case changed since `expected_version`; both carry the submitted data back.
    """
    return _complete(session, actor=actor, now=now, case_id=case_id, work_item_id=work_item_id,
                     data=data, expected_version=expected_version, time_limit=time_limit,
                     lane_teams=lane_teams).case


def complete_step_answer(session: Session, *, actor: User, now: datetime, case_id: int,
                         work_item_id: int, data: Mapping[str, Any],
                         expected_version: int) -> CaseSnapshot:
    """complete_step, returning the case as the API answers it: its open steps come from the
    action's own projection, and pending approvals are read only if the lock saw any."""
    action = _complete(session, actor=actor, now=now, case_id=case_id,
                       work_item_id=work_item_id, data=data, expected_version=expected_version)
    items = sorted((i for i in action.open_items if i.state == "open"), key=lambda i: i.id)
    return snapshot(session, action.case, items=items,
                    approvals=None if action.pending_approvals else [])


def _complete(session: Session, *, actor: User, now: datetime, case_id: int, work_item_id: int,
              data: Mapping[str, Any], expected_version: int, time_limit: float = 2.0,
              lane_teams: Mapping[str, str] | None = None) -> "EngineAction":
    submitted = dict(data)
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version, submitted=submitted,
                       time_limit=time_limit, lane_teams=lane_teams) as action:
        case, live = action.case, action.live
        # Every open item of the case, read once: the one to complete, what the projection
        # compares with the ready steps, and (with the new ones) what the answer lists.
        action.open_items = open_items(session, case.id)
        item = _open_item(session, case, work_item_id, submitted, actor, action.open_items)
        try:
            cleaned = live.complete(item.task_id, submitted, now=now)
        except FormInvalid as err:
            raise InvalidInput(err.errors, submitted) from None
        except TaskNotReady:
            raise Conflict("That step is no longer waiting; reload the case", submitted) from None
        _mark_done(session, item, now, actor.id)
        events.record(session, case, "task_completed", actor=actor.username, at=now,
                      element_id=item.element_id,
                      details={"work_item_id": item.id, "data": cleaned})
    return action


def _mark_done(session: Session, item: WorkItem, now: datetime, actor_id: int) -> None:
    """The step is done: record when, by whom and the minutes it took, in one Core UPDATE now
    and on the object as stored (the ORM's flush of one changed row cost several times the
    statement, on every completion)."""
    done = {"state": "done", "completed_at": now, "assignee_id": actor_id,
            "minutes_spent": minutes_between(item.created_at, now)}
    session.execute(_DONE, {**done, "item_id": item.id})
    for key, value in done.items():
        set_committed_value(item, key, value)


_ITEMS = WorkItem.__table__
_DONE = _ITEMS.update().where(_ITEMS.c.id == sa.bindparam("item_id"))


@dataclass
class EngineAction:
    """What an action inside `engine_action` works on; `live` is None when the engine is not loaded."""

    case: Case
    row: WorkflowInstance | None
    live: Instance | None
    due_overrides: dict[str, datetime] = field(default_factory=dict)
    assignees: dict[str, int] = field(default_factory=dict)  # task id -> user, for reopened steps
    sync_timer: bool = False  # write the timer job even if the due time looks unchanged
    # The case's open items, if the body read them (open_items): the projection then reads
    # none, and the ones it opens are added here.
    open_items: list[WorkItem] | None = None
    pending_approvals: int = 0  # the case's pending approval requests when it was locked


@contextmanager
def engine_action(session: Session, *, actor: User, now: datetime, case_id: int,
                  expected_version: int, submitted: dict | None = None,
                  statuses: tuple[str, ...] = ("open",), load: bool = True,
                  time_limit: float = 2.0, lane_teams: Mapping[str, str] | None = None,
                  incidents: bool = True) -> Iterator[EngineAction]:
    """Lock the case, load its instance, run the body, then save, re-project, record and commit once.

    Any error rolls everything back; a concurrent writer surfaces as Conflict. When the model
    fails (ScriptFailed), the failure is recorded as an incident on the case in a transaction of
    its own (unless `incidents` is false: the job executor counts its own attempts) and the
    person gets a ProcessFailed naming the element.
    """
    submitted = submitted if submitted is not None else {}
    try:
        case, pending = _lock(session, case_id, expected_version, submitted, statuses)
        row, live = (store.load_instance(session, case.instance_id, time_limit=time_limit)
                     if load else (None, None))
        action = EngineAction(case, row, live, pending_approvals=pending)
        loaded_on = row.definition_id if row is not None else None
        loaded_state = row.state if row is not None else None
        loaded_digest = row.data_digest if row is not None else None
        yield action
        if live is not None:
            timer_before = row.next_timer_due
            subscribed = subscriptions.changed(live)
            thrown = take_sent(live)  # before saving: the saved state no longer holds them
            signals = take_thrown(live)  # never saved: taken here or lost
            try:
                store.save_instance(session, row, live, now=now)
            except store.StaleState:
                raise Conflict("Someone else changed this case meanwhile; reload and retry",
                               submitted) from None
            search_index.note_states(session, case.id, loaded=loaded_state,
                                     loaded_digest=loaded_digest,
                                     saved_values=live.saved_data_values)
            # External task rows exist only for processes that have such tasks, or for a case
            # just moved off a version that had them (version migration).
            external = live.process.has_external_tasks or row.definition_id != loaded_on
            _after_engine(session, case, live, actor=actor, now=now, lane_teams=lane_teams,
                          due_overrides=action.due_overrides, assignees=action.assignees,
                          external=external, open_items=action.open_items, thrown=thrown,
                          signals=signals)
            if row.next_timer_due != timer_before or action.sync_timer:
                jobs.sync_timer(session, case.id, row.next_timer_due, now=now)
            if subscribed:
                subs = subscriptions.sync(session, case.id, live)
                relay.wake(session, relay.waiting_message_names(subs), now=now)
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        raise Conflict("Someone else changed this case meanwhile; reload and retry", submitted) from None
    except ScriptFailed as err:
        session.rollback()
        if not incidents:
            raise
        raise _incident(session, case_id, err, now=now, submitted=submitted) from None
    except Exception:
        session.rollback()
        raise


def _incident(session: Session, case_id: int, err: ScriptFailed, *, now: datetime,
              submitted: dict) -> ProcessFailed:
    """Record a failure of the model during a person's action; return the error to raise."""
    from .incidents.service import record_failure

    incident = record_failure(session, case_id=case_id, element_id=err.element_id,
                              source="action", error=str(err), now=now)
    return ProcessFailed(f"The process could not go on: {err}. Nothing was saved; a supervisor "
                         f"sees it as incident {incident.id}. Try again once it is fixed.",
                         err.element_id, incident.id, submitted)


def _lock(session: Session, case_id: int, expected_version: int, submitted: dict,
          statuses: tuple[str, ...] = ("open",)) -> tuple[Case, int]:
    """Bump the case's row version if it is still the one the user saw; raise Conflict otherwise.
    Return the case and how many approval requests it has pending.

    The conditional UPDATE also holds the row (PostgreSQL) or the database (SQLite) for the rest
    of the transaction, so writers to one case queue instead of interleaving.
    """
    # One statement bumps the version and reads back the row as it is now (what the winner of
    # any race wrote before us); only a refusal needs a second look, to say why.
    found = session.execute(_LOCK, {"case_id": case_id, "seen": expected_version,
                                    "next": expected_version + 1}).first()
    case, waiting = found if found is not None else (None, 0)
    if case is None:
        get_case(session, case_id)
        raise Conflict("Someone else changed this case meanwhile; reload and retry", submitted)
    if case.status not in statuses:
        raise Conflict(f"The case is {case.status.replace('_', ' ')}", submitted)
    return case, waiting


def open_items(session: Session, case_id: int) -> list[WorkItem]:
    """Every open item of a case (escalations too), read afresh, oldest first."""
    return list(session.execute(_OPEN_ITEMS, {"case_id": case_id}).scalars())


# Every action on a case runs these: built once (building a statement costs about as much as
# running it). The lock bumps the version if it is still the one the user saw, and reads back
# the row as it is now (what the winner of any race wrote before us) with a count of its
# pending approval requests (cases/case_snapshot.py: by parameter, as SQLite needs).
_LOCK = (sa.update(Case)
         .where(Case.id == sa.bindparam("case_id"), Case.row_version == sa.bindparam("seen"))
         .values(row_version=sa.bindparam("next")).returning(Case, PENDING_COUNT)
         .execution_options(synchronize_session=False, populate_existing=True))
_OPEN_ITEMS = (select(WorkItem).where(WorkItem.case_id == sa.bindparam("case_id"),
                                      WorkItem.state == "open")
               .order_by(WorkItem.id).execution_options(populate_existing=True))


def _open_item(session: Session, case: Case, work_item_id: int, submitted: dict,
               actor: User, items: list[WorkItem]) -> WorkItem:
    """Return the open work item among `items`; refuse one that someone else holds."""
    item = next((i for i in items if i.id == work_item_id), None)
    if item is None:  # not open: say whether it is done, gone or another case's
        item = session.get(WorkItem, work_item_id, populate_existing=True)
    if item is None or item.case_id != case.id:
        raise NotFound(f"No work item {work_item_id} on case {case.id}")
    if item.state != "open":
        raise Conflict(f"That step is already {item.state}; reload the case", submitted)
    if item.assignee_id not in (None, actor.id) and actor.role not in ("supervisor", "admin"):
        raise Forbidden("Someone else has claimed this step; ask them or a supervisor to release it")
    require_team(actor, item)
    step = duties.action_step(session, case, "complete", {"work_item_id": item.id, "data": submitted})
    if policy.decide(actor, "complete", step) != "allowed":
        raise Forbidden("Completing this step needs a supervisor")  # no such cell today
    return item


def _after_engine(session: Session, case: Case, live: Instance, *, actor: User, now: datetime,
                  lane_teams: Mapping[str, str] | None,
                  due_overrides: Mapping[str, datetime] | None = None,
                  assignees: Mapping[str, int] | None = None, external: bool = True,
                  open_items: list[WorkItem] | None = None,
                  thrown: list[SentMessage] | None = None,
                  signals: list[ThrownSignal] | None = None) -> None:
    """Record what the engine did and the messages and signals it threw (cases/relay), re-project work items
    (and external tasks, if the process may have any) and resolve a finished case. `open_items`,
    if given, are the case's open items as this action read them (the projection then reads
    none, and adds the new ones)."""
    events.record_engine_events(session, case, live.drain_events(), actor="engine", at=now)
    if thrown:
        relay.record_thrown(session, case, thrown, now=now)
    if signals:
        relay_signals.record_thrown(session, case, signals, now=now)
    opened = project(session, case, live, now=now, lane_teams=lane_teams,
                     due_overrides=due_overrides, assignees=assignees, open_items=open_items)
    if open_items is not None:
        open_items.extend(opened)
    if external:
        project_external(session, case, live, now=now)
    if live.is_completed and case.status == "open":
        case.status, case.closed_at = "resolved", now
        session.add(case)
        events.record(session, case, "case_resolved", actor=actor.username, at=now)


__all__ = ["open_case", "add_case", "complete_step", "complete_step_answer", "get_case",
           "engine_action", "EngineAction", "CaseError"]
