"""Fetch-and-lock, complete, report failures, throw BPMN errors and extend locks of external tasks.

Claiming is one statement on both databases, `UPDATE external_task SET worker, lock ... WHERE id
IN (SELECT ... LIMIT n) RETURNING id`: on PostgreSQL the inner SELECT takes `FOR UPDATE OF
external_task, case_record SKIP LOCKED`, so competing workers skip each other's tasks and any case
a person is changing right now; on SQLite the statement runs under the database write lock. Either
way two workers never get the same task. A lock that expires (its worker died or gave up) makes the
task fetchable again without anything having to run. Every other action holds the case lock
(engine_action) and refuses a worker whose lock is gone with LockNotHeld (409), so a stale
worker's result is never stored.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from engine import store
from engine.errors import ErrorNotCaught, TaskNotReady
from engine.external import complete_external, throw_bpmn_error

from .. import events
from ..case_models import Case
from ..case_service import engine_action
from ..errors import Conflict, InvalidInput, LockNotHeld, NotFound, ProcessFailed
from ..incidents.service import EXTERNAL_SOURCE, add_failure
from ..users import User
from .models import ExternalTask

MAX_TASKS = 100
MAX_LOCK = timedelta(days=7)


@dataclass(frozen=True)
class Locked:
    """A task a worker now holds, with the variables it works on."""

    task: ExternalTask
    variables: dict = field(default_factory=dict)


def get_task(session: Session, external_task_id: int) -> ExternalTask:
    """Return an external task (read afresh) or raise NotFound."""
    row = session.get(ExternalTask, external_task_id, populate_existing=True)
    if row is None:
        raise NotFound(f"No external task {external_task_id}")
    return row


def _durations(topics: Mapping[str, timedelta]) -> dict[str, timedelta]:
    if not topics:
        raise InvalidInput({"topics": "Name at least one topic"})
    for name, duration in topics.items():
        if not name or not timedelta(0) < duration <= MAX_LOCK:
            raise InvalidInput({"topics": f"Topic '{name}': the lock duration must be more than "
                                          "0 and at most 7 days"})
    return dict(topics)


def fetch_and_lock(session: Session, *, actor: User, now: datetime, worker_id: str,
                   topics: Mapping[str, timedelta], max_tasks: int = 1) -> list[Locked]:
    """Lock up to `max_tasks` fetchable tasks of `topics` (name -> lock duration) for `worker_id`,
    oldest first, and return them with their variables. Commit once."""
    durations = _durations(topics)
    if not worker_id or not 1 <= max_tasks <= MAX_TASKS:
        raise InvalidInput({"worker_id" if not worker_id else "max_tasks":
                            "Give a worker id" if not worker_id else f"Between 1 and {MAX_TASKS}"})
    pick = (select(ExternalTask.id).join(Case, Case.id == ExternalTask.case_id)
            .where(ExternalTask.state == "open", ExternalTask.topic.in_(list(durations)),
                   Case.status == "open",
                   sa.or_(ExternalTask.lock_expires_at.is_(None),
                          ExternalTask.lock_expires_at <= now),
                   sa.or_(ExternalTask.retry_at.is_(None), ExternalTask.retry_at <= now))
            .order_by(ExternalTask.created_at, ExternalTask.id).limit(max_tasks))
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True, of=[ExternalTask.__table__, Case.__table__])
    expiry = sa.case({name: now + d for name, d in durations.items()}, value=ExternalTask.topic)
    try:
        ids = session.execute(
            sa.update(ExternalTask).where(ExternalTask.id.in_(pick.scalar_subquery()))
            .values(worker_id=worker_id, lock_expires_at=expiry, updated_at=now)
            .returning(ExternalTask.id).execution_options(synchronize_session=False)).scalars().all()
        locked = [get_task(session, i) for i in sorted(ids)]
        for row in locked:
            _record(session, row, "external_task_locked", actor, now, worker_id=worker_id,
                    lock_expires_at=row.lock_expires_at.isoformat())
        result = [Locked(row, _variables(session, row)) for row in locked]
        session.commit()
    except Exception:
        session.rollback()
        raise
    return result


def _record(session: Session, row: ExternalTask, type: str, actor: User, now: datetime,
            **details: Any) -> None:
    """Append a case event about the task, reading the case's chain head afresh under its lock."""
    case = session.get(Case, row.case_id, populate_existing=True,
                       with_for_update=session.get_bind().dialect.name == "postgresql")
    events.record(session, case, type, actor=actor.username, at=now, element_id=row.element_id,
                  details={"external_task_id": row.id, **details})


