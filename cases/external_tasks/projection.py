"""Keep the `external_task` table in step with the workflow, inside the case's transaction."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from engine.runtime import Instance

from .. import events
from ..case_models import Case
from .models import ExternalTask

LIVE_STATES = ("open", "incident")


def project(session: Session, case: Case, live: Instance, *, now: datetime) -> list[ExternalTask]:
    """Add a row per newly waiting external task and cancel rows whose task is gone (a deviation,
    an interrupting event, a cancelled case); return the rows added now.

    Rows completed or errored by the current action are marked by the caller before this runs.
    """
    with session.no_autoflush:  # the action's own changes are read from memory (work_items.project)
        rows = {r.task_id: r for r in session.exec(select(ExternalTask).where(
            ExternalTask.case_id == case.id, ExternalTask.state.in_(LIVE_STATES))).all()
            if r.state in LIVE_STATES}
    waiting = {t.id: t for t in live.external_tasks()}
    for task_id in rows.keys() - waiting.keys():
        row = rows[task_id]
        row.state, row.updated_at = "cancelled", now
        row.worker_id = row.lock_expires_at = None
        session.add(row)
        events.record(session, case, "external_task_cancelled", actor="engine", at=now,
                      element_id=row.element_id, details={"external_task_id": row.id})
    added = []
    for task_id in [t for t in waiting if t not in rows]:
        task = waiting[task_id]
        row = ExternalTask(case_id=case.id, definition_id=case.definition_id,
                           process_id=task.process_id, task_id=task.id, element_id=task.element_id,
                           name=task.name[:255], topic=task.topic[:255], created_at=now,
                           updated_at=now)
        session.add(row)
        added.append(row)
    if added:
        session.flush()
    for row in added:
        events.record(session, case, "external_task_created", actor="engine", at=now,
                      element_id=row.element_id,
                      details={"external_task_id": row.id, "topic": row.topic})
    return added