def _variables(session: Session, row: ExternalTask) -> dict:
    """Return the data the task sees in its workflow (what a worker works on)."""
    case = session.get(Case, row.case_id)
    _, live = store.load_instance(session, case.instance_id)
    for task in live.external_tasks():
        if task.id == row.task_id:
            return {k: v for k, v in task.data.items() if not k.startswith("_caseflow")}
    return {}


def _held(session: Session, external_task_id: int, worker_id: str, now: datetime) -> ExternalTask:
    row = get_task(session, external_task_id)
    if row.state != "open":
        raise LockNotHeld(f"External task {row.id} is {row.state}; nothing to do")
    if row.worker_id != worker_id or not row.locked(now):
        raise LockNotHeld(f"Worker '{worker_id}' does not hold the lock on external task {row.id} "
                          "(it expired or another worker took it); fetch and lock it again")
    return row


def _act(session: Session, *, actor: User, now: datetime, external_task_id: int, worker_id: str,
         body: Callable, load: bool = True, time_limit: float = 2.0) -> ExternalTask:
    """Run `body(action, row)` under the case lock for the worker holding the task. Commit once."""
    conflict: Conflict | None = None
    for _ in range(3):  # a person may change the case meanwhile: take the lock again
        case_id = get_task(session, external_task_id).case_id
        seen = session.get(Case, case_id, populate_existing=True).row_version
        try:
            with engine_action(session, actor=actor, now=now, case_id=case_id,
                               expected_version=seen, load=load,
                               time_limit=time_limit) as action:
                row = _held(session, external_task_id, worker_id, now)
                body(action, row)
                row.updated_at = now
                session.add(row)
            return get_task(session, external_task_id)
        except LockNotHeld:
            raise
        except Conflict as err:
            fresh = session.get(Case, case_id, populate_existing=True)
            if isinstance(err, ProcessFailed) or fresh.row_version == seen:
                raise  # not a race: the model failed, or the case is not open
            conflict = err
    raise conflict


def _release(row: ExternalTask, state: str) -> None:
    row.state, row.worker_id, row.lock_expires_at = state, None, None


def complete(session: Session, *, actor: User, now: datetime, external_task_id: int, worker_id: str,
             variables: Mapping[str, Any] | None = None, time_limit: float = 2.0) -> ExternalTask:
    """Complete a task the worker holds with its variables; the process moves on. Commit once."""
    def body(action, row):
        try:
            complete_external(action.live, row.task_id, dict(variables or {}), now=now)
        except TaskNotReady:
            raise Conflict(f"External task {row.id} is no longer waiting; nothing to do") from None
        _release(row, "completed")
        events.record(session, action.case, "external_task_completed", actor=actor.username,
                      at=now, element_id=row.element_id, details={
                          "external_task_id": row.id, "worker_id": worker_id,
                          "variables": dict(variables or {})})
    return _act(session, actor=actor, now=now, external_task_id=external_task_id,
                worker_id=worker_id, body=body, time_limit=time_limit)


def report_failure(session: Session, *, actor: User, now: datetime, external_task_id: int,
                   worker_id: str, error_message: str, error_details: str | None = None,
                   retries: int = 0, retry_timeout: timedelta = timedelta(0)) -> ExternalTask:
    """Record a worker's failure: fetchable again after `retry_timeout` while `retries` is above
    0, at 0 an incident on the case that a supervisor retries. Commit once."""
    if retries < 0 or retry_timeout < timedelta(0):
        name = "retries" if retries < 0 else "retry_timeout_ms"
        raise InvalidInput({name: "Must not be negative"})
    message = (error_message or "").strip() or "The worker reported a failure without a message"

    def body(action, row):
        _release(row, "open" if retries > 0 else "incident")
        row.retries, row.attempts = retries, row.attempts + 1
        row.error_message, row.error_details = message, error_details
        row.retry_at = now + retry_timeout if retries > 0 else None
        events.record(session, action.case, "external_task_failed", actor=actor.username, at=now,
                      element_id=row.element_id, details={
                          "external_task_id": row.id, "worker_id": worker_id,
                          "error_message": message, "retries": retries})
        if retries == 0:
            _open_incident(session, action.case, row, message, now)
    return _act(session, actor=actor, now=now, external_task_id=external_task_id,
                worker_id=worker_id, body=body, load=False)


def _open_incident(session: Session, case: Case, row: ExternalTask, error: str,
                   now: datetime) -> None:
    row.state = "incident"
    incident = add_failure(session, case, element_id=row.element_id, source=EXTERNAL_SOURCE,
                           error=f"{row.name} ({row.topic}): {error}", now=now)
    row.incident_id = incident.id


def throw_error(session: Session, *, actor: User, now: datetime, external_task_id: int,
                worker_id: str, error_code: str, error_message: str | None = None,
                variables: Mapping[str, Any] | None = None,
                time_limit: float = 2.0) -> ExternalTask:
    """Throw a BPMN error from a task the worker holds: the error boundary event on the task takes
    the process down its path; with none catching the code, an incident. Commit once."""
    if not (error_code or "").strip():
        raise InvalidInput({"error_code": "Give the BPMN error code"})

    def body(action, row):
        details = {"external_task_id": row.id, "worker_id": worker_id, "error_code": error_code,
                   "error_message": error_message}
        try:
            caught = throw_bpmn_error(action.live, row.task_id, error_code, error_message,
                                      dict(variables or {}), now=now)
        except ErrorNotCaught as err:
            _release(row, "incident")
            row.error_message = str(err)
            events.record(session, action.case, "external_task_error_not_caught",
                          actor=actor.username, at=now, element_id=row.element_id, details=details)
            _open_incident(session, action.case, row, str(err), now)
            return
        _release(row, "errored")
        row.error_message = f"{error_code}: {error_message}" if error_message else error_code
        events.record(session, action.case, "external_task_bpmn_error", actor=actor.username,
                      at=now, element_id=row.element_id, details={**details, "caught_by": caught})
    return _act(session, actor=actor, now=now, external_task_id=external_task_id,
                worker_id=worker_id, body=body, time_limit=time_limit)


def extend_lock(session: Session, *, actor: User, now: datetime, external_task_id: int,
                worker_id: str, new_duration: timedelta) -> ExternalTask:
    """Move the lock the worker holds to `now + new_duration`. Commit once."""
    if not timedelta(0) < new_duration <= MAX_LOCK:
        raise InvalidInput({"new_duration_ms": "More than 0 and at most 7 days"})

    def body(action, row):
        row.lock_expires_at = now + new_duration
        events.record(session, action.case, "external_task_lock_extended", actor=actor.username,
                      at=now, element_id=row.element_id, details={
                          "external_task_id": row.id, "worker_id": worker_id,
                          "lock_expires_at": row.lock_expires_at.isoformat()})
    return _act(session, actor=actor, now=now, external_task_id=external_task_id,
                worker_id=worker_id, body=body, load=False)


def reopen_after_incident(session: Session, incident_id: int, *, now: datetime) -> None:
    """Make the tasks of a retried incident fetchable again with one retry (session.add only)."""
    for row in session.exec(select(ExternalTask).where(ExternalTask.incident_id == incident_id,
                                                       ExternalTask.state == "incident")).all():
        _release(row, "open")
        row.retries, row.retry_at, row.incident_id, row.updated_at = 1, None, None, now
        session.add(row)


def search(session: Session, *, topic: str | None = None, state: str | None = "open",
           case_id: int | None = None, limit: int = 50, offset: int = 0
           ) -> tuple[list[ExternalTask], int]:
    """Return external tasks matching the filters (oldest first) and how many match in all."""
    wanted = (ExternalTask.topic == topic if topic else None,
              ExternalTask.state == state if state else None,
              ExternalTask.case_id == case_id if case_id else None)
    conditions = [c for c in wanted if c is not None]
    query = select(ExternalTask).where(*conditions)
    total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(ExternalTask.created_at, ExternalTask.id)
                        .limit(limit).offset(offset)).all()
    return list(rows), total


def for_case(session: Session, case_id: int) -> list[ExternalTask]:
    """Return a case's external tasks still waiting or in an incident, oldest first."""
    return list(session.exec(select(ExternalTask).where(
        ExternalTask.case_id == case_id, ExternalTask.state.in_(("open", "incident")))
        .order_by(ExternalTask.created_at, ExternalTask.id)).all())
